package server

import (
	"context"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/web"
	"github.com/latchkey/latchkey/webhook"
)

// consoleOps wires the console's operations pages: the webhook and leak
// services the API uses, and the audit chain as "latchkey audit verify"
// reads it (one snapshot of the store).
func consoleOps(db token.Store, hooks *webhook.Service, wake func(), leaks *leak.Service, audit *auditlog.Log) web.OpsConfig {
	c := web.OpsConfig{Webhooks: hooks, OnRedeliver: wake, Leaks: leaks, AuditLog: audit}
	if sdb, ok := db.(*sqlstore.DB); ok {
		c.AuditSnapshot = func(ctx context.Context, fn func(auditlog.Source) error) error {
			return sdb.ReadAudit(ctx, func(r *sqlstore.AuditReader) error { return fn(r) })
		}
		c.AuditSeqs = sdb.AuditSource().Seqs
	}
	return c
}
