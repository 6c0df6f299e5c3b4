// Package client is the Go client of latchkey's /v1 HTTP API.
//
// A [Client] is created with [New] from the server's base URL and a
// management credential (a latchkey key with management scopes such as
// "admin" or "keys:write"). Every method takes a context and returns the
// wire types of package api. A response with a status other than 2xx is
// returned as an [*Error] carrying the server's problem document, so callers
// can branch on its stable code:
//
//	k, err := c.Key(ctx, id)
//	if client.IsNotFound(err) {
//		// ...
//	}
//
// The client never puts the bearer credential, or a key sent for
// verification, into an error message.
//
// The package imports only the standard library and package api, so it can
// be used by programs that do not want latchkey's server dependencies.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// MaxResponseBytes is the largest response body the client reads. A larger
// body is an error rather than an unbounded allocation.
const MaxResponseBytes = 10 << 20

// DefaultUserAgent is the User-Agent header sent unless [WithUserAgent]
// replaces it.
const DefaultUserAgent = "latchkey-go-client"

// Client is a client of one latchkey server. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	http      *http.Client
	userAgent string
	attempts  int           // tries of a retryable call, see WithRetries
	backoff   time.Duration // the first wait between them
}

// Option configures a [Client] in [New].
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc instead of
// [http.DefaultClient]. Use it to set timeouts, proxies or TLS settings.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the latchkey server at baseURL (for example
// "https://latchkey.internal:8080"; a path prefix is kept) that
// authenticates with token as a bearer credential. token may be empty for a
// client that only calls [Client.Health] and [Client.Ready]; every other
// call then fails with 401.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("latchkey: invalid base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("latchkey: invalid base URL %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("latchkey: invalid base URL %q: no host", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("latchkey: invalid base URL %q: query and fragment are not allowed", u.Redacted())
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// Do not echo the token: it is a secret.
		return nil, errors.New("latchkey: invalid token: contains whitespace or control characters")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	c := &Client{base: u, token: token, http: http.DefaultClient, userAgent: DefaultUserAgent,
		attempts: DefaultAttempts, backoff: DefaultBackoff}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// CallOption configures a single call.
type CallOption func(*callConfig)

type callConfig struct {
	idempotencyKey string
}

// WithIdempotencyKey sends key as the Idempotency-Key header of a create,
// rotate, revoke, renew or import, so that the call retried after a
// timeout or a network error returns the first result instead of changing
// anything again. Use a fresh random key for each logical change and the
// same key for its retries. Without it the client picks a random key per
// call and uses it for its own retries (see [WithRetries]).
func WithIdempotencyKey(key string) CallOption {
	return func(cc *callConfig) { cc.idempotencyKey = key }
}

// request describes one API call.
type request struct {
	method string
	path   string     // already escaped, starting with "/"
	query  url.Values // may be nil
	body   any        // marshalled as JSON when non-nil
	header http.Header
	auth   bool
	retry  bool // retried with its Idempotency-Key, see WithRetries
}

// do sends r and decodes a 2xx response body into out (unless out is nil).
// Any other status is returned as an *Error. A request marked retry is
// retried as WithRetries says.
func (c *Client) do(ctx context.Context, r request, out any) error {
	return c.doRetry(ctx, r, out)
}

// send sends r once.
func (c *Client) send(ctx context.Context, r request, out any) error {
	u := c.base.String() + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("latchkey: %s %s: encode request: %w", r.method, r.path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return fmt.Errorf("latchkey: %s %s: %w", r.method, r.path, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if r.auth && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The *url.Error repeats method and URL; keep only its cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("latchkey: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("latchkey: %s %s: read response: %w", r.method, r.path, err)
	}
	if len(data) > MaxResponseBytes {
		return fmt.Errorf("latchkey: %s %s: response body exceeds %d bytes", r.method, r.path, MaxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newError(resp.StatusCode, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("latchkey: %s %s: decode response: %w", r.method, r.path, err)
	}
	return nil
}

// getReq is a GET of path with the bearer credential.
func getReq(path string, query url.Values) request {
	return request{method: http.MethodGet, path: path, query: query, auth: true}
}

// jsonReq is a request with a JSON body (an empty object when body is nil)
// and the bearer credential.
func jsonReq(method, path string, body any) request {
	if body == nil {
		body = struct{}{}
	}
	return request{method: method, path: path, body: body, auth: true}
}

// itemPath returns collection + "/" + the escaped id + suffix, or an error
// when id is empty: an empty id would silently turn a call on one object
// into a call on the collection.
func itemPath(collection, noun, id, suffix string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("latchkey: empty %s", noun)
	}
	return collection + "/" + url.PathEscape(id) + suffix, nil
}

// call sends r and returns the decoded response body.
func call[T any](ctx context.Context, c *Client, r request) (*T, error) {
	v := new(T)
	if err := c.do(ctx, r, v); err != nil {
		return nil, err
	}
	return v, nil
}

// Health calls GET /healthz and reports whether the server process is up:
// it returns nil for a 2xx answer and an error otherwise. It sends no
// credential.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodGet, path: "/healthz"}, nil)
}

// Ready calls GET /readyz and returns nil when the server can serve
// requests (its storage is reachable), an error otherwise. It sends no
// credential.
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, request{method: http.MethodGet, path: "/readyz"}, nil)
}
