package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/dpop"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// idToken signs the OpenID Connect ID token of grant g (OIDC Core §2,
// §3.1.3.6): sub is the user ID (or the client's pairwise sub for it), aud
// and azp the client, with the sign-in's auth_time, amr and session (sid),
// the request's nonce, at_hash of the access token, and the profile, email
// and groups claims the scopes ask for.
func (s *Service) idToken(ctx context.Context, g *Grant, scopes []string, nonce, accessToken string, now time.Time) (string, error) {
	user, err := s.tokens.LivePrincipal(ctx, token.User, g.UserID)
	if errors.Is(err, token.ErrNotFound) || (err == nil && user.Disabled) {
		return "", errGrant
	}
	if err != nil {
		return "", unavailable(err, "get user")
	}
	sub, err := s.subjectFor(ctx, g.ClientID, g.UserID)
	if err != nil {
		return "", unavailable(err, "get client")
	}
	ring := s.signer.Ring()
	c := signer.IDClaims{Issuer: s.issuer, Subject: sub, Audience: g.ClientID, AuthorizedParty: g.ClientID,
		Expiry: now.Add(s.ttl).Truncate(time.Second), AuthTime: g.AuthTime, Nonce: nonce, AMR: g.AMR,
		SessionID: g.SessionID, ACR: acrOf(g.AMR), AccessTokenHash: signer.HalfHash(signer.SigningAlg(ring, now), accessToken),
		Extra: userClaims(user, scopes)}
	tok, err := signer.IssueIDToken(ring, c, now)
	if err != nil {
		return "", &Error{Code: "temporarily_unavailable", Description: "no signing key is available"}
	}
	return tok, nil
}

// ACR values: a sign-in with one factor, or with two (amr "mfa").
const (
	ACRPassword = "urn:latchkey:acr:1fa"
	ACRMFA      = "urn:latchkey:acr:mfa"
)

func acrOf(amr []string) string {
	if slices.Contains(amr, "mfa") {
		return ACRMFA
	}
	return ACRPassword
}

// userClaims are the claims of user that scopes ask for (OIDC Core §5.4):
// profile → name, preferred_username; email → email, email_verified;
// groups → groups (the user's group names, [] for none).
func userClaims(user *token.Principal, scopes []string) map[string]any {
	m := map[string]any{}
	if slices.Contains(scopes, "profile") {
		if user.Name != "" {
			m["name"] = user.Name
		}
		if user.PreferredUsername != "" {
			m["preferred_username"] = user.PreferredUsername
		}
	}
	if slices.Contains(scopes, "email") {
		if user.Email != "" {
			m["email"] = user.Email
			m["email_verified"] = user.EmailVerified
		}
	}
	if slices.Contains(scopes, "groups") {
		m["groups"] = append([]string{}, user.Groups...)
	}
	return m
}

// HandleUserinfo answers GET and POST /oauth2/userinfo (OIDC Core §5.3):
// the bearer (or DPoP) access token of a grant with openid, still live,
// gets the user's claims its scopes allow; anything else is 401
// invalid_token with WWW-Authenticate (RFC 6750 §3).
func (s *Service) HandleUserinfo(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	fail := func(code, desc string) error {
		h.Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+desc+`"`)
		status := http.StatusUnauthorized
		switch code {
		case "insufficient_scope":
			status = http.StatusForbidden
		case "invalid_request":
			status = http.StatusBadRequest
		}
		writeErrorStatus(w, status, code, desc)
		return nil
	}
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || tok == "" || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP")) {
		return fail("invalid_token", "send the access token in the Authorization header")
	}
	if r.URL.Query().Has("access_token") {
		return fail("invalid_request", "access tokens do not belong in the URL")
	}
	var sub, clientID string
	var scopes []string
	if strings.Count(tok, ".") == 2 {
		claims := s.ownJWT(tok)
		if claims == nil {
			return fail("invalid_token", "the access token is not valid")
		}
		if _, live, err := s.tokens.JWTScopes(r.Context(), claims.KeyID, claims.Subject, claims.ClientID, claims.Scope); err != nil {
			return err
		} else if !live {
			return fail("invalid_token", "the access token is not valid")
		}
		if claims.ConfirmationJKT != "" && !strings.EqualFold(scheme, "DPoP") {
			return fail("invalid_token", "a DPoP-bound token needs Authorization: DPoP and a proof")
		}
		if claims.ConfirmationJKT != "" {
			if err := s.userinfoDPoP(r, tok, claims.ConfirmationJKT); err != nil {
				return fail("invalid_dpop_proof", "the DPoP proof is not valid")
			}
		}
		sub, scopes, clientID = claims.Subject, claims.Scope, claims.ClientID
	} else {
		res, err := s.tokens.Verify(r.Context(), token.VerifyRequest{Key: tok, Keyspace: AccessKeyspace, DryRun: true, Probe: true})
		if err != nil {
			return err
		}
		if !liveKey(res) || res.Key.Owner == nil {
			return fail("invalid_token", "the access token is not valid")
		}
		if jkt := res.Key.DPoPJKT; jkt != "" {
			if !strings.EqualFold(scheme, "DPoP") || s.userinfoDPoP(r, tok, jkt) != nil {
				return fail("invalid_dpop_proof", "a DPoP-bound token needs Authorization: DPoP and a valid proof")
			}
		}
		sub, scopes, clientID = string(res.Key.Owner.Type)+":"+res.Key.Owner.ID, res.Key.Scopes, OpaqueClientID(res.Key)
	}
	typ, id, _ := strings.Cut(sub, ":")
	if typ != string(token.User) || !slices.Contains(scopes, "openid") {
		return fail("insufficient_scope", "the access token was not issued with the openid scope")
	}
	user, err := s.tokens.LivePrincipal(r.Context(), token.User, id)
	if errors.Is(err, token.ErrNotFound) || (err == nil && user.Disabled) {
		return fail("invalid_token", "the access token is not valid")
	}
	if err != nil {
		return unavailable(err, "get user")
	}
	out := userClaims(user, scopes)
	// The sub the client's ID tokens gave (OIDC Core §5.3.2: they must
	// agree).
	out["sub"], err = s.subjectFor(r.Context(), clientID, id)
	if errors.Is(err, token.ErrNotFound) {
		return fail("invalid_token", "the access token is not valid")
	}
	if err != nil {
		return unavailable(err, "get client")
	}
	return writeAny(w, out)
}

// userinfoDPoP checks the DPoP proof of a userinfo request for the token
// bound to jkt.
func (s *Service) userinfoDPoP(r *http.Request, tok, jkt string) error {
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return errors.New("one DPoP proof is needed")
	}
	_, err := s.tokens.CheckDPoP(r.Context(), dpop.Request{Proof: proofs[0], Method: r.Method, URL: s.issuer + "/oauth2/userinfo",
		AccessToken: tok, JKT: jkt})
	return err
}

func writeErrorStatus(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc}) //nolint:errcheck // the client went away
}

func writeAny(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeJSON(w, append(b, '\n'), false)
}
