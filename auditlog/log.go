package auditlog

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/token"
)

// Store is what Log needs of the storage.
type Store interface {
	// Tree returns the frontier of the tree as last committed.
	Tree(ctx context.Context) (Frontier, error)
	// Record returns the record at seq (token.ErrNotFound if none).
	Record(ctx context.Context, seq int64) (*Record, error)
	// ReadHashes returns stored hashes by index; a missing one is an
	// error.
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// LatestCheckpoint returns the largest stored checkpoint
	// (token.ErrNotFound if none).
	LatestCheckpoint(ctx context.Context) (*Checkpoint, error)
	// AddCheckpoint stores c; one of the same size is kept as it is.
	AddCheckpoint(ctx context.Context, c *Checkpoint) error
	// Keys returns the stored audit keys by ID.
	Keys(ctx context.Context) ([]StoredKey, error)
	// AddKey stores k unless its ID exists, and reports whether it did.
	AddKey(ctx context.Context, k StoredKey) (bool, error)
}

// Defaults of Config.
const (
	DefaultEvery    = 1000
	DefaultInterval = time.Minute
	pollInterval    = 5 * time.Second
)

// Config configures a Log.
type Config struct {
	Store Store
	Box   *seal.Box // seals the signing key with the master key
	// Every: a checkpoint after this many new records (default 1000).
	Every int64
	// Interval: a checkpoint this long after the last one when the tree
	// grew meanwhile (default 1 minute).
	Interval time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// Log signs checkpoints of the audit tree and proves inclusion and
// consistency. Several nodes may run one each on the same store: they sign
// with the same key (the first stored), and two checkpoints of one size
// are the same note (Ed25519 signatures are deterministic).
type Log struct {
	c   Config
	key Key
}

// sealContext binds a sealed signing key to its verifier key.
func sealContext(verifier string) string { return "audit-key:" + verifier }

// New returns the Log of store, generating and storing the signing key
// (sealed) if the store has none.
func New(ctx context.Context, c Config) (*Log, error) {
	if c.Every <= 0 {
		c.Every = DefaultEvery
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	signing, err := signingKey(ctx, c.Store)
	if err != nil {
		return nil, err
	}
	if signing == nil {
		k, err := GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		sealed, err := c.Box.Seal([]byte(k.Signer), sealContext(k.Verifier))
		if err != nil {
			return nil, err
		}
		if _, err := c.Store.AddKey(ctx, StoredKey{ID: 1, Verifier: k.Verifier, Sealed: sealed, CreatedAt: c.Now()}); err != nil {
			return nil, fmt.Errorf("auditlog: store key: %w", err)
		}
		// Another node may have stored its key first: use the stored one.
		if signing, err = signingKey(ctx, c.Store); err != nil {
			return nil, err
		}
		if signing == nil {
			return nil, errors.New("auditlog: the signing key was not stored")
		}
	}
	k, err := OpenKey(c.Box, *signing)
	if err != nil {
		return nil, err
	}
	return &Log{c: c, key: k}, nil
}

// OpenKey opens the private half of a stored signing key with the master
// key's box.
func OpenKey(box *seal.Box, k StoredKey) (Key, error) {
	plain, err := box.Open(k.Sealed, sealContext(k.Verifier))
	if err != nil {
		return Key{}, fmt.Errorf("auditlog: open the audit signing key (is this the master key it was sealed with?): %w", err)
	}
	return Key{Signer: string(plain), Verifier: k.Verifier}, nil
}

// signingKey returns the stored key with ID 1, or nil.
func signingKey(ctx context.Context, s Store) (*StoredKey, error) {
	keys, err := s.Keys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == 1 {
			if len(k.Sealed) == 0 {
				return nil, errors.New("auditlog: the signing key has no private half")
			}
			return &k, nil
		}
	}
	return nil, nil
}

// Verifier returns the verifier key of the checkpoints' signatures (a
// sumdb/note verifier key: "latchkey-audit+hash+base64").
func (l *Log) Verifier() string { return l.key.Verifier }

// Latest returns the largest stored checkpoint, making the first one if
// there is none.
func (l *Log) Latest(ctx context.Context) (*Checkpoint, error) {
	c, err := l.c.Store.LatestCheckpoint(ctx)
	if errors.Is(err, token.ErrNotFound) {
		return l.Checkpoint(ctx)
	}
	return c, err
}

// Checkpoint signs and stores a checkpoint of the tree as committed now,
// unless the latest stored one has its size already; it returns the latest.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	last, err := l.c.Store.LatestCheckpoint(ctx)
	if err != nil && !errors.Is(err, token.ErrNotFound) {
		return nil, err
	}
	f, err := l.c.Store.Tree(ctx)
	if err != nil {
		return nil, err
	}
	if last != nil && last.Size >= f.Size {
		return last, nil
	}
	root, err := f.Root()
	if err != nil {
		return nil, err
	}
	c, err := Sign(l.key, f.Size, root, l.c.Now())
	if err != nil {
		return nil, err
	}
	if err := l.c.Store.AddCheckpoint(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Tick makes a checkpoint if one is due (Every records since the last, or
// Interval since the last while the tree grew, or the first of a tree that
// is not empty) and reports whether it did.
func (l *Log) Tick(ctx context.Context) (bool, error) {
	due, err := l.due(ctx, l.c.Now())
	if err != nil || !due {
		return false, err
	}
	_, err = l.Checkpoint(ctx)
	return err == nil, err
}

// due reports whether a checkpoint is due at now.
func (l *Log) due(ctx context.Context, now time.Time) (bool, error) {
	f, err := l.c.Store.Tree(ctx)
	if err != nil {
		return false, err
	}
	last, err := l.c.Store.LatestCheckpoint(ctx)
	switch {
	case errors.Is(err, token.ErrNotFound):
		return f.Size > 0, nil
	case err != nil:
		return false, err
	}
	grown := f.Size - last.Size
	return grown >= l.c.Every || (grown > 0 && now.Sub(last.CreatedAt) >= l.c.Interval), nil
}

// Run makes checkpoints until ctx ends: every Every records or, when the
// tree grew, every Interval; it looks every 5 seconds (one row read) and
// at once. The caller makes the last one at shutdown (Checkpoint).
func (l *Log) Run(ctx context.Context) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if _, err := l.Tick(ctx); err != nil && ctx.Err() == nil {
			l.c.Log.Warn("audit checkpoint failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Inclusion is the proof that a record is leaf Seq of the tree of Size
// records with root Root.
type Inclusion struct {
	Record   *Record
	Leaf     []byte // the canonical encoding (Leaf)
	LeafHash tlog.Hash
	Size     int64
	Root     tlog.Hash
	Proof    tlog.RecordProof
}

// hashReader reads the store's hashes with ctx.
func (l *Log) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return l.c.Store.ReadHashes(ctx, idx) })
}

// size returns n if the tree has at least n records.
func (l *Log) size(ctx context.Context, n int64, what string) (int64, error) {
	f, err := l.c.Store.Tree(ctx)
	if err != nil {
		return 0, err
	}
	if n > f.Size {
		return 0, token.Errorf(token.Invalid, "invalid_size", "%s %d is larger than the audit log (%d records)", what, n, f.Size)
	}
	return n, nil
}

// ProveRecord proves that record seq is in the tree of size records (the
// latest checkpoint's size if size is 0).
func (l *Log) ProveRecord(ctx context.Context, seq, size int64) (*Inclusion, error) {
	if size == 0 {
		c, err := l.Latest(ctx)
		if err != nil {
			return nil, err
		}
		size = c.Size
	}
	size, err := l.size(ctx, size, "size")
	if err != nil {
		return nil, err
	}
	if seq < 0 || seq >= size {
		return nil, token.Errorf(token.Invalid, "invalid_seq", "record %d is not in a tree of %d records", seq, size)
	}
	rec, err := l.c.Store.Record(ctx, seq)
	if err != nil {
		return nil, err
	}
	r := l.hashReader(ctx)
	proof, err := tlog.ProveRecord(size, seq, r)
	if err != nil {
		return nil, err
	}
	root, err := tlog.TreeHash(size, r)
	if err != nil {
		return nil, err
	}
	leaf := Leaf(rec.Seq, rec.Event)
	return &Inclusion{Record: rec, Leaf: leaf, LeafHash: tlog.RecordHash(leaf), Size: size, Root: root, Proof: proof}, nil
}

// Consistency is the proof that the tree of From records is a prefix of
// the tree of To records.
type Consistency struct {
	From, To         int64
	FromRoot, ToRoot tlog.Hash
	Proof            tlog.TreeProof
}

// ProveTree proves that the tree of from records is a prefix of the tree
// of to records.
func (l *Log) ProveTree(ctx context.Context, from, to int64) (*Consistency, error) {
	if from < 1 || from > to {
		return nil, token.Errorf(token.Invalid, "invalid_size", "from (%d) must be between 1 and to (%d)", from, to)
	}
	if _, err := l.size(ctx, to, "to"); err != nil {
		return nil, err
	}
	r := l.hashReader(ctx)
	proof, err := tlog.ProveTree(to, from, r)
	if err != nil {
		return nil, err
	}
	c := &Consistency{From: from, To: to, Proof: proof}
	if c.FromRoot, err = tlog.TreeHash(from, r); err != nil {
		return nil, err
	}
	if c.ToRoot, err = tlog.TreeHash(to, r); err != nil {
		return nil, err
	}
	return c, nil
}
