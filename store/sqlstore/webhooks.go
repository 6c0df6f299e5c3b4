package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

var _ webhook.Store = (*DB)(nil)

// insertDeliveriesSQL fans one event out to the outbox of every enabled
// webhook subscribed to it, inside the batch of the change that causes it.
// Fan-out at write time, not later: the subscribers at the moment of the
// change get the event, no second stage can be lost in a crash, and
// nothing is written when nobody subscribes. ($6 is ",type,": event
// names are validated, so LIKE's "_" can match no other event. The
// pattern is an expression, not the bare parameter: SQLite re-prepares a
// statement whose LIKE pattern is a parameter each time it is bound,
// which made this insert parse anew in every audited write.)
const insertDeliveriesSQL = `INSERT INTO webhook_deliveries (id, webhook_id, event_type, order_key, payload,
	created_at, next_attempt_at)
	SELECT $1 || substr(w.id, 4), w.id, $2, $3, $4, $5, $5 FROM webhooks w
	WHERE w.disabled = FALSE AND w.events LIKE '%' || $6 || '%'`

// addEvents adds to b the outbox rows of the webhook events that the
// audited change ev causes (webhook.FromAudit).
func (db *DB) addEvents(b *batch, ev *token.AuditEvent) {
	for _, e := range webhook.FromAudit(ev) {
		db.addEvent(b, e)
	}
}

func (db *DB) addEvent(b *batch, e webhook.Event) {
	b.add(insertDeliveriesSQL, e.ID+"_", e.Type, e.OrderKey, string(e.Payload), e.Time.UnixNano(), ","+e.Type+",")
}

// EnqueueEvents writes evs to the outbox of their subscribers.
func (db *DB) EnqueueEvents(ctx context.Context, evs []webhook.Event) error {
	if len(evs) == 0 {
		return nil
	}
	b := &batch{}
	for _, e := range evs {
		db.addEvent(b, e)
	}
	if err := db.e.write(ctx, b); err != nil {
		return db.errorf("enqueue webhook events: %w", err)
	}
	return nil
}

