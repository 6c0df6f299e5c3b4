package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM signing_ring").Scan(&version); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT kid, alg, sealed, not_before, sign_until, retire_at, created_at
			FROM signing_keys ORDER BY not_before NULLS FIRST, kid`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r                                 token.SigningKeyRecord
				d                                 dec
				notBefore, signUntil, retire, cre *int64
			)
			if err := rows.Scan(&r.KID, &r.Alg, &r.Sealed, &notBefore, &signUntil, &retire, &cre); err != nil {
				return err
			}
			r.NotBefore, r.SignUntil, r.RetireAt, r.CreatedAt = d.time(notBefore), d.time(signUntil), d.time(retire), d.time(cre)
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: signing keys: %w", dbErr(err))
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
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		// Version 0 is a ring never written, with no row. A concurrent
		// swap that got there first makes this one wait for its commit and
		// then match nothing.
		cas := "UPDATE signing_ring SET version = version + 1 WHERE id = 1 AND version = $1"
		args := []any{version}
		if version == 0 {
			cas, args = "INSERT INTO signing_ring (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING", nil
		}
		tag, err := tx.Exec(ctx, cas, args...)
		if err != nil {
			return dbErr(err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: %w", token.ErrConflict, errStaleRing)
		}
		b := &pgx.Batch{}
		if len(del) > 0 {
			b.Queue("DELETE FROM signing_keys WHERE kid = ANY($1)", del)
		}
		for _, r := range put {
			var e enc
			sealed := r.Sealed
			if sealed == nil {
				sealed = []byte{} // NOT NULL: nil would be NULL
			}
			args := []any{r.KID, r.Alg, sealed, e.time(r.NotBefore), e.time(r.SignUntil),
				e.time(r.RetireAt), e.time(r.CreatedAt)}
			if e.err != nil {
				return fmt.Errorf("put %s: %w", r.KID, e.err)
			}
			b.Queue(`INSERT INTO signing_keys (kid, alg, sealed, not_before, sign_until, retire_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (kid) DO UPDATE SET (alg, sealed, not_before, sign_until, retire_at, created_at) =
				(excluded.alg, excluded.sealed, excluded.not_before, excluded.sign_until, excluded.retire_at,
				excluded.created_at)`, args...)
		}
		for _, ev := range evs {
			if err := queueAudit(b, ev); err != nil {
				return err
			}
		}
		if b.Len() == 0 {
			return nil
		}
		return execBatch(ctx, tx, b)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: swap signing keys at version %d: %w", version, err)
	}
	return version + 1, nil
}
