package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/token"
)

// RevokedDigests returns every tombstone of a revoked key, by digest.
func (db *DB) RevokedDigests(ctx context.Context) ([]token.RevokedDigest, error) {
	out, err := queryAll(ctx, db.e.reader(), "SELECT digest, key_id, revoked_at FROM revoked_digests ORDER BY digest", nil,
		func(s scanner) (token.RevokedDigest, error) {
			var d []byte
			var r token.RevokedDigest
			var at int64
			if err := s.Scan(&d, &r.KeyID, &at); err != nil {
				return r, err
			}
			if len(d) != len(r.Digest) {
				return r, fmt.Errorf("digest of %d bytes", len(d))
			}
			copy(r.Digest[:], d)
			r.RevokedAt = time.Unix(0, at).UTC()
			return r, nil
		})
	if err != nil {
		return nil, db.errorf("revoked digests: %w", err)
	}
	return out, nil
}

// AddRevokedDigests stores tombstones, keeping existing ones.
func (db *DB) AddRevokedDigests(ctx context.Context, ds []token.RevokedDigest) error {
	b := &batch{}
	for _, r := range ds {
		b.add("INSERT INTO revoked_digests (digest, key_id, revoked_at) VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING",
			r.Digest[:], r.KeyID, r.RevokedAt.UnixNano())
	}
	if err := db.e.inTx(ctx, func(q querier) error { return q.run(ctx, b) }); err != nil {
		return db.errorf("add %d revoked digests: %w", len(ds), err)
	}
	return nil
}
