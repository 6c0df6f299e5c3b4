package storetest

import (
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// newKey returns an unstored key in keyspace "default" with a fresh ID and
// digest, changed by the options.
func newKey(t *testing.T, opts ...func(*token.Key)) *token.Key {
	t.Helper()
	k := &token.Key{
		ID:        newID("key"),
		Keyspace:  token.DefaultKeyspace,
		Name:      "test key",
		Digest:    apitoken.Hash(newID("secret")),
		Start:     "lk_AbCd",
		CreatedAt: t0,
		UpdatedAt: t0,
		Version:   1,
	}
	for _, o := range opts {
		o(k)
	}
	return k
}

// createKey stores a key built by newKey, creating its keyspace first if
// it does not exist yet.
func createKey(t *testing.T, s token.Store, opts ...func(*token.Key)) *token.Key {
	t.Helper()
	k := newKey(t, opts...)
	if _, err := s.Keyspace(bg, k.Keyspace); errors.Is(err, token.ErrNotFound) {
		keyspace(t, s, k.Keyspace)
	} else if err != nil {
		t.Fatalf("Keyspace(%s): %v", k.Keyspace, err)
	}
	if err := s.CreateKey(bg, k.Clone(), event("key.create", "key", k.ID)); err != nil {
		t.Fatalf("CreateKey(%s): %v", k.ID, err)
	}
	return k
}

// keyVariants cover every field of Key and the values that a backend could
// confuse: nil against zero against set.
var keyVariants = []struct {
	name string
	opt  func(*token.Key)
}{
	{"minimal", func(*token.Key) {}},
	{"every field set", func(k *token.Key) {
		k.Keyspace = "acme"
		k.Owner = &token.Owner{Type: token.User, ID: "alice@example.com"}
		k.IdempotencyKey = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
		k.RateLimits = []ratelimit.Limit{{Name: "requests", Limit: 100, Window: time.Minute}, {Name: "daily", Limit: 1e6, Window: 24*time.Hour + 1}}
		k.IPAllow = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}
		k.Refill = &token.Refill{Interval: token.RefillMonthly, Amount: 50000}
		k.RefilledAt = t0.Add(-time.Hour)
		k.Scopes = []string{"billing:read", "invoices:*", "users:write"}
		k.Metadata = json.RawMessage(`{"plan":"pro","limits":{"rps":10},"tags":["a","b"],"n":null}`)
		k.Foreign = true
		k.UpdatedAt = t0.Add(time.Hour + 7)
		k.ExpiresAt = t0.Add(30*24*time.Hour + 1)
		k.TTL = 30*24*time.Hour + 1
		k.Disabled = true
		k.RevokedAt = t0.Add(2*time.Hour + 3)
		k.RevokeReason = "leaked in a public repository"
		k.Remaining = ptr(int64(42))
		k.RotatedFrom = "key_from"
		k.RotatedTo = "key_to"
		k.LineageID = "key_first"
		k.LastUsedAt = t0.Add(90*time.Minute + 9)
		k.LastUsedIP = "2001:db8::1"
		k.SigningSecret = everyByte("sealed:")
		k.DPoPJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
		k.Version = 7
	}},
	{"app owner", func(k *token.Key) { k.Owner = &token.Owner{Type: token.App, ID: "billing-service"} }},
	{"no credits limit", func(k *token.Key) { k.Remaining = nil }},
	{"zero credits left", func(k *token.Key) { k.Remaining = ptr(int64(0)) }},
	{"large credits", func(k *token.Key) { k.Remaining = ptr(int64(1) << 53) }},
	{"empty metadata object", func(k *token.Key) { k.Metadata = json.RawMessage(`{}`) }},
	{"one scope", func(k *token.Key) { k.Scopes = []string{"admin"} }},
	{"expiry without TTL", func(k *token.Key) { k.ExpiresAt = t0.Add(time.Nanosecond) }},
	{"far future expiry", func(k *token.Key) {
		k.ExpiresAt = time.Date(2199, 12, 31, 23, 59, 59, 999999999, time.UTC)
		k.TTL = k.ExpiresAt.Sub(t0)
	}},
	{"unicode name", func(k *token.Key) { k.Name = "clé de test — 日本語 🔑" }},
	{"one-byte signing secret", func(k *token.Key) { k.SigningSecret = []byte{0} }},
}

// everyByte returns prefix followed by every byte value, as a sealed
// secret may hold any.
func everyByte(prefix string) []byte {
	b := []byte(prefix)
	for i := range 256 {
		b = append(b, byte(i))
	}
	return b
}

