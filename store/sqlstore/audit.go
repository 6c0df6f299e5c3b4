package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/token"
)

const insertAuditSQL = `INSERT INTO audit (id, at, actor, action, target_type, target_id, outcome,
	request_id, detail, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// addAudit adds the insertion of ev to b, chained into the audit tree in
// the same transaction (auditchain.go), and of the idempotent answer it
// carries; a nil ev adds nothing. Callers add it after their update
// function ran, which may have filled ev.Detail.
func (db *DB) addAudit(b *batch, ev *token.AuditEvent) error {
	if ev == nil {
		return nil
	}
	e := db.enc()
	args := []any{ev.ID, e.time(ev.Time), ev.ActorKeyID, ev.Action, ev.TargetType, ev.TargetID,
		ev.Outcome, ev.RequestID, e.detail(ev.Detail)}
	if e.err != nil {
		return fmt.Errorf("audit event %s: %w", ev.ID, e.err)
	}
	if err := db.addChained(b, args); err != nil {
		return fmt.Errorf("audit event %s: %w", ev.ID, err)
	}
	db.addEvents(b, ev) // the webhook outbox, in the change's transaction
	if ev.Answer != nil {
		return db.addAnswer(b, ev.Answer)
	}
	return nil
}

// writeAudited runs statement q with args and stores ev, as one write.
func (db *DB) writeAudited(ctx context.Context, q string, args []any, ev *token.AuditEvent) error {
	b := &batch{}
	b.add(q, args...)
	if err := db.addAudit(b, ev); err != nil {
		return err
	}
	return db.e.write(ctx, b)
}

// AppendAudit stores one event on its own. An existing ID gives an error
// wrapping token.ErrConflict.
func (db *DB) AppendAudit(ctx context.Context, ev *token.AuditEvent) error {
	b := &batch{}
	err := db.addAudit(b, ev)
	if err == nil {
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("append audit: %w", err)
	}
	return nil
}

const selectAudit = `SELECT id, at, actor, action, target_type, target_id, outcome, request_id,
	detail FROM audit`

// scanAudit reads one row of selectAudit.
func (db *DB) scanAudit(s scanner) (*token.AuditEvent, error) {
	var (
		ev     token.AuditEvent
		d      = db.dec()
		at     sql.NullInt64
		detail sql.NullString
	)
	err := s.Scan(&ev.ID, &at, &ev.ActorKeyID, &ev.Action, &ev.TargetType, &ev.TargetID,
		&ev.Outcome, &ev.RequestID, &detail)
	if err != nil {
		return nil, err
	}
	ev.Time, ev.Detail = d.time(at), d.detail(detail)
	if d.err != nil {
		return nil, fmt.Errorf("event %s: %w", ev.ID, d.err)
	}
	return &ev, nil
}

// ListAudit returns up to f.Limit events (token.DefaultPageSize if it is not
// positive), newest (highest ID) first, and the cursor of the next page (""
// if none).
func (db *DB) ListAudit(ctx context.Context, f token.AuditFilter) ([]*token.AuditEvent, string, error) {
	var w where
	if f.Before != "" {
		w.add("id < " + w.arg(f.Before))
	}
	if f.Action != "" {
		w.add("action = " + w.arg(f.Action))
	}
	if f.TargetID != "" {
		w.add("target_id = " + w.arg(f.TargetID))
	}
	if f.ActorID != "" {
		w.add("actor = " + w.arg(f.ActorID))
	}
	limit := pageLimit(f.Limit)
	q := selectAudit + w.String() + " ORDER BY id DESC LIMIT " + w.arg(limit+1)
	evs, err := queryAll(ctx, db.e.reader(), q, w.args, db.scanAudit)
	if err != nil {
		return nil, "", db.errorf("list audit: %w", err)
	}
	evs, next := page(evs, limit, func(ev *token.AuditEvent) string { return ev.ID })
	return evs, next, nil
}
