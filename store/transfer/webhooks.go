package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

// kindWebhook is a webhook with its secrets, still sealed with the
// source's master key (like the signing keys). Webhooks come after the
// audit log: importing the log through the store's audit write would
// otherwise fan its old changes out to them as new events. Their outbox
// (deliveries) is not carried.
const kindWebhook = "webhook"

// WebhookStore is the storage of webhooks an export reads and an import
// writes (optional: a store without it carries none).
type WebhookStore interface {
	Webhooks(ctx context.Context) ([]*webhook.Webhook, error)
	CreateWebhook(ctx context.Context, w *webhook.Webhook, ev *token.AuditEvent) error
}

type webhookRecord struct {
	Kind           string    `json:"kind"`
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"`
	Description    string    `json:"description,omitempty"`
	Secret         []byte    `json:"secret_sealed"`
	PrevSecret     []byte    `json:"prev_secret_sealed,omitempty"`
	PrevUntil      time.Time `json:"prev_secret_until,omitzero"`
	Disabled       bool      `json:"disabled,omitempty"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// exportWebhooks writes every webhook of src, if it has any.
func exportWebhooks(ctx context.Context, src token.Store, enc *json.Encoder, t *tracker) error {
	ws, ok := src.(WebhookStore)
	if !ok {
		return nil
	}
	hooks, err := ws.Webhooks(ctx)
	if err != nil {
		return err
	}
	for _, w := range hooks {
		r := webhookRecord{Kind: kindWebhook, ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description,
			Secret: w.Secret, PrevSecret: w.PrevSecret, PrevUntil: utc(w.PrevUntil), Disabled: w.Disabled,
			DisabledReason: w.DisabledReason, CreatedAt: utc(w.CreatedAt), UpdatedAt: utc(w.UpdatedAt)}
		if err := enc.Encode(&r); err != nil {
			return err
		}
		t.add(&t.c.Webhooks)
	}
	return nil
}

// importWebhook stores one webhook record.
func (im *importer) importWebhook(ctx context.Context, b []byte) error {
	var r webhookRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	ws, ok := im.dst.(WebhookStore)
	if !ok {
		return errors.New("the destination cannot store webhooks")
	}
	if r.ID == "" || len(r.Secret) == 0 || len(r.Events) == 0 {
		return errors.New("a webhook record lacks its id, secret or events")
	}
	for _, e := range r.Events {
		if !webhook.ValidEvent(e) {
			return errors.New("a webhook record names an unknown event")
		}
	}
	w := &webhook.Webhook{ID: r.ID, URL: r.URL, Events: r.Events, Description: r.Description, Secret: r.Secret,
		PrevSecret: r.PrevSecret, PrevUntil: r.PrevUntil, Disabled: r.Disabled, DisabledReason: r.DisabledReason,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := ws.CreateWebhook(ctx, w, nil); err != nil {
		return err
	}
	im.t.add(&im.t.c.Webhooks)
	return nil
}
