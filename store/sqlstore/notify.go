package sqlstore

import (
	"context"
	"encoding/hex"
	"strings"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// notifyChannel is the channel the triggers of migration 00002 notify.
const notifyChannel = "latchkey_cache"

// Invalidations receives what other nodes changed (see Listen).
type Invalidations struct {
	Key       func(d apitoken.Digest)
	Principal func(typ token.PrincipalType, id string)
	// Reset is called whenever notifications may have been missed (at
	// start and after every reconnection): forget everything cached.
	Reset func()
}

// Listen delivers the changes committed by any node on this database's
// schema — keys (by digest) and principals — until ctx ends. It holds one
// connection; when it breaks, Listen reconnects and calls Reset, so a
// missed notification never outlives a reconnection.
//
// On SQLite, where one process owns the file and no other node writes it,
// Listen returns at once.
func (db *DB) Listen(ctx context.Context, inv Invalidations) {
	e, ok := db.e.(*pgEngine)
	if !ok {
		return
	}
	for ctx.Err() == nil {
		e.listenOnce(ctx, inv)
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (e *pgEngine) listenOnce(ctx context.Context, inv Invalidations) {
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return
	}
	defer func() {
		// The connection is in LISTEN mode or broken: never reuse it.
		conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
	}()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return
	}
	inv.Reset() // whatever happened before we listened is unknown
	prefix := schema + " "
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return
		}
		msg, ok := strings.CutPrefix(n.Payload, prefix)
		if !ok {
			continue // another installation sharing the database
		}
		switch {
		case strings.HasPrefix(msg, "k:"):
			var d apitoken.Digest
			if b, err := hex.DecodeString(msg[2:]); err == nil && len(b) == len(d) {
				copy(d[:], b)
				inv.Key(d)
			}
		case strings.HasPrefix(msg, "p:"):
			if typ, id, ok := strings.Cut(msg[2:], ":"); ok {
				inv.Principal(token.PrincipalType(typ), id)
			}
		}
	}
}
