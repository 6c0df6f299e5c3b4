package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/api"
)

// ExchangeToken trades an API key for a short-lived JWT (POST /v1/tokens).
// The key is sent as the bearer credential instead of the client's
// management token; req may be the zero value (all the key's scopes, the
// keyspace as audience, the server's default lifetime).
func (c *Client) ExchangeToken(ctx context.Context, key string, req api.TokenRequest) (*api.TokenResponse, error) {
	if key == "" {
		return nil, errors.New("latchkey: exchange token: empty key")
	}
	r := request{method: http.MethodPost, path: "/v1/tokens", body: req,
		header: http.Header{"Authorization": {"Bearer " + key}}}
	return call[api.TokenResponse](ctx, c, r)
}

// SigningKeys lists the JWT signing keys (GET /v1/signing-keys).
func (c *Client) SigningKeys(ctx context.Context) (*api.SigningKeyList, error) {
	return call[api.SigningKeyList](ctx, c, getReq("/v1/signing-keys", nil))
}

// RotateSigningKey creates a new JWT signing key
// (POST /v1/signing-keys/rotate).
func (c *Client) RotateSigningKey(ctx context.Context, req api.RotateSigningKeyRequest) (*api.SigningKey, error) {
	return call[api.SigningKey](ctx, c, jsonReq(http.MethodPost, "/v1/signing-keys/rotate", req))
}

// Revocations reads the revocation feed (GET /v1/revocations) after
// cursor ("" for the start). With wait > 0 the server holds the request
// until something is revoked or wait (at most 25s) passes.
func (c *Client) Revocations(ctx context.Context, cursor string, wait time.Duration) (*api.RevocationList, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("since", cursor)
	}
	if wait > 0 {
		q.Set("wait", strconv.Itoa(int(wait/time.Second)))
	}
	return call[api.RevocationList](ctx, c, getReq("/v1/revocations", q))
}
