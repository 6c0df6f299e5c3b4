package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/token"
)

// insertAudit adds ev to the audit log; a nil ev adds nothing. It runs after
// the caller's update function, which may still have filled ev.Detail.
func insertAudit(ctx context.Context, q querier, ev *token.AuditEvent) error {
	if ev == nil {
		return nil
	}
	var e enc
	args := []any{ev.ID, e.time(ev.Time), ev.ActorKeyID, ev.Action, ev.TargetType, ev.TargetID,
		ev.Outcome, ev.RequestID, e.detail(ev.Detail)}
	if e.err != nil {
		return fmt.Errorf("audit event %s: %w", ev.ID, e.err)
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit (id, time, actor, action, target_type, target_id,
		outcome, request_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if err != nil {
		return fmt.Errorf("audit event %s: %w", ev.ID, dbErr(err))
	}
	if ev.Answer != nil {
		return insertAnswer(ctx, q, ev.Answer)
	}
	return nil
}

// AppendAudit stores one event on its own. An existing ID gives an error
// wrapping token.ErrConflict.
func (db *DB) AppendAudit(ctx context.Context, ev *token.AuditEvent) error {
	if err := insertAudit(ctx, db.w, ev); err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	return nil
}

// ListAudit returns up to f.Limit events (token.DefaultPageSize if it is not
// positive), newest (highest ID) first, and the cursor of the next page (""
// if none).
func (db *DB) ListAudit(ctx context.Context, f token.AuditFilter) ([]*token.AuditEvent, string, error) {
	var where []string
	var args []any
	add := func(cond string, a any) { where, args = append(where, cond), append(args, a) }
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if f.ActorID != "" {
		add("actor = ?", f.ActorID)
	}
	q := `SELECT id, time, actor, action, target_type, target_id, outcome, request_id, detail FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := pageLimit(f.Limit)
	rows, err := db.r.QueryContext(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list audit: %w", err)
	}
	defer rows.Close()
	var out []*token.AuditEvent
	for rows.Next() {
		var (
			ev     token.AuditEvent
			d      dec
			at     sql.NullInt64
			detail sql.NullString
		)
		err := rows.Scan(&ev.ID, &at, &ev.ActorKeyID, &ev.Action, &ev.TargetType, &ev.TargetID,
			&ev.Outcome, &ev.RequestID, &detail)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list audit: %w", err)
		}
		ev.Time, ev.Detail = d.time(at), d.detail(detail)
		if d.err != nil {
			return nil, "", fmt.Errorf("sqlite: list audit: event %s: %w", ev.ID, d.err)
		}
		out = append(out, &ev)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: list audit: %w", err)
	}
	out, next := page(out, limit, func(ev *token.AuditEvent) string { return ev.ID })
	return out, next, nil
}
