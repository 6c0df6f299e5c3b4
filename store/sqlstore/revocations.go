package sqlstore

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/token"
)

// Revocations returns up to limit revocations (token.DefaultPageSize if it
// is not positive) with Seq > after and At >= since (the zero time: any),
// in Seq order. The migrations' triggers write them in the transaction of
// the change, so that no change can be missed; Seq order is commit order
// (SQLite has one writer; on PostgreSQL a transaction draws its Seq under
// an advisory lock held until it commits).
func (db *DB) Revocations(ctx context.Context, after int64, since time.Time, limit int) ([]token.Revocation, error) {
	out, err := queryAll(ctx, db.e.reader(), `SELECT seq, kind, subject, at FROM revocations
		WHERE seq > $1 AND at >= $2 ORDER BY seq LIMIT $3`,
		[]any{after, lowerBound(since), pageLimit(limit)}, scanRevocation)
	if err != nil {
		return nil, db.errorf("revocations: %w", err)
	}
	return out, nil
}

func scanRevocation(s scanner) (token.Revocation, error) {
	var r token.Revocation
	var kind string
	var at int64
	if err := s.Scan(&r.Seq, &kind, &r.Subject, &at); err != nil {
		return r, err
	}
	r.Kind, r.At = token.RevocationKind(kind), time.Unix(0, at).UTC()
	return r, nil
}

// RevocationHead returns the highest Seq written, 0 when none.
func (db *DB) RevocationHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.e.reader().queryRow(ctx, "SELECT COALESCE(max(seq), 0) FROM revocations").Scan(&seq); err != nil {
		return 0, db.errorf("revocation head: %w", err)
	}
	return seq, nil
}
