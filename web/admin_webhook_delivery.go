package web

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/webhook"
)

// The page of one webhook delivery, /ui/webhooks/{id}/deliveries/{did}:
// every kept attempt, newest first (when, the receiver's status, how long,
// the error or the start of its answer, escaped by html/template), and
// Redeliver. It reads through webhook.Service.Delivery, as
// GET /v1/webhooks/{id}/deliveries/{did} does: webhooks:read, and a
// delivery of another webhook is 404.

// attemptRow is an attempt as the page shows it.
type attemptRow struct {
	webhook.AttemptRecord
	Took string // e.g. "120ms"
	When string // to the second: retries come seconds apart
}

func (h *Handler) webhookDeliveryPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.renderWebhookDelivery(w, r, c, http.StatusOK, "")
}

func (h *Handler) renderWebhookDelivery(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice string) error {
	ctx, id, did := r.Context(), r.PathValue("id"), r.PathValue("did")
	wh, err := h.ops.Webhooks.Get(ctx, c.actor, id)
	if err != nil {
		return err
	}
	d, err := h.ops.Webhooks.Delivery(ctx, c.actor, id, did)
	if err != nil {
		return err
	}
	rows := make([]attemptRow, 0, len(d.History))
	for _, a := range d.History {
		took := "under 1ms"
		if a.Duration >= time.Millisecond {
			took = a.Duration.Round(time.Millisecond).String()
		}
		rows = append(rows, attemptRow{AttemptRecord: a, Took: took, When: a.At.UTC().Format("2006-01-02 15:04:05 UTC")})
	}
	h.render(w, r, status, "admin_webhook_delivery", h.adminData(w, r, c, "webhooks", map[string]any{
		"Title": "Delivery " + d.ID, "Webhook": wh, "Delivery": d, "Attempts": rows, "Notice": notice}))
	return nil
}
