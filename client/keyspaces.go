package client

import (
	"context"
	"net/http"

	"github.com/latchkey/latchkey/api"
)

const keyspacesPath = "/v1/keyspaces"

// CreateKeyspace creates a keyspace (POST /v1/keyspaces); req.Name is
// required.
func (c *Client) CreateKeyspace(ctx context.Context, req api.KeyspaceRequest) (*api.Keyspace, error) {
	return call[api.Keyspace](ctx, c, jsonReq(http.MethodPost, keyspacesPath, req))
}

// Keyspaces lists all keyspaces (GET /v1/keyspaces).
func (c *Client) Keyspaces(ctx context.Context) (*api.KeyspaceList, error) {
	return call[api.KeyspaceList](ctx, c, getReq(keyspacesPath, nil))
}

// Keyspace returns the keyspace with the given name
// (GET /v1/keyspaces/{name}).
func (c *Client) Keyspace(ctx context.Context, name string) (*api.Keyspace, error) {
	p, err := itemPath(keyspacesPath, "keyspace name", name, "")
	if err != nil {
		return nil, err
	}
	return call[api.Keyspace](ctx, c, getReq(p, nil))
}

// UpdateKeyspace changes the fields of a keyspace that are set in req
// (PATCH /v1/keyspaces/{name}); req.Name is ignored.
func (c *Client) UpdateKeyspace(ctx context.Context, name string, req api.KeyspaceRequest) (*api.Keyspace, error) {
	p, err := itemPath(keyspacesPath, "keyspace name", name, "")
	if err != nil {
		return nil, err
	}
	return call[api.Keyspace](ctx, c, jsonReq(http.MethodPatch, p, req))
}
