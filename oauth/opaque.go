package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
	"github.com/maypok86/otter/v2"
)

// Opaque access tokens are latchkey keys of their own keyspace, owned by
// the app they were issued to: digest-stored, checksummed and scannable
// (prefix lka), verified, narrowed, revoked and expired by the same
// machinery as API keys, on every node.
const (
	// AccessKeyspace holds opaque OAuth access tokens (created on first
	// use).
	AccessKeyspace = "oauth"
	// AccessPrefix starts every opaque access token.
	AccessPrefix = "lka"
)

// opaqueMeta is what an opaque token's key records beside its scopes: the
// client it was issued to, its audiences and, for a user's token, its
// grant.
type opaqueMeta struct {
	ClientID string   `json:"client_id"`
	Audience []string `json:"aud"`
	GrantID  string   `json:"grant_id,omitempty"`
}

// issuerActor acts for the token endpoint when it creates opaque tokens.
var issuerActor = token.OAuthIssuer("token endpoint")

// ensureKeyspace creates the keyspaces of opaque tokens and grants the
// first time.
func (s *Service) ensureKeyspace(ctx context.Context) error {
	s.ksOnce.Lock()
	defer s.ksOnce.Unlock()
	if s.ksReady {
		return nil
	}
	permanent := false
	for _, ks := range []struct {
		name, prefix string
		ttl          time.Duration
	}{{AccessKeyspace, AccessPrefix, signer.MaxTokenTTL}, {GrantKeyspace, GrantPrefix, MaxRefreshTTL}} {
		prefix, maxTTL := ks.prefix, ks.ttl
		p := token.KeyspaceParams{Name: ks.name, Prefix: &prefix, AllowPermanent: &permanent, DefaultTTL: &maxTTL, MaxTTL: &maxTTL}
		_, err := s.tokens.CreateKeyspace(ctx, issuerActor, p)
		if err != nil && token.KindOf(err) != token.Conflict {
			return err
		}
	}
	s.ksReady = true
	return nil
}

// issueOpaque creates an opaque access token acting for owner.
func (s *Service) issueOpaque(ctx context.Context, owner token.Owner, meta opaqueMeta, scopes []string, exp time.Time, jkt string) (string, error) {
	if err := s.ensureKeyspace(ctx); err != nil {
		return "", err
	}
	md, _ := json.Marshal(meta)
	ck, err := s.tokens.CreateKey(ctx, issuerActor, token.CreateKeyParams{Keyspace: AccessKeyspace, Name: "OAuth access token",
		Owner: &owner, Scopes: scopes, ExpiresAt: exp, Metadata: md, DPoPJKT: jkt})
	if err != nil {
		return "", err
	}
	return ck.Secret.Reveal(), nil
}

// OpaqueAudience returns the audiences of opaque OAuth access token k (nil
// for any other key): a resource server accepts it only when it is among
// them, as it would an at+jwt. The slice is shared: do not modify it.
func OpaqueAudience(k *token.Key) []string {
	if k.Keyspace != AccessKeyspace {
		return nil
	}
	aud, _ := opaqueAudience(k)
	return aud
}

// OpaqueClientID returns the client opaque OAuth access token k was
// issued to ("" for any other key).
func OpaqueClientID(k *token.Key) string {
	if k.Keyspace != AccessKeyspace {
		return ""
	}
	_, c := opaqueAudience(k)
	return c
}

// opaqueAudience returns the audiences of a key as introspection sees
// them: an opaque OAuth token's own, an API key's keyspace.
func opaqueAudience(k *token.Key) ([]string, string) {
	if k.Keyspace != AccessKeyspace {
		return []string{k.Keyspace}, ""
	}
	if m, ok := opaqueMetas.GetIfPresent(string(k.Metadata)); ok {
		return m.Audience, m.ClientID
	}
	m := new(opaqueMeta)
	if json.Unmarshal(k.Metadata, m) != nil {
		return nil, ""
	}
	opaqueMetas.Set(string(k.Metadata), m)
	return m.Audience, m.ClientID
}

// opaqueMetas holds decoded opaque-token metadata by its exact bytes, so
// that introspecting the same token again does not decode it again (it
// was the largest part of introspection's own work). Keyed by content, an
// entry never goes stale; its slices are shared and only read.
var opaqueMetas = otter.Must(&otter.Options[string, *opaqueMeta]{MaximumSize: 10_000})

