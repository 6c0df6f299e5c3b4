package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/latchkey/latchkey/api"
)

const leaksPath = "/v1/leaks"

// ReportLeak reports a token seen at where (POST /v1/leaks, no credential
// sent). The answer is the same whatever the token was.
func (c *Client) ReportLeak(ctx context.Context, tok, where string) error {
	r := jsonReq(http.MethodPost, leaksPath, api.LeakReportRequest{Token: tok, URL: where})
	r.auth = false
	_, err := call[api.LeakReceived](ctx, c, r)
	return err
}

// LeakReports lists kept leak reports, newest first (GET /v1/leaks;
// audit:read).
func (c *Client) LeakReports(ctx context.Context, cursor string, limit int) (*api.LeakReportList, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return call[api.LeakReportList](ctx, c, getReq(leaksPath, q))
}

// LookupLeaks names the keys and apps of SHA-256 digests (hex) of found
// tokens (POST /v1/leaks/lookup; keys:read): the tokens themselves are not
// sent.
func (c *Client) LookupLeaks(ctx context.Context, hashes []string) (*api.LeakLookupResult, error) {
	return call[api.LeakLookupResult](ctx, c, jsonReq(http.MethodPost, leaksPath+"/lookup", api.LeakLookupRequest{TokenHashes: hashes}))
}
