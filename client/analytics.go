package client

import (
	"context"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/api"
)

// UsageOptions selects the buckets of [Client.KeyUsage] and
// [Client.Analytics]. Zero fields are not sent: the server's defaults are
// hourly buckets over the 60 buckets before now.
type UsageOptions struct {
	From, To    time.Time
	Granularity string // "minute" or "hour"
}

func (o UsageOptions) values() url.Values {
	q := url.Values{}
	if !o.From.IsZero() {
		q.Set("from", o.From.UTC().Format(time.RFC3339))
	}
	if !o.To.IsZero() {
		q.Set("to", o.To.UTC().Format(time.RFC3339))
	}
	set(q, "granularity", o.Granularity)
	return q
}

// KeyUsage returns a key's verifications per minute or hour by result code
// (GET /v1/keys/{id}/usage).
func (c *Client) KeyUsage(ctx context.Context, id string, opts UsageOptions) (*api.KeyUsage, error) {
	p, err := itemPath(keysPath, "key id", id, "/usage")
	if err != nil {
		return nil, err
	}
	return call[api.KeyUsage](ctx, c, getReq(p, opts.values()))
}

// AnalyticsOptions selects [Client.Analytics]: a keyspace, a range and a
// grouping ("code", "key" or "owner"), and a page of groups.
type AnalyticsOptions struct {
	Keyspace string
	UsageOptions
	GroupBy string
	Limit   int
	Cursor  string
}

// Analytics returns a keyspace's verifications over a range
// (GET /v1/analytics).
func (c *Client) Analytics(ctx context.Context, opts AnalyticsOptions) (*api.Analytics, error) {
	q := opts.UsageOptions.values()
	set(q, "keyspace", opts.Keyspace)
	set(q, "group_by", opts.GroupBy)
	setInt(q, "limit", opts.Limit)
	set(q, "cursor", opts.Cursor)
	return call[api.Analytics](ctx, c, getReq("/v1/analytics", q))
}
