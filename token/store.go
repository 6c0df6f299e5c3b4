package token

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/apitoken"
)

// Storage errors. Implementations return ErrNotFound when an object does not
// exist and ErrConflict when a create collides with an existing object (same
// ID, same digest, same name). Any other error means the store could not
// answer; the Service reports it as Unavailable and never as "valid".

// KeyStore stores keys.
type KeyStore interface {
	// CreateKey stores k and ev in one transaction.
	// It returns ErrConflict if the ID or the digest already exists.
	CreateKey(ctx context.Context, k *Key, ev *AuditEvent) error
	// ImportKeys stores keys, each with its audit event (evs[i] for
	// keys[i]), in one transaction: all or nothing. ErrConflict if any ID or
	// digest already exists; ErrDigestRevoked if a digest is one of a
	// revoked key, deleted or not (DeleteKey keeps a tombstone of it).
	ImportKeys(ctx context.Context, keys []*Key, evs []*AuditEvent) error
	// KeyByID returns the key or ErrNotFound.
	KeyByID(ctx context.Context, id string) (*Key, error)
	// KeyByDigest returns the key whose digest is d, or ErrNotFound.
	KeyByDigest(ctx context.Context, d apitoken.Digest) (*Key, error)
	// ListKeys returns up to f.Limit keys ordered by ID, and the cursor of
	// the next page ("" when there is none).
	ListKeys(ctx context.Context, f KeyFilter) ([]*Key, string, error)
	// UpdateKey reads key id, applies fn and writes the result, with ev,
	// atomically; the store increments Version. An error from fn aborts the
	// update and is returned unchanged. ErrNotFound if there is no such key.
	// fn runs inside the write transaction: it must not call the store's
	// write methods. ev is written after fn returns, so fn may fill
	// ev.Detail. A key stored revoked loses its kept secret (KeySecret)
	// in the same transaction.
	UpdateKey(ctx context.Context, id string, fn func(*Key) error, ev *AuditEvent) (*Key, error)
	// RotateKey reads key id, lets fn change it and return its successor,
	// and writes both with ev in one transaction; the old key's Version
	// increments, the successor is stored as fn returned it (its
	// SealedSecret kept, the old key's dropped if fn revoked it). An error
	// from fn aborts.
	RotateKey(ctx context.Context, id string, fn func(old *Key) (*Key, error), ev *AuditEvent) (old, successor *Key, err error)
	// KeySecret returns the sealed plaintext kept for recoverable key id
	// (Key.SealedSecret as it was stored), or ErrNotFound if none is kept:
	// the key does not exist, was not recoverable when it was made, is
	// revoked, or its keyspace stopped being recoverable.
	KeySecret(ctx context.Context, id string) ([]byte, error)
	// DeleteKey removes key id for good, with ev, if pred(key) returns nil.
	DeleteKey(ctx context.Context, id string, pred func(*Key) error, ev *AuditEvent) error
	// SpendCredits atomically subtracts cost from the key's remaining
	// credits if at least cost remain. It returns the credits left and
	// whether they were spent. Keys without credits return (0, true, nil).
	// If period is not zero and the key has a refill whose last period
	// (RefilledAt) began before period, remaining is first reset to the
	// refill amount and RefilledAt set to period — in the same statement.
	SpendCredits(ctx context.Context, id string, cost int64, period time.Time) (remaining int64, ok bool, err error)
	// RecordUsage stores a batch of usage records (last use and counts).
	RecordUsage(ctx context.Context, batch []Usage) error
	// UsageCounts returns the flushed verification counts of key id by
	// result code (empty for a key never verified or not existing).
	UsageCounts(ctx context.Context, id string) (map[Code]int64, error)
}

// KeyspaceStore stores keyspaces.
type KeyspaceStore interface {
	// CreateKeyspace stores ks; ErrConflict if the name exists.
	CreateKeyspace(ctx context.Context, ks *Keyspace, ev *AuditEvent) error
	// Keyspace returns the keyspace or ErrNotFound.
	Keyspace(ctx context.Context, name string) (*Keyspace, error)
	// ListKeyspaces returns every keyspace ordered by name.
	ListKeyspaces(ctx context.Context) ([]*Keyspace, error)
	// UpdateKeyspace applies fn atomically; ErrNotFound if missing. When fn
	// turns Recoverable off, the kept secrets of the keyspace's keys are
	// deleted in the same transaction.
	UpdateKeyspace(ctx context.Context, name string, fn func(*Keyspace) error, ev *AuditEvent) (*Keyspace, error)
}

// PrincipalStore stores users and apps.
type PrincipalStore interface {
	// CreatePrincipal stores p; ErrConflict if (type, id) exists.
	CreatePrincipal(ctx context.Context, p *Principal, ev *AuditEvent) error
	// Principal returns the principal or ErrNotFound.
	Principal(ctx context.Context, typ PrincipalType, id string) (*Principal, error)
	// ListPrincipals returns up to f.Limit principals of f.Type ordered by
	// ID, and the next cursor.
	ListPrincipals(ctx context.Context, f PrincipalFilter) ([]*Principal, string, error)
	// UpdatePrincipal applies fn atomically; the store increments Version.
	UpdatePrincipal(ctx context.Context, typ PrincipalType, id string, fn func(*Principal) error, ev *AuditEvent) (*Principal, error)
}