var keyTests = []test{
	{"stored keys round-trip every field by ID and by digest", func(t *testing.T, s token.Store) {
		keyspace(t, s, token.DefaultKeyspace)
		keyspace(t, s, "acme")
		for _, v := range keyVariants {
			t.Run(v.name, func(t *testing.T) {
				want := newKey(t, v.opt)
				if err := s.CreateKey(bg, want.Clone(), event("key.create", "key", want.ID)); err != nil {
					t.Fatalf("CreateKey: %v", err)
				}
				equal(t, "KeyByID", getKey(t, s, want.ID), want)
				got, err := s.KeyByDigest(bg, want.Digest)
				if err != nil {
					t.Fatalf("KeyByDigest: %v", err)
				}
				equal(t, "KeyByDigest", got, want)
			})
		}
	}},
	{"CreateKey writes its audit event", func(t *testing.T, s token.Store) {
		keyspace(t, s, token.DefaultKeyspace)
		n := auditCount(t, s)
		k := newKey(t)
		ev := event("key.create", "key", k.ID)
		ev.Detail = map[string]string{"keyspace": k.Keyspace, "start": k.Start}
		if err := s.CreateKey(bg, k, ev); err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		wantAudit(t, s, n, ev)
	}},
	{"CreateKey with an existing ID returns ErrConflict and changes nothing", func(t *testing.T, s token.Store) {
		first := createKey(t, s)
		n := auditCount(t, s)
		dup := newKey(t, func(k *token.Key) { k.ID, k.Name = first.ID, "impostor" })
		ev := event("key.create", "key", dup.ID)
		wantErr(t, "CreateKey", s.CreateKey(bg, dup, ev), token.ErrConflict)
		equal(t, "first key", getKey(t, s, first.ID), first)
		if _, err := s.KeyByDigest(bg, dup.Digest); !errors.Is(err, token.ErrNotFound) {
			t.Errorf("KeyByDigest of the refused key: error = %v, want ErrNotFound", err)
		}
		wantNoAudit(t, s, n, ev)
	}},
	{"CreateKey with an existing digest returns ErrConflict and changes nothing", func(t *testing.T, s token.Store) {
		first := createKey(t, s)
		n := auditCount(t, s)
		dup := newKey(t, func(k *token.Key) { k.Digest = first.Digest })
		ev := event("key.create", "key", dup.ID)
		wantErr(t, "CreateKey", s.CreateKey(bg, dup, ev), token.ErrConflict)
		if _, err := s.KeyByID(bg, dup.ID); !errors.Is(err, token.ErrNotFound) {
			t.Errorf("KeyByID of the refused key: error = %v, want ErrNotFound", err)
		}
		got, err := s.KeyByDigest(bg, first.Digest)
		if err != nil {
			t.Fatalf("KeyByDigest: %v", err)
		}
		equal(t, "key by the shared digest", got, first)
		wantNoAudit(t, s, n, ev)
	}},
	{"KeyByID of a missing key returns ErrNotFound", func(t *testing.T, s token.Store) {
		createKey(t, s)
		_, err := s.KeyByID(bg, newID("key"))
		wantErr(t, "KeyByID", err, token.ErrNotFound)
	}},
	{"KeyByDigest of an unknown digest returns ErrNotFound", func(t *testing.T, s token.Store) {
		createKey(t, s)
		_, err := s.KeyByDigest(bg, apitoken.Hash("lk_unknown"))
		wantErr(t, "KeyByDigest", err, token.ErrNotFound)
		_, err = s.KeyByDigest(bg, apitoken.Digest{})
		wantErr(t, "KeyByDigest(zero digest)", err, token.ErrNotFound)
	}},
	{"stored keys do not share memory with the caller", func(t *testing.T, s token.Store) {
		keyspace(t, s, token.DefaultKeyspace)
		k := newKey(t, func(k *token.Key) {
			k.Owner = &token.Owner{Type: token.User, ID: "u1"}
			k.Scopes = []string{"a", "b"}
			k.Remaining = ptr(int64(5))
			k.Metadata = json.RawMessage(`{"a":1}`)
			k.SigningSecret = []byte("sealed")
		})
		want := k.Clone()
		if err := s.CreateKey(bg, k, event("key.create", "key", k.ID)); err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		k.Owner.ID, k.Scopes[0], *k.Remaining, k.Metadata[1], k.SigningSecret[0] = "u2", "z", 99, ' ', 'x'
		got := getKey(t, s, want.ID)
		equal(t, "after changing the created key", got, want)
		got.Owner.ID, got.Scopes[0], *got.Remaining = "u3", "y", 98
		if len(got.SigningSecret) > 0 {
			got.SigningSecret[0] = 'y'
		}
		equal(t, "after changing a returned key", getKey(t, s, want.ID), want)
	}},
}