// Mark records mark once and, only then, writes evs in the same
// transaction.
func (db *DB) Mark(ctx context.Context, mark string, at time.Time, evs []webhook.Event) (bool, error) {
	var first bool
	err := db.e.inTx(ctx, func(q querier) error {
		n, err := q.exec(ctx, "INSERT INTO webhook_marks (mark, at) VALUES ($1, $2) ON CONFLICT (mark) DO NOTHING", mark, at.UnixNano())
		if err != nil || n == 0 {
			return err
		}
		first = true
		b := &batch{}
		for _, e := range evs {
			db.addEvent(b, e)
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return false, db.errorf("webhook mark: %w", err)
	}
	return first, nil
}

const webhookCols = `id, url, events, description, secret_sealed, prev_secret_sealed, prev_secret_until,
	disabled, disabled_reason, created_at, updated_at`

func (db *DB) scanWebhook(s scanner) (*webhook.Webhook, error) {
	var (
		w          webhook.Webhook
		events     string
		prevUntil  sql.NullInt64
		created, u sql.NullInt64
		d          = db.dec()
	)
	if err := s.Scan(&w.ID, &w.URL, &events, &w.Description, &w.Secret, &w.PrevSecret, &prevUntil,
		&w.Disabled, &w.DisabledReason, &created, &u); err != nil {
		return nil, err
	}
	w.Events = webhook.SplitEvents(events)
	w.PrevUntil, w.CreatedAt, w.UpdatedAt = d.time(prevUntil), d.time(created), d.time(u)
	return &w, d.err
}

func (db *DB) webhookArgs(w *webhook.Webhook) ([]any, error) {
	e := db.enc()
	args := []any{w.ID, w.URL, webhook.JoinEvents(w.Events), w.Description, nonNilBytes(w.Secret), nullBytes(w.PrevSecret),
		e.time(w.PrevUntil), w.Disabled, w.DisabledReason, e.time(w.CreatedAt), e.time(w.UpdatedAt)}
	return args, e.err
}

// CreateWebhook stores w and ev in one write, unless webhook.MaxWebhooks
// exist. The count and the insert are one transaction that holds the
// dialect's lock (PostgreSQL: an advisory lock; SQLite: its one writer),
// so concurrent creates cannot all see room for one more.
func (db *DB) CreateWebhook(ctx context.Context, w *webhook.Webhook, ev *token.AuditEvent) error {
	args, err := db.webhookArgs(w)
	if err != nil {
		return err
	}
	err = db.e.inTx(ctx, func(q querier) error {
		if db.d.lockWebhooks != "" {
			if _, err := q.exec(ctx, db.d.lockWebhooks); err != nil {
				return err
			}
		}
		var n int
		if err := q.queryRow(ctx, "SELECT count(*) FROM webhooks").Scan(&n); err != nil {
			return err
		}
		if n >= webhook.MaxWebhooks {
			return webhook.ErrTooManyWebhooks
		}
		b := &batch{}
		b.add("INSERT INTO webhooks ("+webhookCols+") VALUES ("+placeholders(1, 11)+")", args...)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return db.errorf("create webhook: %w", err)
	}
	return nil
}

// Webhooks returns every webhook, oldest first.
func (db *DB) Webhooks(ctx context.Context) ([]*webhook.Webhook, error) {
	ws, err := queryAll(ctx, db.e.reader(), "SELECT "+webhookCols+" FROM webhooks ORDER BY id", nil, db.scanWebhook)
	if err != nil {
		return nil, db.errorf("list webhooks: %w", err)
	}
	return ws, nil
}

// Webhook returns webhook id.
func (db *DB) Webhook(ctx context.Context, id string) (*webhook.Webhook, error) {
	w, err := db.scanWebhook(db.e.reader().queryRow(ctx, "SELECT "+webhookCols+" FROM webhooks WHERE id = $1", id))
	if err != nil {
		return nil, db.errorf("webhook: %w", err)
	}
	return w, nil
}

// UpdateWebhook applies fn to webhook id and stores it with ev.
func (db *DB) UpdateWebhook(ctx context.Context, id string, fn func(*webhook.Webhook) error, ev *token.AuditEvent) (*webhook.Webhook, error) {
	var w *webhook.Webhook
	var fnErr error
	err := db.e.inTx(ctx, func(q querier) error {
		var err error
		if w, err = db.scanWebhook(q.queryRow(ctx, "SELECT "+webhookCols+" FROM webhooks WHERE id = $1"+db.d.lockRow, id)); err != nil {
			return err
		}
		if fnErr = fn(w); fnErr != nil {
			return fnErr
		}
		w.ID = id
		args, err := db.webhookArgs(w)
		if err != nil {
			return err
		}
		b := &batch{}
		b.add(`UPDATE webhooks SET (url, events, description, secret_sealed, prev_secret_sealed, prev_secret_until,
			disabled, disabled_reason, created_at, updated_at) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11) WHERE id = $1`, args...)
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, db.errorf("update webhook: %w", err)
	}
	return w, nil
}

// DeleteWebhook removes webhook id and its deliveries, with ev.
func (db *DB) DeleteWebhook(ctx context.Context, id string, ev *token.AuditEvent) error {
	err := db.e.inTx(ctx, func(q querier) error {
		if _, err := q.exec(ctx, "DELETE FROM webhook_deliveries WHERE webhook_id = $1", id); err != nil {
			return err
		}
		n, err := q.exec(ctx, "DELETE FROM webhooks WHERE id = $1", id)
		if err != nil {
			return err
		}
		if n == 0 {
			return token.ErrNotFound
		}
		b := &batch{}
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return db.errorf("delete webhook: %w", err)
	}
	return nil
}

const deliveryCols = `seq, id, webhook_id, event_type, order_key, created_at, state, attempts, next_attempt_at,
	last_attempt_at, last_status, last_duration, last_error, delivered_at`

func (db *DB) scanDelivery(s scanner) (*webhook.Delivery, error) {
	var (
		dl                             webhook.Delivery
		created, next, last, delivered sql.NullInt64
		dur                            int64
		d                              = db.dec()
	)
	if err := s.Scan(&dl.Seq, &dl.ID, &dl.WebhookID, &dl.Type, &dl.OrderKey, &created, &dl.State, &dl.Attempts,
		&next, &last, &dl.LastStatus, &dur, &dl.LastError, &delivered); err != nil {
		return nil, err
	}
	dl.CreatedAt, dl.NextAttemptAt, dl.LastAttemptAt, dl.DeliveredAt = d.time(created), d.time(next), d.time(last), d.time(delivered)
	dl.LastDuration = time.Duration(dur)
	return &dl, d.err
}

// Deliveries returns a page of webhook id's deliveries, newest first.
func (db *DB) Deliveries(ctx context.Context, webhookID string, before int64, limit int) ([]*webhook.Delivery, int64, error) {
	var w where
	w.add("webhook_id = " + w.arg(webhookID))
	if before > 0 {
		w.add("seq < " + w.arg(before))
	}
	q := "SELECT " + deliveryCols + " FROM webhook_deliveries" + w.String() + " ORDER BY seq DESC LIMIT " + w.arg(limit+1)
	ds, err := queryAll(ctx, db.e.reader(), q, w.args, db.scanDelivery)
	if err != nil {
		return nil, 0, db.errorf("list deliveries: %w", err)
	}
	var next int64
	if len(ds) > limit {
		ds, next = ds[:limit], ds[limit-1].Seq
	}
	return ds, next, nil
}

// Delivery returns delivery did of webhook id with its attempts, newest
// first.
func (db *DB) Delivery(ctx context.Context, webhookID, did string) (*webhook.Delivery, error) {
	r := db.e.reader()
	dl, err := db.scanDelivery(r.queryRow(ctx, "SELECT "+deliveryCols+" FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2", webhookID, did))
	if err != nil {
		return nil, db.errorf("delivery: %w", err)
	}
	dl.History, err = queryAll(ctx, r, `SELECT n, started_at, duration, status, error, response, redelivery
		FROM webhook_attempts WHERE delivery_seq = $1 ORDER BY n DESC`, []any{dl.Seq},
		func(s scanner) (webhook.AttemptRecord, error) {
			var a webhook.AttemptRecord
			var at, dur int64
			err := s.Scan(&a.N, &at, &dur, &a.Status, &a.Error, &a.Response, &a.Redelivery)
			a.At, a.Duration = time.Unix(0, at), time.Duration(dur)
			return a, err
		})
	if err != nil {
		return nil, db.errorf("delivery attempts: %w", err)
	}
	return dl, nil
}

// Redeliver makes delivery did of webhook id pending again, due at now.
func (db *DB) Redeliver(ctx context.Context, webhookID, did string, now time.Time, ev *token.AuditEvent) (*webhook.Delivery, error) {
	var dl *webhook.Delivery
	err := db.e.inTx(ctx, func(q querier) error {
		rs, err := queryAll(ctx, q, `UPDATE webhook_deliveries SET (state, attempts, next_attempt_at, redelivered) = ('pending', 0, $3, TRUE)
			WHERE webhook_id = $1 AND id = $2 RETURNING `+deliveryCols, []any{webhookID, did, now.UnixNano()}, db.scanDelivery)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return token.ErrNotFound
		}
		dl = rs[0]
		b := &batch{}
		if err := db.addAudit(b, ev); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return nil, db.errorf("redeliver: %w", err)
	}
	return dl, nil
}

// ClaimDeliveries leases up to limit due deliveries to node (see
// webhook.Store). The candidates are a materialized CTE: as a subquery of
// the UPDATE, PostgreSQL may scan them again and claim more than limit.
// The lease condition is in the outer WHERE as well: on
// PostgreSQL, a row another node leased meanwhile is re-checked after its
// lock and skipped.
func (db *DB) ClaimDeliveries(ctx context.Context, node string, now, leaseUntil time.Time, limit int) ([]*webhook.Delivery, error) {
	q := `WITH c AS MATERIALIZED (SELECT d.seq FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.state = 'pending' AND d.next_attempt_at <= $3 AND d.lease_until <= $3 AND w.disabled = FALSE
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id
			AND e.order_key = d.order_key AND e.state = 'pending' AND e.seq < d.seq)
		ORDER BY d.seq LIMIT $4` + db.d.skipLocked + `)
	UPDATE webhook_deliveries SET (lease_owner, lease_until) = ($1, $2) FROM c
	WHERE webhook_deliveries.seq = c.seq AND state = 'pending' AND lease_until <= $3
	RETURNING webhook_deliveries.seq, id, webhook_id, event_type, order_key, payload, created_at, attempts`
	ds, err := queryAll(ctx, db.e.writer(), q, []any{node, leaseUntil.UnixNano(), now.UnixNano(), limit},
		func(s scanner) (*webhook.Delivery, error) {
			var dl webhook.Delivery
			var payload string
			var created int64
			if err := s.Scan(&dl.Seq, &dl.ID, &dl.WebhookID, &dl.Type, &dl.OrderKey, &payload, &created, &dl.Attempts); err != nil {
				return nil, err
			}
			dl.Payload, dl.CreatedAt, dl.State = []byte(payload), time.Unix(0, created), webhook.Pending
			return &dl, nil
		})
	if err != nil {
		return nil, db.errorf("claim deliveries: %w", err)
	}
	return ds, nil
}

// insertAttemptSQL adds the record of an attempt of delivery $1, the
// next number of its attempts, marked a redelivery if the delivery was
// sent again by hand.
const insertAttemptSQL = `INSERT INTO webhook_attempts (delivery_seq, n, started_at, duration, status, error, response, redelivery)
	SELECT d.seq, COALESCE((SELECT max(n) FROM webhook_attempts WHERE delivery_seq = d.seq), 0) + 1,
		$2, $3, $4, $5, $6, d.redelivered FROM webhook_deliveries d WHERE d.seq = $1`

// FinishDelivery records attempt a of delivery seq if node holds its
// lease; a 410 disables the webhook in the same transaction.
func (db *DB) FinishDelivery(ctx context.Context, seq int64, node string, a webhook.Attempt) (bool, error) {
	var ok bool
	err := db.e.inTx(ctx, func(q querier) error {
		var delivered any
		next := a.Next
		if a.State == webhook.Delivered {
			delivered = a.At.UnixNano()
		}
		if next.IsZero() {
			next = a.At
		}
		n, err := q.exec(ctx, `UPDATE webhook_deliveries SET (state, attempts, next_attempt_at, lease_owner, lease_until,
			last_attempt_at, last_status, last_duration, last_error, delivered_at) =
			($3, attempts + 1, $4, '', 0, $5, $6, $7, $8, $9) WHERE seq = $1 AND lease_owner = $2`,
			seq, node, a.State, next.UnixNano(), a.At.UnixNano(), a.Status, int64(a.Duration), a.Error, delivered)
		if err != nil || n == 0 {
			return err
		}
		ok = true
		// The attempt's record, numbered after the delivery's last (the
		// update above holds the delivery's row, so no other writer
		// numbers one meanwhile); then only the newest MaxAttemptRecords
		// are kept.
		if _, err := q.exec(ctx, insertAttemptSQL, seq, a.At.UnixNano(), int64(a.Duration), a.Status,
			a.Error, webhook.Excerpt([]byte(a.Response))); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_seq = $1
			AND n <= (SELECT max(n) FROM webhook_attempts WHERE delivery_seq = $1) - $2`, seq, webhook.MaxAttemptRecords); err != nil {
			return err
		}
		if !a.Gone {
			return nil
		}
		var id string
		if err := q.queryRow(ctx, "SELECT webhook_id FROM webhook_deliveries WHERE seq = $1", seq).Scan(&id); err != nil {
			return err
		}
		b := &batch{}
		b.add("UPDATE webhooks SET (disabled, disabled_reason, updated_at) = (TRUE, 'gone', $2) WHERE id = $1", id, a.At.UnixNano())
		if err := db.addAudit(b, &token.AuditEvent{ID: token.NewID("aud", a.At), Time: a.At, ActorKeyID: token.SystemActor.KeyID,
			Action: "webhook.disable", TargetType: "webhook", TargetID: id, Outcome: token.OutcomeSuccess,
			Detail: map[string]string{"reason": "the receiver answered 410 Gone"}}); err != nil {
			return err
		}
		return q.run(ctx, b)
	})
	if err != nil {
		return false, db.errorf("finish delivery: %w", err)
	}
	return ok, nil
}

// PruneDeliveries removes deliveries delivered or failed before t.
func (db *DB) PruneDeliveries(ctx context.Context, t time.Time) (int64, error) {
	n, err := db.e.writer().exec(ctx, "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1", t.UnixNano())
	if err != nil {
		return 0, db.errorf("prune deliveries: %w", err)
	}
	return n, nil
}

var _ webhook.ExpiryStore = (*DB)(nil)

// ExpiringKeys returns the keys a key.expiring event is due for (see
// webhook.ExpiryStore); the range is read through keys_expiring (00023).
func (db *DB) ExpiringKeys(ctx context.Context, markPrefix string, from, to time.Time, minLife time.Duration, limit int) ([]webhook.ExpiringKey, error) {
	q := `SELECT k.id, k.keyspace, k.expires_at FROM keys k
	WHERE k.expires_at > $1 AND k.expires_at <= $2 AND k.revoked_at IS NULL AND k.expires_at - k.created_at > $3
	AND k.keyspace NOT IN ('oauth', 'oauth-grants')
	AND NOT EXISTS (SELECT 1 FROM webhook_marks m WHERE m.mark = $4 || k.id || ':' || CAST(k.expires_at AS text))
	ORDER BY k.expires_at LIMIT $5`
	ks, err := queryAll(ctx, db.e.reader(), q, []any{from.UnixNano(), to.UnixNano(), int64(minLife), markPrefix, limit},
		func(s scanner) (webhook.ExpiringKey, error) {
			var k webhook.ExpiringKey
			var exp int64
			err := s.Scan(&k.ID, &k.Keyspace, &exp)
			k.ExpiresAt = time.Unix(0, exp)
			return k, err
		})
	if err != nil {
		return nil, db.errorf("expiring keys: %w", err)
	}
	return ks, nil
}

// PruneMarks removes marks recorded before t.
func (db *DB) PruneMarks(ctx context.Context, t time.Time) error {
	if _, err := db.e.writer().exec(ctx, "DELETE FROM webhook_marks WHERE at < $1", t.UnixNano()); err != nil {
		return db.errorf("prune marks: %w", err)
	}
	return nil
}
