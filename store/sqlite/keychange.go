package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/latchkey/latchkey/token"
)

// UpdateKey reads key id, applies fn and writes the result with ev, all in
// one write transaction. The stored Version is the one read plus one,
// whatever fn set; fn cannot change the ID. An error from fn aborts the
// update and is returned as it is. A missing key gives an error wrapping
// token.ErrNotFound without calling fn.
func (db *DB) UpdateKey(ctx context.Context, id string, fn func(*token.Key) error, ev *token.AuditEvent) (*token.Key, error) {
	var k *token.Key
	var fnErr error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if k, err = getKey(ctx, tx, id); err != nil {
			return err
		}
		version := k.Version
		if fnErr = fn(k); fnErr != nil {
			return fnErr
		}
		k.ID, k.Version = id, version+1
		if err := updateKeyRow(ctx, tx, k); err != nil {
			return err
		}
		return insertAudit(ctx, tx, ev)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: update key %s: %w", id, err)
	}
	return k, nil
}

// RotateKey reads key id, lets fn change it and return its successor, and
// writes both with ev in one write transaction. The old key's Version is
// incremented; the successor is stored as fn returned it. An error from fn
// aborts and is returned as it is; a successor whose ID or digest exists
// gives an error wrapping token.ErrConflict.
func (db *DB) RotateKey(ctx context.Context, id string, fn func(old *token.Key) (*token.Key, error), ev *token.AuditEvent) (old, successor *token.Key, err error) {
	var fnErr error
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if old, err = getKey(ctx, tx, id); err != nil {
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
		if err := updateKeyRow(ctx, tx, old); err != nil {
			return err
		}
		if err := insertKey(ctx, tx, successor); err != nil {
			return fmt.Errorf("successor %s: %w", successor.ID, err)
		}
		return insertAudit(ctx, tx, ev)
	})
	if fnErr != nil {
		return nil, nil, fnErr
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: rotate key %s: %w", id, err)
	}
	return old, successor, nil
}

// DeleteKey removes key id and its usage counts, with ev, if pred returns
// nil for it. An error from pred is returned as it is; a missing key gives
// an error wrapping token.ErrNotFound without calling pred.
func (db *DB) DeleteKey(ctx context.Context, id string, pred func(*token.Key) error, ev *token.AuditEvent) error {
	var predErr error
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		k, err := getKey(ctx, tx, id)
		if err != nil {
			return err
		}
		if predErr = pred(k); predErr != nil {
			return predErr
		}
		if _, err := tx.ExecContext(ctx, tombstoneSQL, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM keys WHERE id = ?", id); err != nil {
			return err
		}
		return insertAudit(ctx, tx, ev)
	})
	if predErr != nil {
		return predErr
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete key %s: %w", id, err)
	}
	return nil
}
