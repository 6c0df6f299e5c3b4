package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/token"
)

// lockKey reads key id in tx and locks its row until tx ends: concurrent
// read-modify-writes of the key, on any node, wait for each other.
func lockKey(ctx context.Context, tx pgx.Tx, id string) (*token.Key, error) {
	return scanKey(tx.QueryRow(ctx, selectKey+" WHERE id = $1 FOR UPDATE", id))
}

// UpdateKey reads key id, applies fn and writes the result with ev, all in
// one transaction that holds the key's row lock. The stored Version is the
// one read plus one, whatever fn set; fn cannot change the ID. An error from
// fn aborts the update and is returned as it is. A missing key gives an
// error wrapping token.ErrNotFound without calling fn.
func (db *DB) UpdateKey(ctx context.Context, id string, fn func(*token.Key) error, ev *token.AuditEvent) (*token.Key, error) {
	var k *token.Key
	var fnErr error
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if k, err = lockKey(ctx, tx, id); err != nil {
			return err
		}
		version := k.Version
		if fnErr = fn(k); fnErr != nil {
			return fnErr
		}
		k.ID, k.Version = id, version+1
		args, err := keyArgs(k)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(updateKeySQL, args...)
		if err := queueAudit(b, ev); err != nil {
			return err
		}
		return execBatch(ctx, tx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: update key %s: %w", id, err)
	}
	return k, nil
}

// RotateKey reads key id, lets fn change it and return its successor, and
// writes both with ev in one transaction that holds the old key's row lock.
// The old key's Version is incremented; the successor is stored as fn
// returned it. An error from fn aborts and is returned as it is; a
// successor whose ID or digest exists gives an error wrapping
// token.ErrConflict.
func (db *DB) RotateKey(ctx context.Context, id string, fn func(old *token.Key) (*token.Key, error), ev *token.AuditEvent) (old, successor *token.Key, err error) {
	var fnErr error
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if old, err = lockKey(ctx, tx, id); err != nil {
			return err
		}
		version := old.Version
		if successor, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		if successor == nil {
			return errors.New("rotation returned no successor")
		}
		old.ID, old.Version = id, version+1
		args, err := keyArgs(old)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(updateKeySQL, args...)
		if err := queueInsertKey(b, successor); err != nil {
			return err
		}
		if err := queueAudit(b, ev); err != nil {
			return err
		}
		return execBatch(ctx, tx, b)
	})
	if fnErr != nil {
		return nil, nil, fnErr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: rotate key %s: %w", id, err)
	}
	return old, successor, nil
}

// DeleteKey removes key id and its usage counts, with ev, if pred returns
// nil for it. An error from pred is returned as it is; a missing key gives
// an error wrapping token.ErrNotFound without calling pred.
func (db *DB) DeleteKey(ctx context.Context, id string, pred func(*token.Key) error, ev *token.AuditEvent) error {
	var predErr error
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		k, err := lockKey(ctx, tx, id)
		if err != nil {
			return err
		}
		if predErr = pred(k); predErr != nil {
			return predErr
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO revoked_digests (digest, key_id, revoked_at)
			SELECT digest, id, revoked_at FROM keys WHERE id = $1 AND revoked_at IS NOT NULL
			ON CONFLICT (digest) DO NOTHING`, id)
		b.Queue("DELETE FROM keys WHERE id = $1", id)
		if err := queueAudit(b, ev); err != nil {
			return err
		}
		return execBatch(ctx, tx, b)
	})
	if predErr != nil {
		return predErr
	}
	if err != nil {
		return fmt.Errorf("postgres: delete key %s: %w", id, err)
	}
	return nil
}

// ImportKeys stores keys and their audit events in one transaction: all or
// nothing. It returns an error wrapping token.ErrConflict if any ID or
// digest already exists.
func (db *DB) ImportKeys(ctx context.Context, keys []*token.Key, evs []*token.AuditEvent) error {
	if len(keys) != len(evs) {
		return errors.New("postgres: import keys: one audit event per key")
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var digests [][]byte
		for _, k := range keys {
			if k.RevokedAt.IsZero() { // a key imported as revoked cannot verify
				digests = append(digests, k.Digest[:])
			}
		}
		// The lock serializes this check with DeleteKey's tombstone insert
		// (ROW EXCLUSIVE): either the tombstone is seen, or the key still
		// exists and the insert conflicts. Imports are rare.
		if _, err := tx.Exec(ctx, "LOCK TABLE revoked_digests IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		var revoked bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_digests WHERE digest = ANY($1))`, digests).Scan(&revoked); err != nil {
			return err
		}
		if revoked {
			return token.ErrDigestRevoked
		}
		b := &pgx.Batch{}
		for i, k := range keys {
			if err := queueInsertKey(b, k); err != nil {
				return fmt.Errorf("key %d: %w", i, err)
			}
			if err := queueAudit(b, evs[i]); err != nil {
				return err
			}
		}
		return execBatch(ctx, tx, b)
	})
	if err != nil {
		return fmt.Errorf("postgres: import %d keys: %w", len(keys), err)
	}
	return nil
}
