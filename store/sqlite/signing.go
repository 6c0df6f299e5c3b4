package sqlite

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
	tx, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	defer tx.Rollback()
	var version int64
	err = tx.QueryRowContext(ctx, "SELECT COALESCE(max(version), 0) FROM signing_ring").Scan(&version)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT kid, alg, sealed, not_before, sign_until, retire_at,
		created_at FROM signing_keys ORDER BY not_before NULLS FIRST, kid`)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	defer rows.Close()
	var out []token.SigningKeyRecord
	for rows.Next() {
		var (
			r                                 token.SigningKeyRecord
			d                                 dec
			notBefore, signUntil, retire, cre sql.NullInt64
		)
		if err := rows.Scan(&r.KID, &r.Alg, &r.Sealed, &notBefore, &signUntil, &retire, &cre); err != nil {
			return nil, 0, fmt.Errorf("sqlite: signing keys: %w", err)
		}
		r.NotBefore, r.SignUntil, r.RetireAt, r.CreatedAt = d.time(notBefore), d.time(signUntil), d.time(retire), d.time(cre)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlite: signing keys: %w", err)
	}
	return out, version, nil
}

// SwapSigningKeys, if the ring is still at version, deletes the keys named
// in del, inserts or replaces (by KID) the records in put, appends evs and
// increments the version, in one write transaction. It returns the new
// version, or an error wrapping token.ErrConflict, having changed nothing,
// if the version moved on.
func (db *DB) SwapSigningKeys(ctx context.Context, version int64, put []token.SigningKeyRecord, del []string, evs []*token.AuditEvent) (int64, error) {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Compare-and-swap: version 0 is a ring never written, with no row.
		var res sql.Result
		var err error
		if version == 0 {
			res, err = tx.ExecContext(ctx, "INSERT INTO signing_ring (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING")
		} else {
			res, err = tx.ExecContext(ctx, "UPDATE signing_ring SET version = version + 1 WHERE id = 1 AND version = ?", version)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("%w: %w", token.ErrConflict, errStaleRing)
		}
		for _, kid := range del {
			if _, err := tx.ExecContext(ctx, "DELETE FROM signing_keys WHERE kid = ?", kid); err != nil {
				return fmt.Errorf("delete %s: %w", kid, err)
			}
		}
		for _, r := range put {
			var e enc
			args := []any{r.KID, r.Alg, nonNilBytes(r.Sealed), e.time(r.NotBefore), e.time(r.SignUntil),
				e.time(r.RetireAt), e.time(r.CreatedAt)}
			if e.err != nil {
				return fmt.Errorf("put %s: %w", r.KID, e.err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, alg, sealed, not_before,
				sign_until, retire_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (kid) DO UPDATE SET alg = excluded.alg, sealed = excluded.sealed,
				not_before = excluded.not_before, sign_until = excluded.sign_until,
				retire_at = excluded.retire_at, created_at = excluded.created_at`, args...)
			if err != nil {
				return fmt.Errorf("put %s: %w", r.KID, dbErr(err))
			}
		}
		for _, ev := range evs {
			if err := insertAudit(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: swap signing keys at version %d: %w", version, err)
	}
	return version + 1, nil
}

// nonNilBytes returns b, or an empty slice for nil: a NOT NULL BLOB column
// stores nil as NULL.
func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
