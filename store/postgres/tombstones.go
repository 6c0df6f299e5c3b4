package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/token"
)

var _ token.TombstoneStore = (*DB)(nil)

// RevokedDigests returns every tombstone of a revoked key, by digest.
func (db *DB) RevokedDigests(ctx context.Context) ([]token.RevokedDigest, error) {
	rows, err := db.pool.Query(ctx, "SELECT digest, key_id, revoked_at FROM revoked_digests ORDER BY digest")
	if err != nil {
		return nil, fmt.Errorf("postgres: revoked digests: %w", err)
	}
	defer rows.Close()
	var out []token.RevokedDigest
	for rows.Next() {
		var d []byte
		var r token.RevokedDigest
		var at int64
		if err := rows.Scan(&d, &r.KeyID, &at); err != nil {
			return nil, fmt.Errorf("postgres: revoked digests: %w", err)
		}
		if len(d) != len(r.Digest) {
			return nil, fmt.Errorf("postgres: revoked digests: digest of %d bytes", len(d))
		}
		copy(r.Digest[:], d)
		r.RevokedAt = time.Unix(0, at).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: revoked digests: %w", err)
	}
	return out, nil
}

// AddRevokedDigests stores tombstones, keeping existing ones.
func (db *DB) AddRevokedDigests(ctx context.Context, ds []token.RevokedDigest) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range ds {
			b.Queue("INSERT INTO revoked_digests (digest, key_id, revoked_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING",
				r.Digest[:], r.KeyID, r.RevokedAt.UnixNano())
		}
		return execBatch(ctx, tx, b)
	})
	if err != nil {
		return fmt.Errorf("postgres: add %d revoked digests: %w", len(ds), err)
	}
	return nil
}
