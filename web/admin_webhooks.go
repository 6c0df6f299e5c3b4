package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

// The webhooks pages: the list and a webhook's page with its deliveries.
// Reading needs webhooks:read, changing webhooks:write (the service
// checks both and audits refusals). Creating a webhook, pointing it at
// another URL, rotating its secret and deleting it need a second factor
// used in the last 5 minutes (SPEC §3.5): each decides where the events,
// or the proof of who sent them, go.

// webhookRow is a webhook in the list, with its newest delivery.
type webhookRow struct {
	*webhook.Webhook
	Last *webhook.Delivery
}

// eventChoice is an event type's checkbox.
type eventChoice struct {
	Name    string
	Checked bool
}

func eventChoices(checked []string) []eventChoice {
	out := make([]eventChoice, len(webhook.Events))
	for i, e := range webhook.Events {
		out[i] = eventChoice{e, slices.Contains(checked, e)}
	}
	return out
}

// stepUpWebhook is the step-up prompt of the webhook changes that need one.
const stepUpWebhook = "This change to a webhook needs a second factor used in the last 5 minutes. Confirm it, then make the change again."

// needStepUp reports whether the change may go ahead; if not, it has
// rendered the step-up page. An admin who may not change webhooks at all
// is left to the service's refusal (audited) rather than asked first.
func (h *Handler) needStepUp(w http.ResponseWriter, r *http.Request, c *adminCtx) (bool, error) {
	if !c.actor.May(token.ScopeWebhooksWrite) {
		return true, nil
	}
	if err := h.people.RequireStepUp(c.sess); err != nil {
		return false, h.stepUpPage(w, r, c.sess, c.user, http.StatusForbidden, stepUpWebhook)
	}
	return true, nil
}

func (h *Handler) webhooksPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.renderWebhooks(w, r, c, http.StatusOK, "", "")
}

func (h *Handler) renderWebhooks(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
	ctx := r.Context()
	ws, err := h.ops.Webhooks.List(ctx, c.actor)
	if err != nil {
		return err
	}
	rows := make([]webhookRow, 0, len(ws))
	for _, wh := range ws {
		ds, _, err := h.ops.Webhooks.Deliveries(ctx, c.actor, wh.ID, 0, 1)
		if err != nil {
			return err
		}
		row := webhookRow{Webhook: wh}
		if len(ds) > 0 {
			row.Last = ds[0]
		}
		rows = append(rows, row)
	}
	form := r.PostForm
	if form == nil {
		form = url.Values{}
	}
	h.render(w, r, status, "admin_webhooks", h.adminData(w, r, c, "webhooks", map[string]any{"Title": "Webhooks",
		"Webhooks": rows, "Events": eventChoices(form["events"]), "Form": form, "Notice": notice, "Error": errMsg,
		"Max": webhook.MaxWebhooks}))
	return nil
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if ok, err := h.needStepUp(w, r, c); !ok {
		return err
	}
	f := r.PostForm
	u, desc, evs := strings.TrimSpace(f.Get("url")), strings.TrimSpace(f.Get("description")), f["events"]
	if evs == nil {
		evs = []string{}
	}
	wh, sec, err := h.ops.Webhooks.Create(r.Context(), c.actor, webhook.Params{URL: &u, Events: &evs, Description: &desc})
	if err != nil {
		return h.formError(w, r, c, err, h.renderWebhooks)
	}
	return h.showWebhookSecret(w, r, c, wh, sec, http.StatusCreated, "The webhook was created.")
}

// showWebhookSecret is the show-once page of a webhook's signing secret: a
// POST answer (never a URL), not stored (Cache-Control: no-store).
func (h *Handler) showWebhookSecret(w http.ResponseWriter, r *http.Request, c *adminCtx, wh *webhook.Webhook, sec webhook.Secret, status int, what string) error {
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "admin_webhook_secret", h.adminData(w, r, c, "webhooks", map[string]any{
		"Title": "Copy the webhook's signing secret now", "Webhook": wh, "Secret": sec.Reveal(), "What": what}))
	return nil
}

func (h *Handler) webhookPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.renderWebhook(w, r, c, http.StatusOK, "", "")
}

