package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/token"
)

// The audit chain: every audit record gets the next sequence number and
// becomes that leaf of the Merkle tree of package auditlog, in the
// transaction that writes it. After the statements of the change, the
// batch that carries the record takes the dialect's lock (PostgreSQL: an
// advisory lock that every node's writers of audit records queue for;
// SQLite has one writer), and a step reads the tree's frontier (one row),
// computes the record's stored hashes and adds the record with its seq,
// the hashes and the new frontier.

// addChained adds to b the insertion of the audit row with args (the nine
// columns of insertAuditSQL before seq), chained.
func (db *DB) addChained(b *batch, args []any) error {
	ev, err := db.storedEvent(args)
	if err != nil {
		return err
	}
	b.lockSteps(db.d.lockAudit)
	b.addStep(func(ctx context.Context, q querier, next *batch) error {
		c, err := db.loadChain(ctx, q)
		if err != nil {
			return err
		}
		seq, err := c.append(next, ev)
		if err != nil {
			return err
		}
		next.add(insertAuditSQL, append(args[:9:9], seq)...)
		c.save(next)
		return nil
	})
	return nil
}

// storedEvent returns the event as it reads back from the row args
// write: the leaf is computed from that, so that it is the same when the
// records are read to verify (a detail's JSON may not round-trip a Go
// string exactly).
func (db *DB) storedEvent(args []any) (*token.AuditEvent, error) {
	str := func(i int) string { s, _ := args[i].(string); return s }
	d := db.dec()
	ev := &token.AuditEvent{ID: str(0), ActorKeyID: str(2), Action: str(3), TargetType: str(4),
		TargetID: str(5), Outcome: str(6), RequestID: str(7)}
	if ns, ok := args[1].(int64); ok {
		ev.Time = d.time(sql.NullInt64{Int64: ns, Valid: true})
	}
	if js, ok := args[8].(string); ok {
		ev.Detail = d.detail(sql.NullString{String: js, Valid: true})
	}
	return ev, d.err
}

// chain is the tree's frontier as read in a write transaction.
type chain struct{ f auditlog.Frontier }

// loadChain reads the frontier. The caller holds the audit lock.
func (db *DB) loadChain(ctx context.Context, q querier) (*chain, error) {
	var (
		size     int64
		frontier []byte
	)
	if err := q.queryRow(ctx, "SELECT size, frontier FROM audit_tree WHERE id = 1").Scan(&size, &frontier); err != nil {
		return nil, fmt.Errorf("read audit tree: %w", err)
	}
	f, err := auditlog.DecodeFrontier(size, frontier)
	if err != nil {
		return nil, err
	}
	return &chain{f: f}, nil
}

// append makes ev the next leaf, adds the insertion of its stored hashes
// to b and returns its seq.
func (c *chain) append(b *batch, ev *token.AuditEvent) (int64, error) {
	seq := c.f.Size
	hs, next, err := c.f.Append(auditlog.Leaf(seq, ev))
	if err != nil {
		return 0, err
	}
	first := tlog.StoredHashIndex(0, seq)
	args := make([]any, 0, 2*len(hs))
	for i, h := range hs {
		args = append(args, first+int64(i), append([]byte(nil), h[:]...))
	}
	b.add("INSERT INTO audit_hashes (idx, hash) VALUES "+values(len(hs), "", ""), args...)
	c.f = next
	return seq, nil
}

// save adds the update of the frontier to b.
func (c *chain) save(b *batch) {
	b.add("UPDATE audit_tree SET size = $1, frontier = $2 WHERE id = 1", c.f.Size, c.f.Encode())
}

// chainBacklogPage is how many unchained records ChainAudit reads at once.
const chainBacklogPage = 500

// ChainAudit chains the audit records that have no sequence number yet
// (those written before the audit chain existed, or by a node of an older
// version), in ID order, and returns how many it chained. The server calls
// it at start.
func (db *DB) ChainAudit(ctx context.Context) (int, error) {
	n := 0
	err := db.e.inTx(ctx, func(q querier) error {
		n = 0
		if db.d.lockAudit != "" {
			if _, err := q.exec(ctx, db.d.lockAudit); err != nil {
				return err
			}
		}
		c, err := db.loadChain(ctx, q)
		if err != nil {
			return err
		}
		for {
			evs, err := queryAll(ctx, q, selectAudit+" WHERE seq IS NULL ORDER BY id LIMIT "+fmt.Sprint(chainBacklogPage), nil, db.scanAudit)
			if err != nil || len(evs) == 0 {
				return err
			}
			b := &batch{}
			for _, ev := range evs {
				seq, err := c.append(b, ev)
				if err != nil {
					return err
				}
				b.add("UPDATE audit SET seq = $1 WHERE id = $2", seq, ev.ID)
			}
			c.save(b)
			if err := q.run(ctx, b); err != nil {
				return err
			}
			n += len(evs)
		}
	})
	if err != nil {
		return 0, db.errorf("chain audit records: %w", err)
	}
	return n, nil
}

