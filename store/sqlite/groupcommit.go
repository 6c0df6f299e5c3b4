package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/latchkey/latchkey/token"
)

// maxGroup bounds how many creates share one transaction.
const maxGroup = 256

// createReq is one CreateKey waiting for its group's commit.
type createReq struct {
	k    *token.Key
	ev   *token.AuditEvent
	done chan error
}

// groupCommit lets concurrent CreateKey calls share one durable commit
// (one fsync) instead of paying one each: the first caller becomes the
// leader and commits everything queued meanwhile, each create under its own
// savepoint so that one failing create fails alone. Nobody is acknowledged
// before the commit that holds its row has returned.
type groupCommit struct {
	mu      sync.Mutex
	pending []*createReq
	leading bool
}

// CreateKey stores k and ev in one transaction (shared with concurrent
// creates). It returns an error wrapping token.ErrConflict if the ID, the
// digest or the idempotency key already exists.
func (db *DB) CreateKey(ctx context.Context, k *token.Key, ev *token.AuditEvent) error {
	req := &createReq{k: k, ev: ev, done: make(chan error, 1)}
	g := &db.creates
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if !g.leading {
		g.leading = true
		for len(g.pending) > 0 {
			n := min(len(g.pending), maxGroup)
			batch := g.pending[:n:n]
			g.pending = g.pending[n:]
			g.mu.Unlock()
			// The leader commits for others too: its own cancellation must
			// not abort their writes.
			db.commitCreates(context.WithoutCancel(ctx), batch)
			g.mu.Lock()
		}
		g.leading = false
	}
	g.mu.Unlock()
	select {
	case err := <-req.done:
		if err != nil {
			return fmt.Errorf("sqlite: create key %s: %w", k.ID, err)
		}
		return nil
	case <-ctx.Done():
		// The create may still commit: unacknowledged is allowed to exist.
		return fmt.Errorf("sqlite: create key %s: %w (%w)", k.ID, token.ErrOutcomeUnknown, ctx.Err())
	}
}

func (db *DB) commitCreates(ctx context.Context, batch []*createReq) {
	errs := make([]error, len(batch))
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			errs[i] = createInSavepoint(ctx, tx, r)
		}
		return nil
	})
	for i, r := range batch {
		if errs[i] == nil {
			errs[i] = err
		}
		r.done <- errs[i]
	}
}

// createInSavepoint inserts one key and its audit event; on failure it
// undoes just them.
func createInSavepoint(ctx context.Context, tx *sql.Tx, r *createReq) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT create_key"); err != nil {
		return err
	}
	err := insertKey(ctx, tx, r.k)
	if err == nil {
		err = insertAudit(ctx, tx, r.ev)
	}
	if err != nil {
		tx.ExecContext(ctx, "ROLLBACK TO create_key")
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE create_key"); rerr != nil && err == nil {
		err = rerr
	}
	return err
}
