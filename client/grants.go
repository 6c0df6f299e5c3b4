package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/api"
)

// UserGrants lists the apps a user authorized: their live OAuth grants,
// newest first (GET /v1/users/{id}/grants).
func (c *Client) UserGrants(ctx context.Context, id string) (*api.GrantList, error) {
	p, err := itemPath(usersPath, "user id", id, "/grants")
	if err != nil {
		return nil, err
	}
	return call[api.GrantList](ctx, c, getReq(p, nil))
}

// RevokeUserGrant revokes one of a user's grants: its refresh and access
// tokens stop working at once (DELETE /v1/users/{id}/grants/{grant_id}).
func (c *Client) RevokeUserGrant(ctx context.Context, id, grantID string) error {
	p, err := itemPath(usersPath, "user id", id, "/grants")
	if err != nil {
		return err
	}
	if p, err = itemPath(p, "grant id", grantID, ""); err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p, auth: true}, nil)
}

// RevokeUserAppGrants revokes every grant of a user to app clientID and
// forgets the consent (DELETE /v1/users/{id}/grants?client_id=).
func (c *Client) RevokeUserAppGrants(ctx context.Context, id, clientID string) (*api.GrantsRevoked, error) {
	p, err := itemPath(usersPath, "user id", id, "/grants")
	if err != nil {
		return nil, err
	}
	return call[api.GrantsRevoked](ctx, c, request{method: http.MethodDelete, path: p, query: url.Values{"client_id": {clientID}}, auth: true})
}

// RevokeAppGrants revokes every user's grants to an app and forgets their
// consents, so every user is asked again (DELETE /v1/apps/{id}/grants).
func (c *Client) RevokeAppGrants(ctx context.Context, id string) (*api.GrantsRevoked, error) {
	p, err := itemPath(appsPath, "app id", id, "/grants")
	if err != nil {
		return nil, err
	}
	return call[api.GrantsRevoked](ctx, c, request{method: http.MethodDelete, path: p, auth: true})
}
