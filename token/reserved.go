package token

import (
	"context"

	"github.com/latchkey/latchkey/scope"
)

// The OAuth server's keyspaces (oauth.AccessKeyspace, oauth.GrantKeyspace;
// TestReservedKeyspacesMatch in package oauth keeps them equal).
const (
	oauthAccessKeyspace = "oauth"
	oauthGrantKeyspace  = "oauth-grants"
)

// ReservedKeyspace reports whether keys of keyspace name are issued by the
// OAuth server only.
//
// An OAuth key's meaning lives in its metadata (client_id, aud, grant_id)
// and in the grant it belongs to: the gateway and /oauth2/introspect take a
// live key of these keyspaces as a token the app was issued. A key made in
// one any other way — created through the API or the portal, or cloned by
// a rotation, whose successor would outlive the grant — would be accepted
// as one the app never asked for. So the Service creates keys there only
// for the OAuth issuer (OAuthIssuer), and never rotates, renews, updates or
// imports them for anyone; reading, revoking and deleting stay as for any
// key, so a user can still revoke their own OAuth token.
//
// The set is fixed here rather than configured, so it holds whether or not
// the OAuth server is enabled (a key planted in "oauth" while it is off
// would be accepted once it is on); the issuer is told apart by a field no
// other package can set, not by a key ID a credential could carry.
func ReservedKeyspace(name string) bool {
	return name == oauthAccessKeyspace || name == oauthGrantKeyspace
}

// OAuthIssuer returns an actor for the OAuth server's token endpoint: the
// only actor that may create keys in the reserved keyspaces. Only package
// oauth calls it.
func OAuthIssuer(name string) *Actor {
	return &Actor{KeyID: "oauth", Name: name, Scopes: scope.Set{ScopeAdmin}, oauthIssuer: true}
}

// mayWriteReserved refuses action on a key of keyspace ks when ks is
// reserved: create only for the OAuth issuer, the other changes (rotate,
// renew, update, import) for everyone.
func (s *Service) mayWriteReserved(ctx context.Context, a *Actor, action, id, ks string) error {
	if !ReservedKeyspace(ks) || (action == "key.create" && a.oauthIssuer) {
		return nil
	}
	ev := s.audit(a, action, "key", id, map[string]string{"keyspace": ks, "reason": "oauth_keyspace"})
	ev.Outcome = OutcomeDenied
	if err := s.wrote(s.store.AppendAudit(ctx, ev)); err != nil {
		s.log.Error("audit: append denied event", "action", action, "err", err)
	}
	return Errorf(PermissionDenied, "oauth_keyspace",
		"keyspace %q holds OAuth tokens, which only the OAuth server issues; they can be revoked but not created, rotated, renewed or changed", ks)
}
