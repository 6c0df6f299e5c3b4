package client

import (
	"context"
	"net/url"

	"github.com/latchkey/latchkey/api"
)

// AuditListOptions filters and pages [Client.Audit]. Zero fields are not
// sent.
type AuditListOptions struct {
	Action   string // for example "key.revoke"
	TargetID string
	Actor    string
	Limit    int    // page size; 0 means the server's default
	Cursor   string // NextCursor of the previous page
}

func (o AuditListOptions) values() url.Values {
	q := url.Values{}
	set(q, "action", o.Action)
	set(q, "target_id", o.TargetID)
	set(q, "actor", o.Actor)
	setInt(q, "limit", o.Limit)
	set(q, "cursor", o.Cursor)
	return q
}

// Audit returns one page of audit events, newest first (GET /v1/audit).
func (c *Client) Audit(ctx context.Context, opts AuditListOptions) (*api.AuditList, error) {
	return call[api.AuditList](ctx, c, getReq("/v1/audit", opts.values()))
}

// AuditCheckpoint returns the latest signed checkpoint of the audit log
// (GET /v1/audit/checkpoint); its Note is what to save elsewhere and give
// to "latchkey audit verify --checkpoint".
func (c *Client) AuditCheckpoint(ctx context.Context) (*api.AuditCheckpoint, error) {
	return call[api.AuditCheckpoint](ctx, c, getReq("/v1/audit/checkpoint", nil))
}
