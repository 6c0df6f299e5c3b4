package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/api"
)

const keysPath = "/v1/keys"

// KeyListOptions filters and pages [Client.ListKeys]. Zero fields are not
// sent.
type KeyListOptions struct {
	Keyspace  string
	OwnerType string // "user" or "app"
	OwnerID   string
	State     string // active, disabled, revoked or expired
	Limit     int    // page size; 0 means the server's default
	Cursor    string // NextCursor of the previous page
}

func (o KeyListOptions) values() url.Values {
	q := url.Values{}
	set(q, "keyspace", o.Keyspace)
	set(q, "owner_type", o.OwnerType)
	set(q, "owner_id", o.OwnerID)
	set(q, "state", o.State)
	setInt(q, "limit", o.Limit)
	set(q, "cursor", o.Cursor)
	return q
}

// CreateKey creates a key (POST /v1/keys). The plaintext is in the
// result's Secret field and is never shown again. The call carries an
// Idempotency-Key and is retried with it (see [WithRetries]); pass
// [WithIdempotencyKey] to choose the key, for retries of your own.
func (c *Client) CreateKey(ctx context.Context, req api.CreateKeyRequest, opts ...CallOption) (*api.CreatedKey, error) {
	return call[api.CreatedKey](ctx, c, once(jsonReq(http.MethodPost, keysPath, req), opts))
}

// ListKeys returns one page of keys (GET /v1/keys). Pass the result's
// NextCursor as opts.Cursor to get the next page; it is empty on the last.
func (c *Client) ListKeys(ctx context.Context, opts KeyListOptions) (*api.KeyList, error) {
	return call[api.KeyList](ctx, c, getReq(keysPath, opts.values()))
}

// Key returns the key with the given id (GET /v1/keys/{id}).
func (c *Client) Key(ctx context.Context, id string) (*api.Key, error) {
	return c.keyCall(ctx, http.MethodGet, id, "", nil)
}

// UpdateKey changes the fields of a key that are set in req
// (PATCH /v1/keys/{id}) and returns the key as it is now. Use [NullExpiry],
// [ExpiresAt], [NullRemaining] and [Remaining] for the nullable fields.
func (c *Client) UpdateKey(ctx context.Context, id string, req api.UpdateKeyRequest) (*api.Key, error) {
	return c.keyCall(ctx, http.MethodPatch, id, "", req)
}

// RevokeKey revokes a key for good (POST /v1/keys/{id}/revoke), recording
// reason, and returns the key as it is now.
func (c *Client) RevokeKey(ctx context.Context, id, reason string, opts ...CallOption) (*api.Key, error) {
	return c.keyCall(ctx, http.MethodPost, id, "/revoke", api.RevokeRequest{Reason: reason}, opts...)
}

// RotateKey replaces a key by a new one with the same settings
// (POST /v1/keys/{id}/rotate). The old key keeps working for grace; zero
// means the server's default. The successor's plaintext is in the result's
// Secret field and is never shown again. Like [Client.CreateKey], the call
// carries an Idempotency-Key and is retried with it, so a rotation whose
// answer was lost is answered again, with the same secret.
func (c *Client) RotateKey(ctx context.Context, id string, grace time.Duration, opts ...CallOption) (*api.RotatedKey, error) {
	p, err := itemPath(keysPath, "key id", id, "/rotate")
	if err != nil {
		return nil, err
	}
	var req api.RotateRequest
	if grace != 0 {
		req.GracePeriod = grace.String()
	}
	return call[api.RotatedKey](ctx, c, once(jsonReq(http.MethodPost, p, req), opts))
}

// RenewKey pushes the expiry of a temporary key out by its lifetime, within
// its keyspace's maximum (POST /v1/keys/{id}/renew).
func (c *Client) RenewKey(ctx context.Context, id string, opts ...CallOption) (*api.Key, error) {
	return c.keyCall(ctx, http.MethodPost, id, "/renew", nil, opts...)
}

// DeleteKey deletes a revoked key for good (DELETE /v1/keys/{id}). The
// server refuses to delete a key that is not revoked.
func (c *Client) DeleteKey(ctx context.Context, id string) error {
	p, err := itemPath(keysPath, "key id", id, "")
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p, auth: true}, nil)
}

// RevealKey returns the plaintext of a recoverable key again
// (GET /v1/keys/{id}/secret; scope "keys:reveal", audited). A key of a
// keyspace that was not recoverable when it was made answers 404
// "not_recoverable", a revoked key 409 "key_revoked".
func (c *Client) RevealKey(ctx context.Context, id string) (*api.KeySecret, error) {
	p, err := itemPath(keysPath, "key id", id, "/secret")
	if err != nil {
		return nil, err
	}
	return call[api.KeySecret](ctx, c, getReq(p, nil))
}

// Verify checks a key (POST /v1/keys/verify). A well-formed request gets a
// response whether or not the key is valid: check Valid and Code. An error
// means the request itself failed (bad credential, malformed request,
// server unavailable).
func (c *Client) Verify(ctx context.Context, req api.VerifyRequest) (*api.VerifyResponse, error) {
	return call[api.VerifyResponse](ctx, c, jsonReq(http.MethodPost, keysPath+"/verify", req))
}

// Self describes the credential the client authenticates with
// (GET /v1/self).
func (c *Client) Self(ctx context.Context) (*api.Self, error) {
	return call[api.Self](ctx, c, getReq("/v1/self", nil))
}

// keyCall sends a request about one key that answers with the key. A nil
// body means no body for GET and an empty object otherwise.
func (c *Client) keyCall(ctx context.Context, method, id, suffix string, body any, opts ...CallOption) (*api.Key, error) {
	p, err := itemPath(keysPath, "key id", id, suffix)
	if err != nil {
		return nil, err
	}
	if method == http.MethodGet {
		return call[api.Key](ctx, c, getReq(p, nil))
	}
	r := jsonReq(method, p, body)
	if method == http.MethodPost { // revoke, renew: retried with an Idempotency-Key
		r = once(r, opts)
	}
	return call[api.Key](ctx, c, r)
}

// NullExpiry is the value of [api.UpdateKeyRequest].ExpiresAt that makes a
// key permanent.
func NullExpiry() json.RawMessage { return json.RawMessage("null") }

// ExpiresAt is the value of [api.UpdateKeyRequest].ExpiresAt that makes a
// key expire at t.
func ExpiresAt(t time.Time) json.RawMessage {
	return json.RawMessage(strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
}

// NullRemaining is the value of [api.UpdateKeyRequest].Remaining that
// removes a key's usage limit.
func NullRemaining() json.RawMessage { return json.RawMessage("null") }

// Remaining is the value of [api.UpdateKeyRequest].Remaining that sets a
// key's remaining uses to n.
func Remaining(n int64) json.RawMessage {
	return json.RawMessage(strconv.FormatInt(n, 10))
}

// set adds key=value to q when value is not empty.
func set(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// setInt adds key=n to q when n is not zero.
func setInt(q url.Values, key string, n int) {
	if n != 0 {
		q.Set(key, strconv.Itoa(n))
	}
}

// ImportKeys imports keys issued by another system, known by the SHA-256
// digests of their plaintexts (POST /v1/keys/import; at most 1000 per call,
// all or nothing).
func (c *Client) ImportKeys(ctx context.Context, req api.ImportKeysRequest, opts ...CallOption) (*api.ImportKeysResponse, error) {
	return call[api.ImportKeysResponse](ctx, c, once(jsonReq(http.MethodPost, keysPath+"/import", req), opts))
}
