package oauth

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// Grants are keys of their own keyspace (see grantstore.go).
const (
	// GrantKeyspace holds one key per grant (created on first use).
	GrantKeyspace = "oauth-grants"
	// GrantPrefix is the prefix of grant keys; their secrets are never
	// shown, so no token with it is ever in anyone's hands.
	GrantPrefix = "lkg"
)

// grantMeta is what a grant key records beside its scopes.
type grantMeta struct {
	ClientID string `json:"client_id"`
}

var errGrant = &Error{Code: "invalid_grant", Description: "the authorization code is invalid, expired or was already used"}

// redeemCode is the authorization_code grant (RFC 6749 §4.1.3 with PKCE):
// the code is single-use — a second redemption, however concurrent, fails
// and revokes what the first one issued (AS-06) — and bound to its
// client, redirect URI, PKCE challenge and DPoP key (AS-04, AS-05, AS-07,
// DP-08).
func (s *Service) redeemCode(ctx context.Context, c *Client, p *token.Principal, form url.Values, jkt string) (*TokenResponse, error) {
	if s.grants == nil {
		return nil, &Error{Code: "unsupported_grant_type", Description: "this server does not offer the authorization_code grant"}
	}
	raw := form.Get("code")
	if raw == "" {
		return nil, &Error{Code: "invalid_request", Description: "code is required"}
	}
	if apitoken.Check(raw) != apitoken.Valid || !strings.HasPrefix(raw, CodePrefix+"_") {
		return nil, errGrant
	}
	d := apitoken.Hash(raw)
	now := s.tokens.Now()
	code, err := s.grants.RedeemCode(ctx, d[:], now)
	switch {
	case errors.Is(err, ErrCodeUsed):
		// Replayed: whoever holds the code now may have stolen it; what
		// the first redemption issued dies with it (RFC 6749 §4.1.2).
		if code != nil && code.GrantID != "" {
			s.revokeGrant(ctx, code.GrantID, "authorization code used twice")
		}
		return nil, errGrant
	case errors.Is(err, token.ErrNotFound):
		return nil, errGrant
	case err != nil:
		return nil, unavailable(err, "redeem code")
	}
	if !now.Before(code.ExpiresAt) || code.ClientID != c.AppID {
		return nil, errGrant
	}
	// RFC 6749 §4.1.3: identical to the authorization request's when it
	// had one; otherwise a client may still name its only registered URI
	// (the one the code went to).
	ru := form.Get("redirect_uri")
	if ru != code.RedirectURI && (code.RedirectURI != "" || len(c.Settings.RedirectURIs) != 1 || ru != c.Settings.RedirectURIs[0]) {
		return nil, &Error{Code: "invalid_grant", Description: "redirect_uri differs from the authorization request's"}
	}
	if !checkVerifier(code.Challenge, form.Get("code_verifier")) {
		return nil, &Error{Code: "invalid_grant", Description: "the PKCE code_verifier does not match the code_challenge"}
	}
	if code.DPoPJKT != "" && code.DPoPJKT != jkt {
		return nil, &Error{Code: "invalid_dpop_proof", Description: "the DPoP proof is not signed by the key named at authorization (dpop_jkt)"}
	}
	user, err := s.tokens.LivePrincipal(ctx, token.User, code.UserID)
	if errors.Is(err, token.ErrNotFound) || (err == nil && user.Disabled) {
		return nil, errGrant
	}
	if err != nil {
		return nil, unavailable(err, "get user")
	}
	g := &Grant{ClientID: c.AppID, UserID: code.UserID, Scopes: code.Scopes, Audiences: code.Audiences,
		SessionID: code.SessionID, AuthTime: code.AuthTime, AMR: code.AMR, CreatedAt: now}
	if c.Settings.TokenEndpointAuthMethod == AuthNone {
		g.DPoPJKT = jkt // RFC 9449 §5: a public client's refresh tokens are bound to its key
	}
	withRefresh := slices.Contains(c.Settings.GrantTypes, GrantRefreshToken)
	g.ExpiresAt = now.Add(s.absTTL).Truncate(time.Second)
	if !withRefresh {
		g.ExpiresAt = now.Add(s.ttl).Truncate(time.Second)
	}
	if err := s.createGrant(ctx, g, user, c); err != nil {
		return nil, err
	}
	if reused, err := s.grants.SetCodeGrant(ctx, d[:], g.ID); err != nil || reused {
		// Another redemption of the code came in meanwhile: it found no
		// grant to revoke, so this one ends its own.
		s.revokeGrant(ctx, g.ID, "authorization code used twice")
		if err != nil {
			return nil, unavailable(err, "record code grant")
		}
		return nil, errGrant
	}
	scopes := append(scope.Intersect(scope.Intersect(permissionsOf(g.Scopes), p.Permissions), user.Permissions), oidcOf(g.Scopes)...)
	res, rt, err := s.grantTokens(ctx, g, scopes, jkt, withRefresh, code.Nonce)
	if err != nil {
		return nil, err
	}
	if err := s.grants.CreateGrant(ctx, g, rt); err != nil {
		s.revokeGrant(ctx, g.ID, "grant could not be stored")
		return nil, unavailable(err, "create grant")
	}
	return res, nil
}

