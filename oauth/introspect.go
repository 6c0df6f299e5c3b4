package oauth

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// Introspection is an RFC 7662 answer. An inactive token is
// {"active":false} and nothing else.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	Expiry    int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	ID        string   `json:"jti,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	KeyID     string   `json:"key_id,omitempty"`
	// Confirmation is cnf (RFC 7800): the DPoP key a bound token needs
	// (RFC 9449 §6.2).
	Confirmation *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is a cnf claim with a JWK thumbprint.
type Confirmation struct {
	JKT string `json:"jkt"`
}

func confirmation(jkt string) *Confirmation {
	if jkt == "" {
		return nil
	}
	return &Confirmation{JKT: jkt}
}

var inactive = &Introspection{}

// HandleIntrospect answers POST /oauth2/introspect (RFC 7662): the caller
// authenticates as a client (a resource server registered as an app with
// its audiences); it learns about a token only if the token is live and
// meant for one of its audiences — anything else, unknown, malformed,
// expired, revoked or someone else's, is {"active":false} (IR-02, IR-03).
// Tokens: latchkey JWTs (client_credentials, exchanged) and API keys, whose
// audience is their keyspace.
func (s *Service) HandleIntrospect(w http.ResponseWriter, r *http.Request) error {
	form, err := readForm(w, r)
	if err != nil {
		return err
	}
	c, _, err := s.authenticate(r, form)
	if err != nil {
		return err
	}
	if c.Settings.TokenEndpointAuthMethod == AuthNone {
		return errConfidentialOnly // IR-01: a client_id alone proves nothing
	}
	tok := form.Get("token")
	if tok == "" {
		return &Error{Code: "invalid_request", Description: "token is required"}
	}
	out, err := s.introspect(r.Context(), c, tok)
	if err != nil {
		return err
	}
	if !out.Active {
		if err := s.chargeMiss(w, r, c); err != nil {
			return err
		}
	}
	return writeJSON(w, out.appendJSON(make([]byte, 0, 512)), false)
}

func (s *Service) introspect(ctx context.Context, caller *Client, tok string) (*Introspection, error) {
	if len(tok) > signer.DefaultMaxTokenLen || len(caller.Settings.Audiences) == 0 {
		return inactive, nil
	}
	if strings.Count(tok, ".") == 2 {
		return s.introspectJWT(ctx, caller, tok)
	}
	res, err := s.tokens.Verify(ctx, token.VerifyRequest{Key: tok, DryRun: true, Probe: true})
	if err != nil {
		return nil, err // storage trouble: 503, never "inactive" for a live key
	}
	k := res.Key
	if !liveKey(res) {
		return inactive, nil
	}
	aud, clientID := opaqueAudience(k)
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(caller.Settings.Audiences, a) }) {
		return inactive, nil
	}
	out := &Introspection{Active: true, Scope: strings.Join(res.Scopes, " "), Audience: aud, ClientID: clientID,
		Issuer: s.issuer, IssuedAt: k.CreatedAt.Unix(), TokenType: tokenType(k.DPoPJKT), KeyID: k.ID, Subject: k.ID,
		Confirmation: confirmation(k.DPoPJKT)}
	if k.Owner != nil {
		out.Subject = string(k.Owner.Type) + ":" + k.Owner.ID
	}
	if !k.ExpiresAt.IsZero() {
		out.Expiry = k.ExpiresAt.Unix()
	}
	return out, nil
}

// introspectJWT verifies a latchkey JWT for one of the caller's audiences
// and checks that what it was issued for — its key, or the app itself —
// is still live, narrowing its scope to what that holds now.
func (s *Service) introspectJWT(ctx context.Context, caller *Client, tok string) (*Introspection, error) {
	var claims *signer.AccessClaims
	for _, aud := range caller.Settings.Audiences {
		v := signer.Verifier{Keys: s.signer.Ring(), Issuer: s.issuer, Audience: aud, Now: s.tokens.Now}
		if c, err := v.Verify(tok); err == nil {
			claims = c
			break
		}
	}
	if claims == nil {
		return inactive, nil
	}
	current, live, err := s.tokens.JWTScopes(ctx, claims.KeyID, claims.Subject, claims.ClientID, claims.Scope)
	if err != nil {
		return nil, err
	}
	if !live {
		return inactive, nil
	}
	return &Introspection{Active: true, Scope: strings.Join(current, " "),
		ClientID: claims.ClientID, Subject: claims.Subject, Audience: claims.Audience, Issuer: claims.Issuer,
		Expiry: claims.Expiry.Unix(), IssuedAt: claims.IssuedAt.Unix(), ID: claims.ID, TokenType: tokenType(claims.ConfirmationJKT),
		KeyID: claims.KeyID, Confirmation: confirmation(claims.ConfirmationJKT)}, nil
}

// errConfidentialOnly refuses a public client at introspection and
// revocation: without a secret, anyone can name its client_id.
var errConfidentialOnly = &Error{Code: "invalid_client", Description: "only confidential clients may introspect or revoke tokens"}

// liveKey reports whether a verification without proof found a live key:
// valid, or bound to a DPoP key and refused only for want of its proof
// (which the resource server asks of its caller: introspection names the
// key in cnf).
func liveKey(res *token.VerifyResult) bool {
	if res.Key == nil {
		return false
	}
	return res.Valid || (res.Key.DPoPJKT != "" && (res.Code == token.CodeInvalidDPoPProof || res.Code == token.CodeUseDPoPNonce))
}
