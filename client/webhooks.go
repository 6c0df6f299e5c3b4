package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/latchkey/latchkey/api"
)

const webhooksPath = "/v1/webhooks"

// CreateWebhook subscribes a URL to events (POST /v1/webhooks). The
// answer's Secret (whsec_…) is shown this once: receivers verify
// deliveries with it (verify.VerifyWebhook).
func (c *Client) CreateWebhook(ctx context.Context, req api.CreateWebhookRequest) (*api.Webhook, error) {
	return call[api.Webhook](ctx, c, jsonReq(http.MethodPost, webhooksPath, req))
}

// Webhooks lists the webhooks (GET /v1/webhooks).
func (c *Client) Webhooks(ctx context.Context) (*api.WebhookList, error) {
	return call[api.WebhookList](ctx, c, getReq(webhooksPath, nil))
}

// Webhook returns one webhook (GET /v1/webhooks/{id}).
func (c *Client) Webhook(ctx context.Context, id string) (*api.Webhook, error) {
	p, err := itemPath(webhooksPath, "webhook id", id, "")
	if err != nil {
		return nil, err
	}
	return call[api.Webhook](ctx, c, getReq(p, nil))
}

// UpdateWebhook changes a webhook; enabling one resumes its deliveries
// (PATCH /v1/webhooks/{id}).
func (c *Client) UpdateWebhook(ctx context.Context, id string, req api.UpdateWebhookRequest) (*api.Webhook, error) {
	p, err := itemPath(webhooksPath, "webhook id", id, "")
	if err != nil {
		return nil, err
	}
	return call[api.Webhook](ctx, c, jsonReq(http.MethodPatch, p, req))
}

// DeleteWebhook removes a webhook and its deliveries (DELETE /v1/webhooks/{id}).
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	p, err := itemPath(webhooksPath, "webhook id", id, "")
	if err != nil {
		return err
	}
	return c.do(ctx, request{method: http.MethodDelete, path: p, auth: true}, nil)
}

// RotateWebhookSecret gives a webhook a new secret, shown this once; the
// old one signs beside it for the grace (POST /v1/webhooks/{id}/rotate-secret).
func (c *Client) RotateWebhookSecret(ctx context.Context, id string, req api.RotateWebhookSecretRequest) (*api.Webhook, error) {
	p, err := itemPath(webhooksPath, "webhook id", id, "/rotate-secret")
	if err != nil {
		return nil, err
	}
	return call[api.Webhook](ctx, c, jsonReq(http.MethodPost, p, req))
}

// WebhookDeliveries lists a page of a webhook's deliveries, newest first
// (GET /v1/webhooks/{id}/deliveries); cursor is a NextCursor or "".
func (c *Client) WebhookDeliveries(ctx context.Context, id, cursor string, limit int) (*api.WebhookDeliveryList, error) {
	p, err := itemPath(webhooksPath, "webhook id", id, "/deliveries")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return call[api.WebhookDeliveryList](ctx, c, getReq(p, q))
}

// WebhookDelivery returns a delivery of a webhook with every kept attempt,
// newest first, in AttemptLog (GET /v1/webhooks/{id}/deliveries/{did}).
func (c *Client) WebhookDelivery(ctx context.Context, id, deliveryID string) (*api.WebhookDelivery, error) {
	p, err := itemPath(webhooksPath, "webhook id", id, "/deliveries")
	if err != nil {
		return nil, err
	}
	if p, err = itemPath(p, "delivery id", deliveryID, ""); err != nil {
		return nil, err
	}
	return call[api.WebhookDelivery](ctx, c, getReq(p, nil))
}

// RedeliverWebhook queues a delivery again, with the same webhook-id
// (POST /v1/webhooks/{id}/deliveries/{did}/redeliver).
func (c *Client) RedeliverWebhook(ctx context.Context, id, deliveryID string) (*api.WebhookDelivery, error) {
	p, err := itemPath(webhooksPath, "webhook id", id, "/deliveries")
	if err != nil {
		return nil, err
	}
	if p, err = itemPath(p, "delivery id", deliveryID, "/redeliver"); err != nil {
		return nil, err
	}
	return call[api.WebhookDelivery](ctx, c, jsonReq(http.MethodPost, p, nil))
}
