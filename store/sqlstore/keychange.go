package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/token"
)

// lockKey reads key id in a write transaction and locks its row until the
// transaction ends: concurrent read-modify-writes of the key, on any node,
// wait for each other.
func (db *DB) lockKey(ctx context.Context, q querier, id string) (*token.Key, error) {
	return db.scanKey(q.queryRow(ctx, selectKey+" WHERE id = $1"+db.d.lockRow, id))
}

// UpdateKey reads key id, applies fn and writes the result with ev, all in
// one transaction that holds the key's row lock. The stored Version is the
// one read plus one, whatever fn set; fn cannot change the ID. An error from
// fn aborts the update and is returned as it is. A missing key gives an
// error wrapping token.ErrNotFound without calling fn.
func (db *DB) UpdateKey(ctx context.Context, id string, fn func(*token.Key) error, ev *token.AuditEvent) (*token.Key, error) {
	var k *token.Key
	var fnErr error
	err := db.e.inTx(ctx, func(q querier) error {
		var err error
		if k, err = db.lockKey(ctx, q, id); err != nil {
			return err
		}
		version := k.Version
		if fnErr = fn(k); fnErr != nil {
			return fnErr
		}
		k.ID, k.Version = id, version+1
		b := &batch{}
		if err := db.addUpdateKey(b, k); err != nil {
			return err
		}
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, db.errorf("update key %s: %w", id, err)
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
	err = db.e.inTx(ctx, func(q querier) error {
		var err error
		if old, err = db.lockKey(ctx, q, id); err != nil {
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
		b := &batch{}
		if err := db.addUpdateKey(b, old); err != nil {
			return err
		}
		if err := db.addInsertKey(b, successor); err != nil {
			return err
		}
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if fnErr != nil {
		return nil, nil, fnErr
	}
	if err != nil {
		return nil, nil, db.errorf("rotate key %s: %w", id, err)
	}
	return old, successor, nil
}

// tombstoneSQL keeps the digest of revoked key $1 before it is deleted.
const tombstoneSQL = `INSERT INTO revoked_digests (digest, key_id, revoked_at)
	SELECT digest, id, revoked_at FROM keys WHERE id = $1 AND revoked_at IS NOT NULL
	ON CONFLICT (digest) DO NOTHING`

// DeleteKey removes key id and its usage counts, with ev, if pred returns
// nil for it; a revoked key leaves the tombstone of its digest. An error
// from pred is returned as it is; a missing key gives an error wrapping
// token.ErrNotFound without calling pred.
func (db *DB) DeleteKey(ctx context.Context, id string, pred func(*token.Key) error, ev *token.AuditEvent) error {
	var predErr error
	err := db.e.inTx(ctx, func(q querier) error {
		k, err := db.lockKey(ctx, q, id)
		if err != nil {
			return err
		}
		if predErr = pred(k); predErr != nil {
			return predErr
		}
		b := &batch{}
		b.add(tombstoneSQL, id)
		b.add("DELETE FROM keys WHERE id = $1", id)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if predErr != nil {
		return predErr
	}
	if err != nil {
		return db.errorf("delete key %s: %w", id, err)
	}
	return nil
}

// ImportKeys stores keys and their audit events in one transaction: all or
// nothing. It returns an error wrapping token.ErrConflict if any ID or
// digest already exists, and token.ErrDigestRevoked if a key that is not
// revoked has the digest of a revoked one.
func (db *DB) ImportKeys(ctx context.Context, keys []*token.Key, evs []*token.AuditEvent) error {
	if len(keys) != len(evs) {
		return db.errorf("import keys: one audit event per key")
	}
	err := db.e.inTx(ctx, func(q querier) error {
		if db.d.lockTombstones != "" {
			// Serializes this check with DeleteKey's tombstone insert:
			// either the tombstone is seen, or the key still exists and the
			// insert conflicts. Imports are rare.
			if _, err := q.exec(ctx, db.d.lockTombstones); err != nil {
				return err
			}
		}
		var live []int // keys imported as revoked cannot verify: not checked
		for i, k := range keys {
			if k.RevokedAt.IsZero() {
				live = append(live, i)
			}
		}
		err := chunks(len(live), func(lo, hi int) error {
			args := make([]any, 0, hi-lo)
			for _, i := range live[lo:hi] {
				args = append(args, keys[i].Digest[:])
			}
			var digest []byte
			err := q.queryRow(ctx, "SELECT digest FROM revoked_digests WHERE digest IN ("+
				placeholders(1, len(args))+") LIMIT 1", args...).Scan(&digest)
			switch {
			case errors.Is(err, token.ErrNotFound):
				return nil
			case err != nil:
				return err
			}
			for _, i := range live[lo:hi] {
				if string(keys[i].Digest[:]) == string(digest) {
					return fmt.Errorf("key %d: %w", i, token.ErrDigestRevoked)
				}
			}
			return token.ErrDigestRevoked
		})
		if err != nil {
			return err
		}
		b := &batch{}
		for i, k := range keys {
			if err := db.addInsertKey(b, k); err != nil {
				return fmt.Errorf("key %d: %w", i, err)
			}
			if err := db.addAudit(b, evs[i]); err != nil {
				return err
			}
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return db.errorf("import %d keys: %w", len(keys), err)
	}
	return nil
}
