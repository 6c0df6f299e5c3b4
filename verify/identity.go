package verify

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/ratelimit"
)

// Identity is what a successful check learned about the caller.
type Identity struct {
	// KeyID is the id of the API key behind the credential (for a JWT its
	// key_id claim).
	KeyID string
	// Subject is the principal: the JWT's sub, or for an opaque key its
	// owner as "type:id" (empty for a key without owner).
	Subject string
	// Owner is the owner of an opaque key; nil for JWTs and keys without
	// owner.
	Owner *api.Owner
	// Scopes are the credential's granted scopes.
	Scopes []string
	// Keyspace is the opaque key's keyspace; empty for JWTs.
	Keyspace string
	// RateLimits is the state of the key's rate limits after this check,
	// when the server reported any (opaque keys only).
	RateLimits []ratelimit.Status
	// Claims are the verified claims of a JWT; nil for opaque keys.
	Claims *Claims
}

// Verifier checks a bearer credential and the scopes a request needs.
// Both [*Opaque] and [*JWT] implement it.
type Verifier interface {
	// Check verifies token and that it grants every scope in scopes. Its
	// errors wrap ErrInvalidToken, ErrInsufficientScope, ErrRateLimited
	// or ErrUnavailable; a rate-limited or insufficient-scope error is an
	// *Error.
	Check(ctx context.Context, token string, scopes []string) (*Identity, error)
}

type ctxKey struct{}

// NewContext returns a copy of ctx carrying id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the Identity that [Middleware] stored in ctx, or nil.
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(ctxKey{}).(*Identity)
	return id
}

// Kinds of failure, for errors.Is.
var (
	// ErrInvalidToken: the credential is missing, malformed, unknown,
	// expired, revoked or otherwise not acceptable.
	ErrInvalidToken = errors.New("verify: invalid token")
	// ErrInsufficientScope: the credential is valid but lacks a scope.
	ErrInsufficientScope = errors.New("verify: insufficient scope")
	// ErrRateLimited: the credential is valid but over a rate limit.
	ErrRateLimited = errors.New("verify: rate limited")
	// ErrUnavailable: the credential could not be checked (server or
	// JWKS unreachable, server error); the check fails closed.
	ErrUnavailable = errors.New("verify: verification unavailable")
)

// Error describes a failed check. It never contains the credential.
type Error struct {
	// Kind is one of ErrInvalidToken, ErrInsufficientScope,
	// ErrRateLimited and ErrUnavailable.
	Kind error
	// Code is the server's verification code (for example "REVOKED",
	// "RATE_LIMITED") for opaque keys, or a short reason for JWTs.
	Code string
	// Keyspace is the opaque key's keyspace when the server named it (a
	// key it found, valid or not).
	Keyspace string
	// RateLimits is the rate-limit state the server reported, if any.
	RateLimits []ratelimit.Status
	// RetryAfter is when a rate-limited request may be retried.
	RetryAfter time.Duration
	// DPoPNonce is a fresh server nonce when Code is USE_DPOP_NONCE: the
	// client's next DPoP proof must carry it (DPoP-Nonce header).
	DPoPNonce string
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the kind and the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func invalid(code string) error { return &Error{Kind: ErrInvalidToken, Code: code} }

// grants reports whether the granted scope g satisfies the required scope
// r: g == r, or g is a wildcard "x:*" and r starts with "x:" followed by at
// least one more byte (the rule of latchkey's scope package).
func grants(g, r string) bool {
	if g == r {
		return true
	}
	n := len(g) - 1
	if n < 1 || g[n] != '*' || g[n-1] != ':' {
		return false
	}
	return len(r) > n && r[:n] == g[:n]
}

// missingScope returns the first scope of required that granted lacks.
func missingScope(granted, required []string) (string, bool) {
outer:
	for _, r := range required {
		for _, g := range granted {
			if grants(g, r) {
				continue outer
			}
		}
		return r, true
	}
	return "", false
}

// statuses converts the rate-limit states of a verify answer.
func statuses(rs []api.RateLimitState) []ratelimit.Status {
	if len(rs) == 0 {
		return nil
	}
	out := make([]ratelimit.Status, len(rs))
	for i, r := range rs {
		w, _ := time.ParseDuration(r.Window)
		out[i] = ratelimit.Status{
			Name: r.Name, Limit: r.Limit, Remaining: r.Remaining,
			Window: w, Reset: time.UnixMilli(r.Reset),
		}
	}
	return out
}

// retryAfter estimates when one more unit fits the exhausted budget of ss:
// a GCRA budget with Reset = TAT admits one unit at TAT + Window/Limit -
// Window. It is the longest such wait over the exhausted budgets.
func retryAfter(ss []ratelimit.Status, now time.Time) time.Duration {
	var d time.Duration
	for _, s := range ss {
		if s.Remaining > 0 {
			continue
		}
		wait := s.Reset.Sub(now)
		if s.Window > 0 && s.Limit > 0 {
			wait = s.Reset.Add(s.Window/time.Duration(s.Limit) - s.Window).Sub(now)
		}
		d = max(d, wait)
	}
	return d
}
