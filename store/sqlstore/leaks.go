package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/token"
)

// The storage of package leak (migration 00025): kept leak reports, never
// the token, and the lookup of a reported client secret by its digest.

var _ leak.Store = (*DB)(nil)

const leakColumns = `id, at, source, url, address, token_start, kind, target_id, outcome`

// AddLeakReport stores r and ev as one write.
func (db *DB) AddLeakReport(ctx context.Context, r *leak.Report, ev *token.AuditEvent) error {
	e := db.enc()
	args := []any{r.ID, e.time(r.Time), r.Source, r.URL, r.Address, r.Start, r.Kind, r.TargetID, r.Outcome}
	if e.err != nil {
		return db.errorf("leak report %s: %w", r.ID, e.err)
	}
	q := "INSERT INTO leak_reports (" + leakColumns + ") VALUES (" + placeholders(1, 9) + ")"
	if err := db.writeAudited(ctx, q, args, ev); err != nil {
		return db.errorf("add leak report %s: %w", r.ID, err)
	}
	return nil
}

func (db *DB) scanLeak(s scanner) (*leak.Report, error) {
	var (
		r  leak.Report
		at sql.NullInt64
		d  = db.dec()
	)
	if err := s.Scan(&r.ID, &at, &r.Source, &r.URL, &r.Address, &r.Start, &r.Kind, &r.TargetID, &r.Outcome); err != nil {
		return nil, err
	}
	r.Time = d.time(at)
	if d.err != nil {
		return nil, fmt.Errorf("leak report %s: %w", r.ID, d.err)
	}
	return &r, nil
}

// LeakReports returns up to f.Limit reports (token.DefaultPageSize if it
// is not positive), newest (highest ID) first, and the cursor of the next
// page ("" if none).
func (db *DB) LeakReports(ctx context.Context, f leak.Filter) ([]*leak.Report, string, error) {
	var w where
	if f.Before != "" {
		w.add("id < " + w.arg(f.Before))
	}
	limit := pageLimit(f.Limit)
	q := "SELECT " + leakColumns + " FROM leak_reports" + w.String() + " ORDER BY id DESC LIMIT " + w.arg(limit+1)
	rs, err := queryAll(ctx, db.e.reader(), q, w.args, db.scanLeak)
	if err != nil {
		return nil, "", db.errorf("list leak reports: %w", err)
	}
	rs, next := page(rs, limit, func(r *leak.Report) string { return r.ID })
	return rs, next, nil
}

// ClientBySecretDigest returns the ID of the app whose current or previous
// client secret has digest d, or an error wrapping token.ErrNotFound.
func (db *DB) ClientBySecretDigest(ctx context.Context, d []byte) (string, error) {
	var id string
	err := db.e.reader().queryRow(ctx, `SELECT app_id FROM oauth_clients WHERE secret_digest = $1
		UNION SELECT app_id FROM oauth_clients WHERE prev_secret_digest = $1 LIMIT 1`, d).Scan(&id)
	if err != nil {
		return "", db.errorf("OAuth client by secret digest: %w", err)
	}
	return id, nil
}
