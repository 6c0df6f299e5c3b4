package token

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
const MaxIdempotencyKeyLen = 255

// idempotencyDigest scopes a client's Idempotency-Key to the credential
// that sent it, so two callers cannot collide or probe each other's keys.
func idempotencyDigest(actorKeyID, key string) string {
	sum := sha256.Sum256([]byte(actorKeyID + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

func validIdempotencyKey(k string) error {
	if len(k) > MaxIdempotencyKeyLen {
		return invalidf("Idempotency-Key is longer than %d characters", MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return invalidf("Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}

// replayed reports the key an earlier request with the same idempotency
// digest created, as a Conflict that names it. The plaintext was shown
// only in the first response and is not stored, so it cannot be repeated.
func (s *Service) replayed(ctx context.Context, digest string) error {
	keys, _, err := s.store.ListKeys(ctx, KeyFilter{IdempotencyKey: digest, Limit: 1})
	if err != nil {
		return storeErr(err, "look up idempotency key")
	}
	if len(keys) == 0 {
		return nil
	}
	return conflictf("idempotency_key_reused",
		"key %s was already created with this Idempotency-Key; its secret was shown only in that response. If it was lost, revoke %s and create a new key with a new Idempotency-Key",
		keys[0].ID, keys[0].ID)
}