// createGrant creates the key of grant g (setting g.ID).
func (s *Service) createGrant(ctx context.Context, g *Grant, user *token.Principal, c *Client) error {
	if err := s.ensureKeyspace(ctx); err != nil {
		return err
	}
	md, _ := json.Marshal(grantMeta{ClientID: c.AppID})
	ck, err := s.tokens.CreateKey(ctx, issuerActor, token.CreateKeyParams{Keyspace: GrantKeyspace, Name: "OAuth grant",
		Owner: &token.Owner{Type: token.User, ID: user.ID}, Scopes: permissionsOf(g.Scopes), ExpiresAt: g.ExpiresAt, Metadata: md})
	if err != nil {
		return err
	}
	g.ID = ck.Key.ID
	return nil
}

// grantTokens issues an access token of grant g with scopes, and a new
// refresh token record (its plaintext in the answer) when refresh is set.
func (s *Service) grantTokens(ctx context.Context, g *Grant, scopes []string, jkt string, refresh bool, nonce string) (*TokenResponse, *RefreshToken, error) {
	now := s.tokens.Now()
	exp := now.Add(s.ttl).Truncate(time.Second)
	if exp.After(g.ExpiresAt) {
		exp = g.ExpiresAt
	}
	if !exp.After(now) {
		return nil, nil, errGrant
	}
	c, err := s.client(ctx, g.ClientID)
	if err != nil {
		return nil, nil, errGrant
	}
	res := &TokenResponse{TokenType: tokenType(jkt), ExpiresIn: int64(exp.Sub(now) / time.Second), Scope: strings.Join(scopes, " ")}
	if c.Settings.AccessTokenFormat == "opaque" {
		res.AccessToken, err = s.issueOpaque(ctx, token.Owner{Type: token.User, ID: g.UserID},
			opaqueMeta{ClientID: g.ClientID, Audience: g.Audiences, GrantID: g.ID}, scopes, exp, jkt)
		if err != nil {
			return nil, nil, err
		}
	} else {
		res.AccessToken, err = signer.Issue(s.signer.Ring(), signer.AccessClaims{
			Issuer: s.issuer, Subject: string(token.User) + ":" + g.UserID, Audience: g.Audiences, Expiry: exp,
			Scope: scopes, ClientID: g.ClientID, KeyID: g.ID, ConfirmationJKT: jkt,
		}, now)
		if err != nil {
			return nil, nil, &Error{Code: "temporarily_unavailable", Description: "no signing key is available"}
		}
	}
	if slices.Contains(scopes, "openid") {
		if res.IDToken, err = s.idToken(ctx, g, scopes, nonce, res.AccessToken, now); err != nil {
			return nil, nil, err
		}
	}
	if !refresh {
		return res, nil, nil
	}
	rt, err := apitoken.New(RefreshPrefix)
	if err != nil {
		return nil, nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	d := rt.Digest()
	idle := now.Add(s.idle)
	if idle.After(g.ExpiresAt) {
		idle = g.ExpiresAt
	}
	res.RefreshToken = rt.Reveal()
	return res, &RefreshToken{Digest: d[:], GrantID: g.ID, ClientID: g.ClientID, UserID: g.UserID, CreatedAt: now, ExpiresAt: idle}, nil
}

var errRefresh = &Error{Code: "invalid_grant", Description: "the refresh token is invalid, expired or revoked"}

// refresh is the refresh_token grant with rotation on every use (RFC 9700
// §4.14.2): the old token is rotated out by a compare-and-set in the
// database (RT-02), and a rotated-out token presented again revokes the
// whole grant (RT-01) — unless its own client presents it again within the
// grace, when it gets the same new pair again (a retry after a timeout).
func (s *Service) refresh(ctx context.Context, c *Client, p *token.Principal, form url.Values, requested []string, jkt string) (*TokenResponse, error) {
	if s.grants == nil {
		return nil, &Error{Code: "unsupported_grant_type", Description: "this server does not offer the refresh_token grant"}
	}
	raw := form.Get("refresh_token")
	if raw == "" {
		return nil, &Error{Code: "invalid_request", Description: "refresh_token is required"}
	}
	if apitoken.Check(raw) != apitoken.Valid || !strings.HasPrefix(raw, RefreshPrefix+"_") {
		return nil, errRefresh
	}
	d := apitoken.Hash(raw)
	rt, err := s.grants.RefreshToken(ctx, d[:])
	if errors.Is(err, token.ErrNotFound) {
		return nil, errRefresh
	}
	if err != nil {
		return nil, unavailable(err, "get refresh token")
	}
	if rt.ClientID != c.AppID {
		return nil, errRefresh // RT-05: another client's token
	}
	g, err := s.grants.Grant(ctx, rt.GrantID)
	if errors.Is(err, token.ErrNotFound) {
		return nil, errRefresh
	}
	if err != nil {
		return nil, unavailable(err, "get grant")
	}
	if g.DPoPJKT != "" && g.DPoPJKT != jkt {
		return nil, &Error{Code: "invalid_grant", Description: "the refresh token is bound to another DPoP key"}
	}
	now := s.tokens.Now()
	if !rt.RotatedAt.IsZero() {
		return s.replayed(ctx, rt, g, now)
	}
	if !now.Before(rt.ExpiresAt) {
		return nil, errRefresh // RT-07: idle too long
	}
	held, live, err := s.tokens.LiveScopes(ctx, g.ID)
	if err != nil {
		return nil, unavailable(err, "check grant")
	}
	if !live {
		return nil, errRefresh
	}
	// Never wider than the grant ∩ what the client and the user hold now
	// (AS-11).
	scopes := append(scope.Intersect(held, p.Permissions), oidcOf(g.Scopes)...)
	if len(requested) > 0 {
		for _, r := range requested {
			if !slices.Contains(g.Scopes, r) {
				return nil, &Error{Code: "invalid_scope", Description: "the refresh request asks for a scope the grant does not hold"}
			}
		}
		scopes = scope.Intersect(scopes, requested)
	}
	res, next, err := s.grantTokens(ctx, g, scopes, jkt, true, "")
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealAnswer(d[:], res)
	if err != nil {
		return nil, err
	}
	switch err := s.grants.RotateRefresh(ctx, d[:], now, sealed, next); {
	case errors.Is(err, ErrRotated):
		// Another request rotated it first, while this one held it as
		// current: a concurrent duplicate, not the replay of a spent
		// token. Without a grace it just loses (RT-02: exactly one
		// success); with one it gets the winner's pair.
		s.dropAccess(ctx, res)
		if s.grace <= 0 {
			return nil, errRefresh
		}
		if rt, err = s.grants.RefreshToken(ctx, d[:]); err != nil {
			return nil, unavailable(err, "get refresh token")
		}
		return s.replayed(ctx, rt, g, now)
	case errors.Is(err, token.ErrNotFound):
		s.dropAccess(ctx, res)
		return nil, errRefresh
	case err != nil:
		// RT-06: nothing rotated; the old token still works for a retry.
		s.dropAccess(ctx, res)
		return nil, unavailable(err, "rotate refresh token")
	}
	// RT-04: a revocation that raced the rotation must leave nothing alive.
	if _, live, err := s.tokens.LiveScopes(ctx, g.ID); err != nil || !live {
		s.dropAccess(ctx, res)
		if err != nil {
			return nil, unavailable(err, "check grant")
		}
		return nil, errRefresh
	}
	return res, nil
}

// replayed answers a refresh token presented after its rotation: within
// the grace, and while its successor is unused, the answer its rotation
// gave; otherwise the grant is revoked (reuse detection, RT-01).
func (s *Service) replayed(ctx context.Context, rt *RefreshToken, g *Grant, now time.Time) (*TokenResponse, error) {
	if s.grace > 0 && now.Sub(rt.RotatedAt) <= s.grace && rt.Successor != nil {
		if res, err := s.openAnswer(rt.Digest, rt.Successor); err == nil {
			nd := apitoken.Hash(res.RefreshToken)
			next, err := s.grants.RefreshToken(ctx, nd[:])
			if err == nil && next.RotatedAt.IsZero() {
				if _, live, err := s.tokens.LiveScopes(ctx, g.ID); err == nil && live {
					return res, nil
				}
				return nil, errRefresh
			}
		}
	}
	s.revokeGrant(ctx, g.ID, "refresh token reused")
	return nil, errRefresh
}

// sealAnswer seals a token answer for the refresh grace, bound to the
// digest of the refresh token it answered.
func (s *Service) sealAnswer(d []byte, res *TokenResponse) ([]byte, error) {
	if s.grace <= 0 {
		return nil, nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	sealed, err := s.box.Seal(b, "oauth-refresh:"+hex.EncodeToString(d))
	clear(b)
	if err != nil {
		return nil, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	return sealed, nil
}

func (s *Service) openAnswer(d, sealed []byte) (*TokenResponse, error) {
	b, err := s.box.Open(sealed, "oauth-refresh:"+hex.EncodeToString(d))
	if err != nil {
		return nil, err
	}
	defer clear(b)
	var res TokenResponse
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// dropAccess revokes the opaque access token of an answer that is not
// given after all (a JWT needs nothing: nobody has it).
func (s *Service) dropAccess(ctx context.Context, res *TokenResponse) {
	if res == nil || strings.Count(res.AccessToken, ".") == 2 {
		return
	}
	r, err := s.tokens.Verify(ctx, token.VerifyRequest{Key: res.AccessToken, DryRun: true, Probe: true})
	if err != nil || r.Key == nil {
		return
	}
	if _, err := s.tokens.RevokeKey(ctx, issuerActor, r.Key.ID, "not handed out"); err != nil && token.KindOf(err) != token.Conflict {
		s.log.Warn("oauth: revoke unused access token", "key", r.Key.ID, "err", err)
	}
}

// revokeGrant revokes grant id — its key, which every access token of the
// grant names, and its opaque access tokens — logging what fails (the
// callers are already refusing a request).
func (s *Service) revokeGrant(ctx context.Context, id, reason string) {
	if err := s.endGrant(ctx, issuerActor, id, reason); err != nil {
		s.log.Error("oauth: revoke grant", "grant", id, "reason", reason, "err", err)
	}
}

// endGrant revokes grant id and its opaque access tokens.
func (s *Service) endGrant(ctx context.Context, a *token.Actor, id, reason string) error {
	k, err := s.tokens.RevokeKey(ctx, a, id, reason)
	switch {
	case token.KindOf(err) == token.Conflict:
		// already revoked; its opaque tokens may not be (a crash between)
	case err != nil:
		return err
	}
	if k == nil || k.Owner == nil {
		g, gerr := s.grants.Grant(ctx, id)
		if gerr != nil {
			return nil
		}
		k = &token.Key{Owner: &token.Owner{Type: token.User, ID: g.UserID}}
	}
	after := ""
	for {
		keys, next, err := s.tokens.Keys(ctx, issuerActor, token.KeyFilter{Keyspace: AccessKeyspace, OwnerType: k.Owner.Type,
			OwnerID: k.Owner.ID, State: token.Active, Now: s.tokens.Now(), After: after, Limit: 200})
		if err != nil {
			return err
		}
		for _, ak := range keys {
			var m opaqueMeta
			if json.Unmarshal(ak.Metadata, &m) == nil && m.GrantID == id {
				if _, err := s.tokens.RevokeKey(ctx, a, ak.ID, reason); err != nil && token.KindOf(err) != token.Conflict {
					return err
				}
			}
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// GrantInfo is a live grant as its user and admins see it.
type GrantInfo struct {
	ID         string
	ClientID   string
	ClientName string
	Scopes     []string // what its tokens may do now
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt time.Time
}

// mayManageGrants lets a user manage their own grants (through a session
// or a personal credential) and admins (principals:write) anyone's.
func (s *Service) mayManageGrants(ctx context.Context, a *token.Actor, userID, action string) error {
	if a.May(token.ScopePrincipalsWrite) {
		return nil
	}
	if a.Owner != nil && a.Owner.Type == token.User && a.Owner.ID == userID {
		return nil
	}
	return s.tokens.Refuse(ctx, a, action, token.ScopePrincipalsWrite)
}

// UserGrants lists the live grants user userID gave, newest first.
func (s *Service) UserGrants(ctx context.Context, a *token.Actor, userID string) ([]GrantInfo, error) {
	if err := s.mayManageGrants(ctx, a, userID, "grant.list"); err != nil {
		return nil, err
	}
	if s.grants == nil {
		return nil, nil
	}
	return s.liveGrants(ctx, GrantFilter{UserID: userID})
}

// liveGrants lists the grant records f selects whose keys are live.
func (s *Service) liveGrants(ctx context.Context, f GrantFilter) ([]GrantInfo, error) {
	var out []GrantInfo
	names := map[string]string{}
	f.Limit = 200
	for {
		gs, err := s.grants.Grants(ctx, f)
		if err != nil {
			return nil, unavailable(err, "list grants")
		}
		for _, g := range gs {
			k, err := s.tokens.Store().KeyByID(ctx, g.ID)
			if errors.Is(err, token.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, unavailable(err, "get grant key")
			}
			if k.State(s.tokens.Now()) != token.Active {
				continue
			}
			held, live, err := s.tokens.LiveScopes(ctx, g.ID)
			if err != nil {
				return nil, unavailable(err, "check grant")
			}
			if !live {
				continue
			}
			name, ok := names[g.ClientID]
			if !ok {
				if p, err := s.tokens.LivePrincipal(ctx, token.App, g.ClientID); err == nil {
					name = p.Name
				}
				names[g.ClientID] = name
			}
			out = append(out, GrantInfo{ID: g.ID, ClientID: g.ClientID, ClientName: name, Scopes: held,
				CreatedAt: g.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt})
		}
		if len(gs) < f.Limit {
			break
		}
		f.After = gs[len(gs)-1].ID
	}
	slices.SortFunc(out, func(a, b GrantInfo) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// SessionApp is an app a sign-in session let in: it got a grant (and an
// ID token, for openid) through that session, and is told by back-channel
// logout when the session ends.
type SessionApp struct {
	ClientID   string
	ClientName string
}

// SessionApps returns, per session ID, the apps user userID signed in to
// through that session, in the order they were first let in. Grants
// revoked since still count: the app may still hold a sign-in of its own,
// and it is the one that back-channel logout tells.
func (s *Service) SessionApps(ctx context.Context, a *token.Actor, userID string) (map[string][]SessionApp, error) {
	if err := s.mayManageGrants(ctx, a, userID, "session.list"); err != nil {
		return nil, err
	}
	out := map[string][]SessionApp{}
	if s.grants == nil {
		return out, nil
	}
	names := map[string]string{}
	f := GrantFilter{UserID: userID, Limit: 200}
	for {
		gs, err := s.grants.Grants(ctx, f)
		if err != nil {
			return nil, unavailable(err, "list grants")
		}
		for _, g := range gs {
			if g.SessionID == "" || slices.ContainsFunc(out[g.SessionID], func(x SessionApp) bool { return x.ClientID == g.ClientID }) {
				continue
			}
			name, ok := names[g.ClientID]
			if !ok {
				if p, err := s.tokens.LivePrincipal(ctx, token.App, g.ClientID); err == nil {
					name = p.Name
				}
				names[g.ClientID] = name
			}
			out[g.SessionID] = append(out[g.SessionID], SessionApp{ClientID: g.ClientID, ClientName: name})
		}
		if len(gs) < f.Limit {
			break
		}
		f.After = gs[len(gs)-1].ID
	}
	return out, nil
}

// RevokeUserGrant revokes grant grantID of user userID: its refresh and
// access tokens die at once, everywhere. The consent stays unless it was
// the user's last grant to that client (then the next sign-in asks again).
func (s *Service) RevokeUserGrant(ctx context.Context, a *token.Actor, userID, grantID string) error {
	const action = "grant.revoke"
	if err := s.mayManageGrants(ctx, a, userID, action); err != nil {
		return err
	}
	if s.grants == nil {
		return token.Errorf(token.NotFound, "grant_not_found", "grant not found")
	}
	g, err := s.grants.Grant(ctx, grantID)
	if errors.Is(err, token.ErrNotFound) || (err == nil && g.UserID != userID) {
		return token.Errorf(token.NotFound, "grant_not_found", "grant not found")
	}
	if err != nil {
		return unavailable(err, "get grant")
	}
	if err := s.endGrant(ctx, grantActor(a), grantID, "revoked by "+revoker(a, userID)); err != nil {
		return err
	}
	left, err := s.liveGrants(ctx, GrantFilter{UserID: userID, ClientID: g.ClientID})
	if err != nil {
		return err
	}
	if len(left) == 0 {
		if err := s.grants.DeleteConsent(ctx, userID, g.ClientID); err != nil {
			return unavailable(err, "delete consent")
		}
	}
	return nil
}

// RevokeClientGrants revokes every grant to app clientID — of user userID
// only, when it is set — and forgets the consents, so every user is asked
// again. It returns how many grants it revoked.
func (s *Service) RevokeClientGrants(ctx context.Context, a *token.Actor, clientID, userID string) (int, error) {
	const action = "grant.revoke_all"
	if userID != "" {
		if err := s.mayManageGrants(ctx, a, userID, action); err != nil {
			return 0, err
		}
	} else if !a.May(token.ScopePrincipalsWrite) {
		return 0, s.tokens.Refuse(ctx, a, action, token.ScopePrincipalsWrite)
	}
	if s.grants == nil {
		return 0, nil
	}
	live, err := s.liveGrants(ctx, GrantFilter{ClientID: clientID, UserID: userID})
	if err != nil {
		return 0, err
	}
	users := map[string]bool{}
	for _, g := range live {
		if err := s.endGrant(ctx, grantActor(a), g.ID, "revoked by "+revoker(a, userID)); err != nil {
			return 0, err
		}
	}
	gs, err := s.grants.Grants(ctx, GrantFilter{ClientID: clientID, UserID: userID, Limit: 1000})
	if err != nil {
		return 0, unavailable(err, "list grants")
	}
	for _, g := range gs {
		users[g.UserID] = true
	}
	if userID != "" {
		users[userID] = true
	}
	for u := range users {
		if err := s.grants.DeleteConsent(ctx, u, clientID); err != nil {
			return 0, unavailable(err, "delete consent")
		}
	}
	return len(live), nil
}

// grantActor is the actor revoking grant keys for a: the grant keys belong
// to the oauth-grants keyspace, which a user's own credential may not
// write, so the authorization server revokes them, with a's identity in the
// audit record.
func grantActor(a *token.Actor) *token.Actor {
	return &token.Actor{KeyID: a.KeyID, Name: a.Name, Scopes: token.SystemActor.Scopes, RequestID: a.RequestID, IP: a.IP}
}

func revoker(a *token.Actor, userID string) string {
	if a.Owner != nil && a.Owner.Type == token.User && a.Owner.ID == userID {
		return "the user"
	}
	return "an admin"
}

// Prune deletes expired codes and pushed requests and idle refresh
// tokens, and wipes the sealed answers whose grace has passed.
func (s *Service) Prune(ctx context.Context) error {
	if s.grants == nil {
		return nil
	}
	now := s.tokens.Now()
	if _, err := s.grants.PruneGrants(ctx, now, now.Add(-s.grace)); err != nil {
		return unavailable(err, "prune grants")
	}
	return nil
}

// permissionsOf returns the scopes of list that are permissions, oidcOf
// those that are OpenID Connect scopes.
func permissionsOf(list []string) []string {
	return slices.DeleteFunc(slices.Clone(list), IsOIDCScope)
}

func oidcOf(list []string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(s string) bool { return !IsOIDCScope(s) })
}
