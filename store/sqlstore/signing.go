package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/token"
)

// errStaleRing aborts a swap whose version moved on.
var errStaleRing = errors.New("signing-key ring version moved on")

// SigningKeys returns every signing key, ordered by NotBefore (the zero
// time first) then KID, and the ring's version (0 if never written), both
// read from one snapshot.
func (db *DB) SigningKeys(ctx context.Context) ([]token.SigningKeyRecord, int64, error) {
	var out []token.SigningKeyRecord
	var version int64
	err := db.e.snapshot(ctx, func(q querier) error {
		if err := q.queryRow(ctx, "SELECT COALESCE(max(version), 0) FROM signing_ring").Scan(&version); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, q, `SELECT kid, alg, sealed, not_before, sign_until, retire_at, created_at
			FROM signing_keys ORDER BY not_before NULLS FIRST, kid`, nil,
			func(s scanner) (token.SigningKeyRecord, error) {
				var (
					r                                 token.SigningKeyRecord
					d                                 = db.dec()
					notBefore, signUntil, retire, cre sql.NullInt64
				)
				if err := s.Scan(&r.KID, &r.Alg, &r.Sealed, &notBefore, &signUntil, &retire, &cre); err != nil {
					return r, err
				}
				r.NotBefore, r.SignUntil, r.RetireAt, r.CreatedAt = d.time(notBefore), d.time(signUntil), d.time(retire), d.time(cre)
				return r, nil
			})
		return err
	})
	if err != nil {
		return nil, 0, db.errorf("signing keys: %w", err)
	}
	return out, version, nil
}

// SwapSigningKeys, if the ring is still at version, deletes the keys named
// in del, inserts or replaces (by KID) the records in put, appends evs and
// increments the version, in one transaction. It returns the new version,
// or an error wrapping token.ErrConflict, having changed nothing, if the
// version moved on. The version check is a conditional write on the ring's
// row: of concurrent swaps at one version, on any nodes, exactly one wins.
func (db *DB) SwapSigningKeys(ctx context.Context, version int64, put []token.SigningKeyRecord, del []string, evs []*token.AuditEvent) (int64, error) {
	err := db.e.inTx(ctx, func(q querier) error {
		// Version 0 is a ring never written, with no row. A concurrent
		// swap that got there first makes this one wait for its commit and
		// then match nothing.
		cas := "UPDATE signing_ring SET version = version + 1 WHERE id = 1 AND version = $1"
		args := []any{version}
		if version == 0 {
			cas, args = "INSERT INTO signing_ring (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING", nil
		}
		n, err := q.exec(ctx, cas, args...)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%w: %w", token.ErrConflict, errStaleRing)
		}
		b := &batch{}
		for _, kid := range del {
			b.add("DELETE FROM signing_keys WHERE kid = $1", kid)
		}
		for _, r := range put {
			e := db.enc()
			args := []any{r.KID, r.Alg, nonNilBytes(r.Sealed), e.time(r.NotBefore), e.time(r.SignUntil),
				e.time(r.RetireAt), e.time(r.CreatedAt)}
			if e.err != nil {
				return fmt.Errorf("put %s: %w", r.KID, e.err)
			}
			b.add(`INSERT INTO signing_keys (kid, alg, sealed, not_before, sign_until, retire_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (kid) DO UPDATE SET alg = excluded.alg, sealed = excluded.sealed,
				not_before = excluded.not_before, sign_until = excluded.sign_until,
				retire_at = excluded.retire_at, created_at = excluded.created_at`, args...)
		}
		for _, ev := range evs {
			if err := db.addAudit(b, ev); err != nil {
				return err
			}
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return 0, db.errorf("swap signing keys at version %d: %w", version, err)
	}
	return version + 1, nil
}
