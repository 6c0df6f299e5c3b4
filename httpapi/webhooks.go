package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/webhook"
)

// errNoWebhooks answers the webhook routes of a handler without them.
var errNoWebhooks = &httpError{status: http.StatusNotFound, code: "no_route", msg: "webhooks are not configured"}

// webhookRoutes are the /v1/webhooks endpoints. They take management
// credentials only; the /v1 API has no sign-in sessions, so the step-up
// rule of changes through a session (SPEC §3.5) applies to the pages that
// will offer these changes.
func (h *Handler) webhookRoutes() []route {
	return []route{
		{"POST /v1/webhooks", h.authed(h.createWebhook)},
		{"GET /v1/webhooks", h.authed(h.listWebhooks)},
		{"GET /v1/webhooks/{id}", h.authed(h.getWebhook)},
		{"PATCH /v1/webhooks/{id}", h.authed(h.updateWebhook)},
		{"DELETE /v1/webhooks/{id}", h.authed(h.deleteWebhook)},
		{"POST /v1/webhooks/{id}/rotate-secret", h.authed(h.rotateWebhookSecret)},
		{"GET /v1/webhooks/{id}/deliveries", h.authed(h.listWebhookDeliveries)},
		{"GET /v1/webhooks/{id}/deliveries/{did}", h.authed(h.getWebhookDelivery)},
		{"POST /v1/webhooks/{id}/deliveries/{did}/redeliver", h.authed(h.redeliverWebhook)},
	}
}

func apiWebhook(w *webhook.Webhook, secret string, now time.Time) api.Webhook {
	out := api.Webhook{ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Enabled: !w.Disabled,
		DisabledReason: w.DisabledReason, Secret: secret, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
	if out.Events == nil {
		out.Events = []string{}
	}
	if len(w.PrevSecret) > 0 && now.Before(w.PrevUntil) {
		out.PrevSecretExpires = timePtr(w.PrevUntil)
	}
	return out
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	var req api.CreateWebhookRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	if req.Events == nil {
		req.Events = []string{}
	}
	wh, sec, err := h.webhooks.Create(r.Context(), actorFrom(r.Context()), webhook.Params{URL: &req.URL, Events: &req.Events,
		Description: &req.Description, Enabled: req.Enabled})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiWebhook(wh, sec.Reveal(), h.svc.Now()))
	return nil
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	ws, err := h.webhooks.List(r.Context(), actorFrom(r.Context()))
	if err != nil {
		return err
	}
	out := api.WebhookList{Webhooks: make([]api.Webhook, 0, len(ws))}
	for _, wh := range ws {
		out.Webhooks = append(out.Webhooks, apiWebhook(wh, "", h.svc.Now()))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	wh, err := h.webhooks.Get(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiWebhook(wh, "", h.svc.Now()))
	return nil
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	var req api.UpdateWebhookRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	wh, err := h.webhooks.Update(r.Context(), actorFrom(r.Context()), r.PathValue("id"), webhook.Params{URL: req.URL,
		Events: req.Events, Description: req.Description, Enabled: req.Enabled})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiWebhook(wh, "", h.svc.Now()))
	return nil
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	if err := h.webhooks.Delete(r.Context(), actorFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	var req api.RotateWebhookSecretRequest
	if err := decode(r, &req, true); err != nil {
		return err
	}
	grace := time.Duration(-1) // the default
	if req.Grace != "" {
		g, err := api.ParseDuration(req.Grace)
		if err != nil {
			return badRequest("bad_grace", "grace must be a duration such as 24h, or 0s")
		}
		grace = g
	}
	wh, sec, err := h.webhooks.RotateSecret(r.Context(), actorFrom(r.Context()), r.PathValue("id"), grace)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiWebhook(wh, sec.Reveal(), h.svc.Now()))
	return nil
}

func apiDelivery(d *webhook.Delivery) api.WebhookDelivery {
	out := api.WebhookDelivery{ID: d.ID, Event: d.Type, State: d.State, Attempts: d.Attempts, CreatedAt: d.CreatedAt.UTC(),
		LastAttemptAt: timePtr(d.LastAttemptAt), LastStatus: d.LastStatus, LastError: d.LastError, DeliveredAt: timePtr(d.DeliveredAt)}
	if d.State == webhook.Pending {
		out.NextAttemptAt = timePtr(d.NextAttemptAt)
	}
	if d.Attempts > 0 {
		out.LastDuration = d.LastDuration.Round(time.Millisecond).String()
	}
	return out
}

func (h *Handler) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	var before int64
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			return badRequest("bad_cursor", "cursor must be a next_cursor of this list")
		}
		before = n
	}
	limit := 50
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return badRequest("bad_limit", "limit must be 1 to 100")
		}
		limit = n
	}
	ds, next, err := h.webhooks.Deliveries(r.Context(), actorFrom(r.Context()), r.PathValue("id"), before, limit)
	if err != nil {
		return err
	}
	out := api.WebhookDeliveryList{Deliveries: make([]api.WebhookDelivery, 0, len(ds))}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, apiDelivery(d))
	}
	if next > 0 {
		out.NextCursor = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getWebhookDelivery answers a delivery with every kept attempt, newest
// first.
func (h *Handler) getWebhookDelivery(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	d, err := h.webhooks.Delivery(r.Context(), actorFrom(r.Context()), r.PathValue("id"), r.PathValue("did"))
	if err != nil {
		return err
	}
	out := apiDelivery(d)
	out.AttemptLog = make([]api.WebhookAttempt, 0, len(d.History))
	for _, a := range d.History {
		out.AttemptLog = append(out.AttemptLog, api.WebhookAttempt{Number: a.N, StartedAt: a.At.UTC(),
			Duration: a.Duration.Round(time.Millisecond).String(), Status: a.Status, Error: a.Error,
			Response: a.Response, Redelivery: a.Redelivery})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) redeliverWebhook(w http.ResponseWriter, r *http.Request) error {
	if h.webhooks == nil {
		return errNoWebhooks
	}
	d, err := h.webhooks.Redeliver(r.Context(), actorFrom(r.Context()), r.PathValue("id"), r.PathValue("did"))
	if err != nil {
		return err
	}
	if h.onRedeliver != nil {
		h.onRedeliver()
	}
	writeJSON(w, http.StatusAccepted, apiDelivery(d))
	return nil
}
