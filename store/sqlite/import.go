package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/token"
)

// tombstoneSQL keeps the digest of revoked key ? before it is deleted.
const tombstoneSQL = `INSERT INTO revoked_digests (digest, key_id, revoked_at)
	SELECT digest, id, revoked_at FROM keys WHERE id = ? AND revoked_at IS NOT NULL
	ON CONFLICT (digest) DO NOTHING`

// ImportKeys stores keys and their audit events in one transaction: all or
// nothing. It returns an error wrapping token.ErrConflict if any ID or
// digest already exists.
func (db *DB) ImportKeys(ctx context.Context, keys []*token.Key, evs []*token.AuditEvent) error {
	if len(keys) != len(evs) {
		return errors.New("sqlite: import keys: one audit event per key")
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, insertKeySQL)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, k := range keys {
			if k.RevokedAt.IsZero() { // a key imported as revoked cannot verify
				var one int
				switch err := tx.QueryRowContext(ctx, "SELECT 1 FROM revoked_digests WHERE digest = ?", k.Digest[:]).Scan(&one); {
				case err == nil:
					return fmt.Errorf("key %d: %w", i, token.ErrDigestRevoked)
				case !errors.Is(err, sql.ErrNoRows):
					return err
				}
			}
			args, err := keyArgs(k)
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("key %d: %w", i, dbErr(err))
			}
			if err := insertAudit(ctx, tx, evs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: import %d keys: %w", len(keys), err)
	}
	return nil
}