func (h *Handler) renderWebhook(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
	ctx, id := r.Context(), r.PathValue("id")
	wh, err := h.ops.Webhooks.Get(ctx, c.actor, id)
	if err != nil {
		return err
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before <= 0 {
			before, status, errMsg = 0, http.StatusBadRequest, "That page of deliveries does not exist: showing the newest."
		}
	}
	ds, next, err := h.ops.Webhooks.Deliveries(ctx, c.actor, id, before, pageSize)
	if err != nil {
		return err
	}
	nextURL := ""
	if next > 0 {
		nextURL = "/ui/webhooks/" + url.PathEscape(id) + "?before=" + strconv.FormatInt(next, 10)
	}
	now := h.tokens.Now()
	d := map[string]any{"Title": "Webhook " + wh.ID, "Webhook": wh, "Events": eventChoices(wh.Events), "Deliveries": ds,
		"Next": nextURL, "Notice": notice, "Error": errMsg}
	if len(wh.PrevSecret) > 0 && now.Before(wh.PrevUntil) {
		d["PrevUntil"] = wh.PrevUntil
	}
	h.render(w, r, status, "admin_webhook", h.adminData(w, r, c, "webhooks", d))
	return nil
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	ctx, id := r.Context(), r.PathValue("id")
	cur, err := h.ops.Webhooks.Get(ctx, c.actor, id)
	if err != nil {
		return err
	}
	f := r.PostForm
	u, desc, evs := strings.TrimSpace(f.Get("url")), strings.TrimSpace(f.Get("description")), f["events"]
	if evs == nil {
		evs = []string{}
	}
	p := webhook.Params{Events: &evs, Description: &desc}
	if u != cur.URL {
		// Where the events go: as creating one.
		if ok, err := h.needStepUp(w, r, c); !ok {
			return err
		}
		p.URL = &u
	}
	if _, err := h.ops.Webhooks.Update(ctx, c.actor, id, p); err != nil {
		return h.formError(w, r, c, err, h.renderWebhook)
	}
	return h.renderWebhook(w, r, c, http.StatusOK, "The webhook was saved.", "")
}

func (h *Handler) enableWebhook(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	on := r.PostFormValue("enabled") == "true"
	if _, err := h.ops.Webhooks.Update(r.Context(), c.actor, r.PathValue("id"), webhook.Params{Enabled: &on}); err != nil {
		return h.formError(w, r, c, err, h.renderWebhook)
	}
	notice := "The webhook was disabled: events are kept for it but not sent."
	if on {
		notice = "The webhook was enabled: its waiting deliveries go out now."
	}
	return h.renderWebhook(w, r, c, http.StatusOK, notice, "")
}

func (h *Handler) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if ok, err := h.needStepUp(w, r, c); !ok {
		return err
	}
	grace := time.Duration(-1) // the default
	if v := strings.TrimSpace(r.PostFormValue("grace")); v != "" {
		g, err := api.ParseDuration(v)
		if err != nil {
			return h.renderWebhook(w, r, c, http.StatusBadRequest, "", "Keep the old secret for: a duration such as 24h or 7d, or 0 for not at all.")
		}
		grace = g
	}
	wh, sec, err := h.ops.Webhooks.RotateSecret(r.Context(), c.actor, r.PathValue("id"), grace)
	if err != nil {
		return h.formError(w, r, c, err, h.renderWebhook)
	}
	what := "The webhook has a new signing secret; deliveries are no longer signed with the old one."
	if !wh.PrevUntil.IsZero() && len(wh.PrevSecret) > 0 {
		what = "The webhook has a new signing secret; deliveries carry a signature with the old one too until " +
			wh.PrevUntil.UTC().Format("2006-01-02 15:04 UTC") + "."
	}
	return h.showWebhookSecret(w, r, c, wh, sec, http.StatusOK, what)
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if ok, err := h.needStepUp(w, r, c); !ok {
		return err
	}
	if err := h.ops.Webhooks.Delete(r.Context(), c.actor, r.PathValue("id")); err != nil {
		return h.formError(w, r, c, err, h.renderWebhook)
	}
	return h.renderWebhooks(w, r, c, http.StatusOK, "The webhook was deleted, with its deliveries.", "")
}

func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	d, err := h.ops.Webhooks.Redeliver(r.Context(), c.actor, r.PathValue("id"), r.PathValue("did"))
	if err != nil {
		return h.formError(w, r, c, err, h.renderWebhook)
	}
	if h.ops.OnRedeliver != nil {
		h.ops.OnRedeliver()
	}
	notice := "Delivery " + d.ID + " will be sent again in a moment, with the same webhook-id."
	if r.PostFormValue("back") == "delivery" {
		return h.renderWebhookDelivery(w, r, c, http.StatusOK, notice)
	}
	return h.renderWebhook(w, r, c, http.StatusOK, notice, "")
}