// HandleRevoke answers POST /oauth2/revoke (RFC 7009). A client revokes an
// opaque access token issued to it; a token that is unknown, malformed or
// already dead is 200 too (IR-05); another client's token is refused and
// stays active (IR-07); a JWT access token cannot be revoked one by one
// (400 unsupported_token_type — disable the app, or let it expire).
func (s *Service) HandleRevoke(w http.ResponseWriter, r *http.Request) error {
	form, err := readForm(w, r)
	if err != nil {
		return err
	}
	c, _, err := s.authenticate(r, form)
	if err != nil {
		return err
	}
	tok := form.Get("token")
	if tok == "" {
		return &Error{Code: "invalid_request", Description: "token is required"}
	}
	if c.Settings.TokenEndpointAuthMethod == AuthNone && !strings.HasPrefix(tok, RefreshPrefix+"_") {
		// A public client proves nothing but holding the token: it may end
		// its own refresh token (a sign-out), nothing else.
		return errConfidentialOnly
	}
	err = s.revoke(r.Context(), c, tok)
	if errors.Is(err, errMiss) {
		// Nothing of the kind exists: 200 all the same (IR-05), but it
		// counts against the client's budget of misses (IR-10).
		if err = s.chargeMiss(w, r, c); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// errMiss is revoke's answer for a token that names nothing: unknown,
// malformed, or none of this server's.
var errMiss = errors.New("no such token")

// chargeMiss counts a lookup that found nothing against client c's budget
// of misses; once it is spent the answer is 429 slow_down (IR-10: a client
// cannot scan the token space through introspection or revocation).
func (s *Service) chargeMiss(w http.ResponseWriter, r *http.Request, c *Client) error {
	if s.miss == nil {
		return nil
	}
	if throttled, retry := s.miss(r.Context(), c.AppID); throttled {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(retry, time.Second)/time.Second)))
		return &Error{Code: "slow_down", Description: "too many lookups of tokens that do not exist from this client; retry later", throttled: true}
	}
	return nil
}

func (s *Service) revoke(ctx context.Context, caller *Client, tok string) error {
	if strings.HasPrefix(tok, RefreshPrefix+"_") && s.grants != nil {
		return s.revokeRefresh(ctx, caller, tok)
	}
	if strings.Count(tok, ".") == 2 {
		if claims := s.ownJWT(tok); claims != nil && claims.ClientID == caller.AppID {
			return &Error{Code: "unsupported_token_type", Description: "JWT access tokens cannot be revoked one by one; they expire within the hour (disable the app to end them all now)"}
		}
		return errMiss
	}
	res, err := s.tokens.Verify(ctx, token.VerifyRequest{Key: tok, DryRun: true, Probe: true})
	if err != nil {
		return err // IR-08: storage trouble is 503, never a 200 that revoked nothing
	}
	k := res.Key
	if k == nil || k.Keyspace != AccessKeyspace {
		return errMiss
	}
	if _, clientID := opaqueAudience(k); clientID != caller.AppID {
		return &Error{Code: "unauthorized_client", Description: "the token was issued to another client"}
	}
	if !liveKey(res) {
		return nil
	}
	_, err = s.tokens.RevokeKey(ctx, &token.Actor{KeyID: "oauth:" + caller.AppID, Name: caller.AppID, Scopes: token.SystemActor.Scopes}, k.ID, "revoked by its client (RFC 7009)")
	if err != nil && token.KindOf(err) != token.Conflict {
		return err
	}
	return nil
}

// ownJWT returns the claims of tok if it is a valid latchkey JWT (for
// whatever audience it names), else nil.
func (s *Service) ownJWT(tok string) *signer.AccessClaims {
	auds := signer.PeekAudiences(tok)
	if len(auds) == 0 {
		return nil
	}
	v := signer.Verifier{Keys: s.signer.Ring(), Issuer: s.issuer, Audience: auds[0], Now: s.tokens.Now}
	c, err := v.Verify(tok)
	if err != nil {
		return nil
	}
	return c
}

// revokeRefresh revokes the grant of refresh token tok (IR-09: every
// access token of the grant dies with it), if caller is its client.
func (s *Service) revokeRefresh(ctx context.Context, caller *Client, tok string) error {
	if apitoken.Check(tok) != apitoken.Valid {
		return errMiss
	}
	d := apitoken.Hash(tok)
	rt, err := s.grants.RefreshToken(ctx, d[:])
	if errors.Is(err, token.ErrNotFound) {
		return errMiss
	}
	if err != nil {
		return unavailable(err, "get refresh token") // IR-08
	}
	if rt.ClientID != caller.AppID {
		return &Error{Code: "unauthorized_client", Description: "the token was issued to another client"}
	}
	return s.endGrant(ctx, &token.Actor{KeyID: "oauth:" + caller.AppID, Name: caller.AppID, Scopes: token.SystemActor.Scopes},
		rt.GrantID, "refresh token revoked by its client (RFC 7009)")
}
