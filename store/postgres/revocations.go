package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/latchkey/latchkey/token"
)

// Revocations returns up to limit revocations (token.DefaultPageSize if it
// is not positive) with Seq > after and At >= since (the zero time: any),
// in Seq order. The migration's triggers write them in the transaction of
// the change, drawing Seq under a lock held until commit, so that Seq order
// is commit order.
func (db *DB) Revocations(ctx context.Context, after int64, since time.Time, limit int) ([]token.Revocation, error) {
	out, err := queryAll(ctx, db, `SELECT seq, kind, subject, at FROM revocations
		WHERE seq > $1 AND at >= $2 ORDER BY seq LIMIT $3`,
		[]any{after, lowerBound(since), pageLimit(limit)}, scanRevocation)
	if err != nil {
		return nil, fmt.Errorf("postgres: revocations: %w", err)
	}
	return out, nil
}

func scanRevocation(s scanner) (token.Revocation, error) {
	var r token.Revocation
	var kind string
	var at int64
	if err := s.Scan(&r.Seq, &kind, &r.Subject, &at); err != nil {
		return r, dbErr(err)
	}
	r.Kind, r.At = token.RevocationKind(kind), time.Unix(0, at).UTC()
	return r, nil
}

// RevocationHead returns the highest Seq written, 0 when none.
func (db *DB) RevocationHead(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.pool.QueryRow(ctx, "SELECT COALESCE(max(seq), 0) FROM revocations").Scan(&seq); err != nil {
		return 0, fmt.Errorf("postgres: revocation head: %w", dbErr(err))
	}
	return seq, nil
}

// lowerBound returns t as a bound on stored times: the zero time and
// times before the storable range bound nothing, later ones are clamped.
func lowerBound(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