// AuditSource returns the chain's reader outside a transaction: for
// proofs and checkpoints, whose data is never changed once written.
func (db *DB) AuditSource() *AuditReader { return &AuditReader{db: db, q: db.e.reader()} }

// ReadAudit runs fn with a reader of the chain that sees one snapshot of
// the database, as auditlog.Verify needs.
func (db *DB) ReadAudit(ctx context.Context, fn func(*AuditReader) error) error {
	return db.e.snapshot(ctx, func(q querier) error { return fn(&AuditReader{db: db, q: q}) })
}

// AuditReader reads the audit chain; it is an auditlog.Source and the
// reading half of an auditlog.Store.
type AuditReader struct {
	db *DB
	q  querier
}

var _ auditlog.Source = (*AuditReader)(nil)

// Tree returns the stored frontier of the tree.
func (r *AuditReader) Tree(ctx context.Context) (auditlog.Frontier, error) {
	c, err := r.db.loadChain(ctx, r.q)
	if err != nil {
		return auditlog.Frontier{}, r.db.errorf("%w", err)
	}
	return c.f, nil
}

// Records returns up to limit records with Seq >= from, by Seq.
func (r *AuditReader) Records(ctx context.Context, from int64, limit int) ([]auditlog.Record, error) {
	recs, err := queryAll(ctx, r.q, selectAuditSeq+" WHERE seq >= $1 ORDER BY seq LIMIT $2",
		[]any{from, limit}, r.db.scanRecord)
	if err != nil {
		return nil, r.db.errorf("read audit records: %w", err)
	}
	return recs, nil
}

// Record returns the record at seq, or an error wrapping
// token.ErrNotFound.
func (r *AuditReader) Record(ctx context.Context, seq int64) (*auditlog.Record, error) {
	rec, err := r.db.scanRecord(r.q.queryRow(ctx, selectAuditSeq+" WHERE seq = $1", seq))
	if err != nil {
		return nil, r.db.errorf("read audit record %d: %w", seq, err)
	}
	return &rec, nil
}

// selectAuditSeq is selectAudit with seq, for scanRecord.
const selectAuditSeq = `SELECT id, at, actor, action, target_type, target_id, outcome, request_id,
	detail, seq FROM audit`

// scanRecord reads one row of selectAuditSeq.
func (db *DB) scanRecord(s scanner) (auditlog.Record, error) {
	var seq int64
	ev, err := db.scanAudit(scanExtra{s, &seq})
	if err != nil {
		return auditlog.Record{}, err
	}
	return auditlog.Record{Seq: seq, Event: ev}, nil
}

// scanExtra scans the columns of s and then one more into extra.
type scanExtra struct {
	s     scanner
	extra any
}

func (x scanExtra) Scan(dest ...any) error { return x.s.Scan(append(dest, x.extra)...) }

// Hashes returns the stored hashes with an index in [lo, hi).
func (r *AuditReader) Hashes(ctx context.Context, lo, hi int64) (map[int64]tlog.Hash, error) {
	out := map[int64]tlog.Hash{}
	rs, err := r.q.query(ctx, "SELECT idx, hash FROM audit_hashes WHERE idx >= $1 AND idx < $2", lo, hi)
	if err != nil {
		return nil, r.db.errorf("read audit hashes: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			idx int64
			h   []byte
		)
		if err := rs.Scan(&idx, &h); err != nil {
			return nil, r.db.errorf("read audit hashes: %w", err)
		}
		if len(h) == tlog.HashSize { // another length cannot match a computed hash
			out[idx] = tlog.Hash(h)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, r.db.errorf("read audit hashes: %w", err)
	}
	return out, nil
}

// ReadHashes reads stored hashes by index (tlog.HashReader). A missing
// one is an error.
func (r *AuditReader) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	have := map[int64]tlog.Hash{}
	err := chunks(len(indexes), func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, idx := range indexes[lo:hi] {
			args = append(args, idx)
		}
		rs, err := r.q.query(ctx, "SELECT idx, hash FROM audit_hashes WHERE idx IN ("+placeholders(1, len(args))+")", args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var (
				idx int64
				h   []byte
			)
			if err := rs.Scan(&idx, &h); err != nil {
				return err
			}
			if len(h) == tlog.HashSize {
				have[idx] = tlog.Hash(h)
			}
		}
		return rs.Err()
	})
	if err != nil {
		return nil, r.db.errorf("read audit hashes: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		h, ok := have[idx]
		if !ok {
			return nil, r.db.errorf("audit hash %d is missing", idx)
		}
		out[i] = h
	}
	return out, nil
}

