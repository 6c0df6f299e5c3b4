package verify

import (
	"context"
	"strings"
)

// Composite sends JWTs (three dot-separated segments) to JWT and every
// other credential to Opaque, so one gateway or service accepts both
// latchkey's API keys and the JWTs exchanged for them. A nil member
// refuses its kind of credential as invalid.
type Composite struct {
	JWT    Verifier
	Opaque Verifier
}

var _ RequestVerifier = Composite{}

// IsJWT reports whether token has the shape of a compact JWS: three
// non-empty segments. latchkey's opaque keys never contain a dot.
func IsJWT(token string) bool {
	a, rest, ok := strings.Cut(token, ".")
	if !ok || a == "" {
		return false
	}
	b, c, ok := strings.Cut(rest, ".")
	return ok && b != "" && c != "" && !strings.Contains(c, ".")
}

// Check implements [Verifier].
func (c Composite) Check(ctx context.Context, token string, scopes []string) (*Identity, error) {
	return c.CheckRequest(ctx, Request{Token: token, Scopes: scopes})
}

// CheckRequest implements [RequestVerifier]. JWTs are checked offline,
// with the request's DPoP proof for DPoP-bound ones (they are not signed
// requests).
func (c Composite) CheckRequest(ctx context.Context, r Request) (*Identity, error) {
	if IsJWT(r.Token) {
		if c.JWT == nil {
			return nil, invalid("JWTs are not accepted here")
		}
		if rv, ok := c.JWT.(RequestVerifier); ok {
			return rv.CheckRequest(ctx, r) // DPoP-bound JWTs need the proof
		}
		return c.JWT.Check(ctx, r.Token, r.Scopes)
	}
	if c.Opaque == nil {
		return nil, invalid("API keys are not accepted here")
	}
	if rv, ok := c.Opaque.(RequestVerifier); ok {
		return rv.CheckRequest(ctx, r)
	}
	return c.Opaque.Check(ctx, r.Token, r.Scopes)
}
