package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/api"
)

const (
	usersPath = "/v1/users"
	appsPath  = "/v1/apps"
)

// ListOptions pages a list call. Zero fields are not sent.
type ListOptions struct {
	Limit  int    // page size; 0 means the server's default
	Cursor string // NextCursor of the previous page
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	setInt(q, "limit", o.Limit)
	set(q, "cursor", o.Cursor)
	return q
}

// CreateUser creates a user (POST /v1/users).
func (c *Client) CreateUser(ctx context.Context, req api.CreatePrincipalRequest) (*api.Principal, error) {
	return c.createPrincipal(ctx, usersPath, req)
}

// Users returns one page of users (GET /v1/users).
func (c *Client) Users(ctx context.Context, opts ListOptions) (*api.PrincipalList, error) {
	return call[api.PrincipalList](ctx, c, getReq(usersPath, opts.values()))
}

// User returns the user with the given id (GET /v1/users/{id}).
func (c *Client) User(ctx context.Context, id string) (*api.Principal, error) {
	return c.principal(ctx, usersPath, "user id", id)
}

// UpdateUser changes the fields of a user that are set in req
// (PATCH /v1/users/{id}). Disabling a user disables all its keys.
func (c *Client) UpdateUser(ctx context.Context, id string, req api.UpdatePrincipalRequest) (*api.Principal, error) {
	return c.updatePrincipal(ctx, usersPath, "user id", id, req)
}

// CreateApp creates an app (POST /v1/apps).
func (c *Client) CreateApp(ctx context.Context, req api.CreatePrincipalRequest) (*api.Principal, error) {
	return c.createPrincipal(ctx, appsPath, req)
}

// Apps returns one page of apps (GET /v1/apps).
func (c *Client) Apps(ctx context.Context, opts ListOptions) (*api.PrincipalList, error) {
	return call[api.PrincipalList](ctx, c, getReq(appsPath, opts.values()))
}

// App returns the app with the given id (GET /v1/apps/{id}).
func (c *Client) App(ctx context.Context, id string) (*api.Principal, error) {
	return c.principal(ctx, appsPath, "app id", id)
}

// UpdateApp changes the fields of an app that are set in req
// (PATCH /v1/apps/{id}). Disabling an app disables all its keys.
func (c *Client) UpdateApp(ctx context.Context, id string, req api.UpdatePrincipalRequest) (*api.Principal, error) {
	return c.updatePrincipal(ctx, appsPath, "app id", id, req)
}

func (c *Client) createPrincipal(ctx context.Context, collection string, req api.CreatePrincipalRequest) (*api.Principal, error) {
	return call[api.Principal](ctx, c, jsonReq(http.MethodPost, collection, req))
}

func (c *Client) principal(ctx context.Context, collection, noun, id string) (*api.Principal, error) {
	p, err := itemPath(collection, noun, id, "")
	if err != nil {
		return nil, err
	}
	return call[api.Principal](ctx, c, getReq(p, nil))
}

func (c *Client) updatePrincipal(ctx context.Context, collection, noun, id string, req api.UpdatePrincipalRequest) (*api.Principal, error) {
	p, err := itemPath(collection, noun, id, "")
	if err != nil {
		return nil, err
	}
	return call[api.Principal](ctx, c, jsonReq(http.MethodPatch, p, req))
}
