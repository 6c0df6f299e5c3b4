package web

import (
	"context"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/webhook"
)

// The console's operations pages: webhooks and their deliveries
// (admin_webhooks.go), leak reports (admin_leaks.go) and the audit chain's
// status on the audit log page (admin_auditchain.go). Each acts through
// the service the /v1 API calls, with the session's admin actor.

// OpsConfig configures the operations pages; a nil service hides its page
// and its entry in the console's navigation.
type OpsConfig struct {
	// Webhooks serves /ui/webhooks.
	Webhooks *webhook.Service
	// OnRedeliver is called after a delivery was made pending again (to
	// wake the dispatcher); nil: the next poll sends it.
	OnRedeliver func()
	// Leaks serves /ui/leaks.
	Leaks *leak.Service
	// AuditLog signs the audit chain's checkpoints: the audit page shows
	// the latest one and the verifier key.
	AuditLog *auditlog.Log
	// AuditSnapshot runs fn with a reader of the stored audit chain that
	// sees one snapshot of the database, as "latchkey audit verify" reads
	// it; nil: no "Verify the chain now" button.
	AuditSnapshot func(ctx context.Context, fn func(auditlog.Source) error) error
	// AuditSeqs returns the places in the chain of the audit records ids
	// (records without one are left out); nil: not shown.
	AuditSeqs func(ctx context.Context, ids []string) (map[string]int64, error)
	// VerifyTimeout bounds a verification started from the page (default
	// 20 s, under the server's write timeout).
	VerifyTimeout time.Duration
}

// opsState is the operations pages' services and the audit verification
// the page runs: one at a time, its last result kept in memory.
type opsState struct {
	OpsConfig
	verifying atomic.Bool
	mu        sync.Mutex
	last      *verifyResult
}

// opsNav says which operations pages exist, for the navigation.
type opsNav struct{ Webhooks, Leaks bool }

func (h *Handler) opsNav() opsNav {
	return opsNav{Webhooks: h.ops.Webhooks != nil, Leaks: h.ops.Leaks != nil}
}

// opsPages are the templates of the operations pages.
var opsPages = []string{"admin_webhooks", "admin_webhook", "admin_webhook_secret", "admin_webhook_delivery", "admin_leaks"}

// initOps parses the operations pages and adds their routes.
func (h *Handler) initOps(c OpsConfig, funcs template.FuncMap, routes map[string]func(http.ResponseWriter, *http.Request) error) error {
	h.ops.OpsConfig = c
	if h.ops.VerifyTimeout <= 0 {
		h.ops.VerifyTimeout = 20 * time.Second
	}
	for _, name := range opsPages {
		t, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return err
		}
		h.pages[name] = t
	}
	ops := map[string]func(http.ResponseWriter, *http.Request) error{
		"POST /ui/audit/verify": h.admin(h.verifyAudit),
	}
	if c.Webhooks != nil {
		ops["GET /ui/webhooks"] = h.admin(h.webhooksPage)
		ops["POST /ui/webhooks"] = h.admin(h.createWebhook)
		ops["GET /ui/webhooks/{id}"] = h.admin(h.webhookPage)
		ops["POST /ui/webhooks/{id}"] = h.admin(h.updateWebhook)
		ops["POST /ui/webhooks/{id}/enabled"] = h.admin(h.enableWebhook)
		ops["POST /ui/webhooks/{id}/rotate"] = h.admin(h.rotateWebhookSecret)
		ops["POST /ui/webhooks/{id}/delete"] = h.admin(h.deleteWebhook)
		ops["GET /ui/webhooks/{id}/deliveries/{did}"] = h.admin(h.webhookDeliveryPage)
		ops["POST /ui/webhooks/{id}/deliveries/{did}/redeliver"] = h.admin(h.redeliver)
	}
	if c.Leaks != nil {
		ops["GET /ui/leaks"] = h.admin(h.leaksPage)
	}
	for pattern, fn := range ops {
		routes[pattern] = fn
	}
	return nil
}

// webhookReturn is the page to go back to after a step-up asked for by
// an action at path under /ui/webhooks: the listing, or the webhook's page.
func webhookReturn(path string) string {
	id, _, _ := strings.Cut(strings.TrimPrefix(path, "/ui/webhooks/"), "/")
	if path == "/ui/webhooks" || id == "" || len(id) > 64 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
		return "/ui/webhooks"
	}
	return "/ui/webhooks/" + id
}