// Unchained returns the IDs of up to limit records without a seq.
func (r *AuditReader) Unchained(ctx context.Context, limit int) ([]string, error) {
	ids, err := queryAll(ctx, r.q, "SELECT id FROM audit WHERE seq IS NULL ORDER BY id LIMIT $1", []any{limit},
		func(s scanner) (string, error) { var id string; return id, s.Scan(&id) })
	if err != nil {
		return nil, r.db.errorf("read unchained audit records: %w", err)
	}
	return ids, nil
}

const selectCheckpoint = "SELECT size, root, note, created_at FROM audit_checkpoints"

func (db *DB) scanCheckpoint(s scanner) (auditlog.Checkpoint, error) {
	var (
		c    auditlog.Checkpoint
		root []byte
		note string
		at   sql.NullInt64
	)
	if err := s.Scan(&c.Size, &root, &note, &at); err != nil {
		return c, err
	}
	copy(c.Root[:], root)
	d := db.dec()
	c.Note, c.CreatedAt = []byte(note), d.time(at)
	return c, nil
}

// Checkpoints returns the stored checkpoints, smallest first.
func (r *AuditReader) Checkpoints(ctx context.Context) ([]auditlog.Checkpoint, error) {
	cps, err := queryAll(ctx, r.q, selectCheckpoint+" ORDER BY size", nil, r.db.scanCheckpoint)
	if err != nil {
		return nil, r.db.errorf("read audit checkpoints: %w", err)
	}
	return cps, nil
}

// LatestCheckpoint returns the largest stored checkpoint, or an error
// wrapping token.ErrNotFound if there is none.
func (r *AuditReader) LatestCheckpoint(ctx context.Context) (*auditlog.Checkpoint, error) {
	c, err := r.db.scanCheckpoint(r.q.queryRow(ctx, selectCheckpoint+" ORDER BY size DESC LIMIT 1"))
	if err != nil {
		return nil, r.db.errorf("read audit checkpoint: %w", err)
	}
	return &c, nil
}

// Verifiers returns the verifier keys of every audit key stored.
func (r *AuditReader) Verifiers(ctx context.Context) ([]string, error) {
	keys, err := r.Keys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Verifier
	}
	return out, nil
}

// Keys returns the stored audit keys, by ID: ID 1 signs.
func (r *AuditReader) Keys(ctx context.Context) ([]auditlog.StoredKey, error) {
	keys, err := queryAll(ctx, r.q, "SELECT id, verifier, sealed, created_at FROM audit_keys ORDER BY id", nil,
		func(s scanner) (auditlog.StoredKey, error) {
			var (
				k  auditlog.StoredKey
				at sql.NullInt64
			)
			err := s.Scan(&k.ID, &k.Verifier, &k.Sealed, &at)
			d := r.db.dec()
			k.CreatedAt = d.time(at)
			return k, err
		})
	if err != nil {
		return nil, r.db.errorf("read audit keys: %w", err)
	}
	return keys, nil
}

// AddAuditCheckpoint stores c; a checkpoint of the same size is kept as it
// is (several nodes may sign the same tree).
func (db *DB) AddAuditCheckpoint(ctx context.Context, c *auditlog.Checkpoint) error {
	e := db.enc()
	args := []any{c.Size, c.Root[:], string(c.Note), e.time(c.CreatedAt)}
	if e.err != nil {
		return db.errorf("add audit checkpoint: %w", e.err)
	}
	_, err := db.e.writer().exec(ctx, `INSERT INTO audit_checkpoints (size, root, note, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING`, args...)
	if err != nil {
		return db.errorf("add audit checkpoint %d: %w", c.Size, err)
	}
	return nil
}

// AddAuditKey stores k unless a key with its ID exists, and reports
// whether it did: of several nodes starting at once, one key wins.
func (db *DB) AddAuditKey(ctx context.Context, k auditlog.StoredKey) (bool, error) {
	e := db.enc()
	args := []any{k.ID, k.Verifier, nullBytes(k.Sealed), e.time(k.CreatedAt)}
	if e.err != nil {
		return false, db.errorf("add audit key: %w", e.err)
	}
	n, err := db.e.writer().exec(ctx, `INSERT INTO audit_keys (id, verifier, sealed, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return false, db.errorf("add audit key %d: %w", k.ID, err)
	}
	return n == 1, nil
}

// AuditStore returns the store of an auditlog.Log.
func (db *DB) AuditStore() auditlog.Store { return auditStore{db.AuditSource()} }

type auditStore struct{ *AuditReader }

func (s auditStore) AddCheckpoint(ctx context.Context, c *auditlog.Checkpoint) error {
	return s.db.AddAuditCheckpoint(ctx, c)
}

func (s auditStore) AddKey(ctx context.Context, k auditlog.StoredKey) (bool, error) {
	return s.db.AddAuditKey(ctx, k)
}

// AuditChain returns the chain's reader for export.
func (db *DB) AuditChain() auditlog.Chain { return db.AuditSource() }
