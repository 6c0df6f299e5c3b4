package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/token"
)

// The storage of package leak (migrations 00025 and 00028): kept leak
// reports, never the token; the reports pending until the worker handles
// them, by the token's digest; and the lookup of a reported client secret
// by its digest.

var _ leak.Store = (*DB)(nil)

const leakColumns = `id, at, source, url, address, token_start, kind, target_id, outcome`

// AddLeakReport stores r and ev as one write, and removes the pending
// report of the same ID (00028): a pending report is handled exactly once.
func (db *DB) AddLeakReport(ctx context.Context, r *leak.Report, ev *token.AuditEvent) error {
	e := db.enc()
	args := []any{r.ID, e.time(r.Time), r.Source, r.URL, r.Address, r.Start, r.Kind, r.TargetID, r.Outcome}
	if e.err != nil {
		return db.errorf("leak report %s: %w", r.ID, e.err)
	}
	b := &batch{}
	b.add("INSERT INTO leak_reports ("+leakColumns+") VALUES ("+placeholders(1, 9)+")", args...)
	b.add("DELETE FROM leak_pending WHERE id = $1", r.ID)
	err := db.addAudit(b, ev)
	if err == nil {
		err = db.e.write(ctx, b)
	}
	if err != nil {
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

const pendingColumns = `id, at, digest, prefix, token_start, source, url, address, request_id, claimed_until, attempts`

// AddPendingLeak keeps p, free to claim, unless max reports are pending:
// then leak.ErrBusy. The count stops at max (a bounded scan). On SQLite
// the one writer makes the bound exact; on PostgreSQL concurrent
// submissions may pass it by a few.
func (db *DB) AddPendingLeak(ctx context.Context, p *leak.Pending, max int) error {
	e := db.enc()
	args := []any{p.ID, e.required("pending leak report", p.Time), e.digest("token", p.Digest[:]), p.Prefix, p.Start,
		p.Origin.Source, p.Origin.URL, p.Origin.Address, p.Origin.RequestID, 0, 0}
	if e.err != nil {
		return db.errorf("pending leak report %s: %w", p.ID, e.err)
	}
	err := db.e.inTx(ctx, func(q querier) error {
		var n int
		if err := q.queryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM leak_pending LIMIT "+strconv.Itoa(max)+") AS p").Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return leak.ErrBusy
		}
		_, err := q.exec(ctx, "INSERT INTO leak_pending ("+pendingColumns+") VALUES ("+placeholders(1, 11)+")", args...)
		return err
	})
	if err != nil {
		return db.errorf("add pending leak report %s: %w", p.ID, err)
	}
	return nil
}

func (db *DB) scanPending(s scanner) (*leak.Pending, error) {
	var (
		p           leak.Pending
		at, claimed sql.NullInt64
		digest      []byte
		d           = db.dec()
	)
	if err := s.Scan(&p.ID, &at, &digest, &p.Prefix, &p.Start, &p.Origin.Source, &p.Origin.URL, &p.Origin.Address,
		&p.Origin.RequestID, &claimed, &p.Attempts); err != nil {
		return nil, err
	}
	if copy(p.Digest[:], digest) != len(p.Digest) {
		return nil, fmt.Errorf("pending leak report %s: a digest of %d bytes", p.ID, len(digest))
	}
	p.Time = d.time(at)
	if claimed.Int64 != 0 {
		p.ClaimedUntil = d.time(claimed)
	}
	if d.err != nil {
		return nil, fmt.Errorf("pending leak report %s: %w", p.ID, d.err)
	}
	return &p, nil
}

// ClaimPendingLeaks leases up to limit free pending reports until
// leaseUntil, oldest first. As ClaimDeliveries: the candidates are a
// materialized CTE, locked with SKIP LOCKED on PostgreSQL so that nodes
// claim different rows without waiting, and the lease condition is
// checked again in the outer WHERE.
func (db *DB) ClaimPendingLeaks(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*leak.Pending, error) {
	skip := ""
	if db.d.lockRow != "" {
		skip = db.d.lockRow + " SKIP LOCKED"
	}
	cols := "leak_pending." + strings.ReplaceAll(pendingColumns, ", ", ", leak_pending.")
	q := `WITH c AS MATERIALIZED (SELECT id FROM leak_pending WHERE claimed_until <= $1 ORDER BY id LIMIT $3` + skip + `)
	UPDATE leak_pending SET (claimed_until, attempts) = ($2, attempts + 1) FROM c
	WHERE leak_pending.id = c.id AND leak_pending.claimed_until <= $1
	RETURNING ` + cols
	ps, err := queryAll(ctx, db.e.writer(), q, []any{now.UnixNano(), leaseUntil.UnixNano(), limit}, db.scanPending)
	if err != nil {
		return nil, db.errorf("claim pending leak reports: %w", err)
	}
	slices.SortFunc(ps, func(a, b *leak.Pending) int { return strings.Compare(a.ID, b.ID) })
	return ps, nil
}

// RetryPendingLeak moves the lease of pending report id to at, if it is
// still leased until claimedUntil.
func (db *DB) RetryPendingLeak(ctx context.Context, id string, claimedUntil, at time.Time) error {
	_, err := db.e.writer().exec(ctx, "UPDATE leak_pending SET claimed_until = $3 WHERE id = $1 AND claimed_until = $2",
		id, claimedUntil.UnixNano(), at.UnixNano())
	if err != nil {
		return db.errorf("postpone pending leak report %s: %w", id, err)
	}
	return nil
}

// PendingLeaks returns how many reports are pending with an ID up to upTo
// ("": all) and the highest of their IDs ("" if none).
func (db *DB) PendingLeaks(ctx context.Context, upTo string) (int, string, error) {
	var w where
	if upTo != "" {
		w.add("id <= " + w.arg(upTo))
	}
	var (
		n    int
		last sql.NullString
	)
	if err := db.e.reader().queryRow(ctx, "SELECT count(*), max(id) FROM leak_pending"+w.String(), w.args...).Scan(&n, &last); err != nil {
		return 0, "", db.errorf("count pending leak reports: %w", err)
	}
	return n, last.String, nil
}