// AuditStore stores the audit log.
type AuditStore interface {
	// AppendAudit stores one event on its own (for events that change no
	// state, such as a denied request).
	AppendAudit(ctx context.Context, ev *AuditEvent) error
	// ListAudit returns up to f.Limit events, newest first, and the cursor
	// of the next page.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEvent, string, error)
}

// SigningKeyRecord is one JWT signing key as stored: its private key sealed
// with the master key (signer.Seal), never in the clear. The times are
// copies of the sealed ones, for listing; the sealed blob is authoritative.
type SigningKeyRecord struct {
	KID       string
	Alg       string
	Sealed    []byte
	NotBefore time.Time // starts signing
	SignUntil time.Time // stops signing
	RetireAt  time.Time // leaves the JWKS
	CreatedAt time.Time
}

// SigningKeyStore stores the JWT signing-key ring. The ring has a version
// that every change increments, so that nodes sharing a store change it by
// compare-and-swap and exactly one of them wins a rotation.
type SigningKeyStore interface {
	// SigningKeys returns every stored signing key, ordered by NotBefore
	// then KID, and the ring's version (0 for a ring never written).
	SigningKeys(ctx context.Context) ([]SigningKeyRecord, int64, error)
	// SwapSigningKeys, if the ring's version is still version, deletes
	// the keys named in del, inserts or replaces (by KID) the records in
	// put, appends evs, and increments the version — in one transaction.
	// It returns the new version, or ErrConflict (and changes nothing)
	// if the version moved on.
	SwapSigningKeys(ctx context.Context, version int64, put []SigningKeyRecord, del []string, evs []*AuditEvent) (int64, error)
}

// RevocationKind says what a revocation withdraws.
type RevocationKind string

// Revocation kinds.
const (
	RevokedKey       RevocationKind = "key"       // Subject is a key ID
	RevokedPrincipal RevocationKind = "principal" // Subject is "<type>:<id>"
	// RevokedSigningKey: Subject is the kid of a JWT signing key withdrawn
	// before its time; every token it signed is invalid.
	RevokedSigningKey RevocationKind = "signing_key"
)

// Revocation records that a key or a principal stopped being valid at At
// (a revocation, a disable, or an expiry moved earlier — At may then lie
// in the future — or a narrowing: scopes removed from the key, permissions
// from the principal), or that a signing key was withdrawn. Tokens derived from it (JWTs) issued at or before At are
// invalid from At on. The store writes these itself, in the transaction of
// the change, so no change can be missed.
type Revocation struct {
	Seq     int64 // increases in commit order
	Kind    RevocationKind
	Subject string
	At      time.Time
}

// RevocationStore serves the revocation feed.
type RevocationStore interface {
	// Revocations returns up to limit revocations with Seq > after and
	// At >= since, in Seq order. Seq is assigned in commit order: a
	// reader that saw Seq n never later finds a new revocation below n.
	Revocations(ctx context.Context, after int64, since time.Time, limit int) ([]Revocation, error)
	// RevocationHead returns the highest Seq written (0 when none).
	RevocationHead(ctx context.Context) (int64, error)
}

// NonceStore remembers the nonces of signed requests, so that a replay is
// refused on every node: the database, not a cache, is the authority.
type NonceStore interface {
	// UseNonce records nonce for keyID until expires. It reports false
	// (and changes nothing) if the same nonce is already recorded for
	// keyID and has not expired; an expired record is replaced.
	UseNonce(ctx context.Context, keyID, nonce string, expires time.Time) (fresh bool, err error)
	// PruneNonces deletes the records that expired before before and
	// returns how many it deleted.
	PruneNonces(ctx context.Context, before time.Time) (int64, error)
}

// Store is everything the Service needs from a storage backend.
type Store interface {
	KeyStore
	KeyspaceStore
	PrincipalStore
	AuditStore
	SigningKeyStore
	RevocationStore
	NonceStore
	UsageStore
	// Ping reports whether the store can answer.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Usage is what verification learned about one key since the last flush.
type Usage struct {
	KeyID string
	// Keyspace and Owner are the key's, for the rollups of the usage
	// buckets (Owner nil: the key has none).
	Keyspace   string
	Owner      *Owner
	LastUsedAt time.Time
	LastUsedIP string
	// Counts holds the number of verifications by result code.
	Counts map[Code]int64
	// Minutes holds the same verifications by the minute they happened
	// in (empty: the counts are not kept in buckets).
	Minutes []MinuteCounts
}

// MinuteCounts is the number of verifications of one key by result code
// in the minute that begins at Minute.
type MinuteCounts struct {
	Minute time.Time
	Counts map[Code]int64
}

// RevokedDigest is a tombstone: the digest of a revoked key, kept after the
// key is deleted so that the secret can never be imported again.
type RevokedDigest struct {
	Digest    apitoken.Digest
	KeyID     string
	RevokedAt time.Time
}

// TombstoneStore is an optional capability of a Store (both engines have
// it): reading and restoring the tombstones, for export and import of a
// whole installation.
type TombstoneStore interface {
	// RevokedDigests returns every tombstone, ordered by digest.
	RevokedDigests(ctx context.Context) ([]RevokedDigest, error)
	// AddRevokedDigests stores tombstones; existing ones are kept as they are.
	AddRevokedDigests(ctx context.Context, ds []RevokedDigest) error
}
