package sqlstore

import (
	"context"

	"github.com/latchkey/latchkey/token"
)

// Kept secrets of recoverable keys (table key_secrets): the plaintext
// sealed with the master key, one row per key, never part of the keys row
// that verification reads. Rows go with their key (ON DELETE CASCADE), with
// its revocation, and with the keyspace's recoverable setting.

// addKeepSecret adds, after the insertion of k, the row of its sealed
// secret — if it has one and its keyspace is still recoverable when the
// batch runs: the keyspace row is read with a shared lock, so a concurrent
// change of the setting either waits for this batch (and then deletes the
// row) or is seen (and nothing is kept).
// A revoked key keeps nothing (an import may carry one).
func (db *DB) addKeepSecret(b *batch, k *token.Key) {
	if len(k.SealedSecret) == 0 || !k.RevokedAt.IsZero() {
		return
	}
	b.add(`INSERT INTO key_secrets (key_id, sealed)
		SELECT $1, $2 FROM keyspaces WHERE name = $3 AND recoverable`+db.d.lockKeep,
		k.ID, k.SealedSecret, k.Keyspace)
}

// addDropRevokedSecret adds the deletion of the kept secret of k if k is
// revoked: a revoked key never verifies again, so its plaintext has no use
// left.
func addDropRevokedSecret(b *batch, k *token.Key) {
	if !k.RevokedAt.IsZero() {
		b.add("DELETE FROM key_secrets WHERE key_id = $1", k.ID)
	}
}

// dropKeyspaceSecretsSQL deletes the kept secrets of keyspace $1's keys.
const dropKeyspaceSecretsSQL = `DELETE FROM key_secrets WHERE key_id IN (SELECT id FROM keys WHERE keyspace = $1)`

// KeySecret returns the sealed secret kept for key id, or an error
// wrapping token.ErrNotFound if none is kept.
func (db *DB) KeySecret(ctx context.Context, id string) ([]byte, error) {
	var sealed []byte
	if err := db.e.reader().queryRow(ctx, "SELECT sealed FROM key_secrets WHERE key_id = $1", id).Scan(&sealed); err != nil {
		return nil, db.errorf("get kept secret of key %s: %w", id, err)
	}
	return sealed, nil
}
