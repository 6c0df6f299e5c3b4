package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// errAbort is what the suite's update functions return to refuse a change.
type errAbort struct{ id string }

func (e *errAbort) Error() string { return "storetest: refused to change " + e.id }

var updateTests = []test{
	{"applies the change, increments Version by one and writes the event", func(t *testing.T, s token.Store) {
		k := createKey(t, s, func(k *token.Key) { k.Version = 3 })
		n := auditCount(t, s)
		ev := event("key.update", "key", k.ID)
		want := k.Clone()
		want.Name, want.Scopes, want.Disabled, want.Remaining = "renamed", []string{"x", "y"}, true, ptr(int64(0))
		want.Owner, want.Metadata = &token.Owner{Type: token.App, ID: "svc"}, json.RawMessage(`{"k":"v"}`)
		want.UpdatedAt, want.ExpiresAt, want.TTL = t0.Add(time.Second), t0.Add(time.Hour), time.Hour
		want.Version = 4
		got, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error {
			k.Name, k.Scopes, k.Disabled, k.Remaining = want.Name, want.Scopes, true, ptr(int64(0))
			k.Owner, k.Metadata = want.Owner, want.Metadata
			k.UpdatedAt, k.ExpiresAt, k.TTL = want.UpdatedAt, want.ExpiresAt, want.TTL
			return nil
		}, ev)
		if err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
		equal(t, "returned key", got, want)
		equal(t, "stored key", getKey(t, s, k.ID), want)
		byDigest, err := s.KeyByDigest(bg, k.Digest)
		if err != nil {
			t.Fatalf("KeyByDigest: %v", err)
		}
		equal(t, "stored key by digest", byDigest, want)
		wantAudit(t, s, n, ev)
	}},
	{"gives fn the stored key and ignores the Version fn sets", func(t *testing.T, s token.Store) {
		k := createKey(t, s, keyVariants[1].opt)
		got, err := s.UpdateKey(bg, k.ID, func(cur *token.Key) error {
			equal(t, "key given to fn", cur, k)
			cur.Version = 100
			return nil
		}, event("key.update", "key", k.ID))
		if err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
		if got.Version != k.Version+1 || getKey(t, s, k.ID).Version != k.Version+1 {
			t.Errorf("Version = %d returned, %d stored; want %d", got.Version, getKey(t, s, k.ID).Version, k.Version+1)
		}
	}},
	{"clears optional fields", func(t *testing.T, s token.Store) {
		k := createKey(t, s, keyVariants[1].opt)
		want := k.Clone()
		want.Owner, want.Scopes, want.Metadata, want.Remaining = nil, nil, nil, nil
		want.ExpiresAt, want.TTL, want.RevokedAt, want.RevokeReason = time.Time{}, 0, time.Time{}, ""
		want.LastUsedAt, want.LastUsedIP, want.RotatedFrom, want.RotatedTo = time.Time{}, "", "", ""
		want.Disabled, want.Foreign, want.Version = false, false, k.Version+1
		want.SigningSecret = nil
		_, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error {
			k.SigningSecret = nil
			k.Owner, k.Scopes, k.Metadata, k.Remaining = nil, nil, nil, nil
			k.ExpiresAt, k.TTL, k.RevokedAt, k.RevokeReason = time.Time{}, 0, time.Time{}, ""
			k.LastUsedAt, k.LastUsedIP, k.RotatedFrom, k.RotatedTo = time.Time{}, "", "", ""
			k.Disabled, k.Foreign = false, false
			return nil
		}, event("key.update", "key", k.ID))
		if err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
		equal(t, "stored key", getKey(t, s, k.ID), want)
	}},
	{"writes the event after fn ran so that fn can fill its detail", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		n := auditCount(t, s)
		ev := event("key.update", "key", k.ID)
		ev.Detail = map[string]string{}
		_, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error {
			k.Name = "filled"
			ev.Detail["name"] = "changed"
			ev.Detail["remaining"] = "unlimited"
			return nil
		}, ev)
		if err != nil {
			t.Fatalf("UpdateKey: %v", err)
		}
		wantAudit(t, s, n, ev)
	}},
	{"an error from fn aborts, changes nothing and comes back", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		n := auditCount(t, s)
		ev := event("key.update", "key", k.ID)
		abort := &errAbort{k.ID}
		got, err := s.UpdateKey(bg, k.ID, func(cur *token.Key) error {
			cur.Name, cur.Disabled, cur.RevokedAt = "changed", true, t0
			return fmt.Errorf("wrapped: %w", abort)
		}, ev)
		var target *errAbort
		if !errors.Is(err, abort) || !errors.As(err, &target) || target != abort {
			t.Fatalf("UpdateKey error = %v, want fn's error (errors.Is and errors.As)", err)
		}
		if got != nil {
			t.Errorf("UpdateKey returned key %v with an error", got)
		}
		equal(t, "stored key", getKey(t, s, k.ID), k)
		wantNoAudit(t, s, n, ev)
	}},
	{"a domain error from fn keeps its kind", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		_, err := s.UpdateKey(bg, k.ID, func(*token.Key) error { return token.ErrNotFound }, event("key.update", "key", k.ID))
		wantErr(t, "UpdateKey", err, token.ErrNotFound)
		getKey(t, s, k.ID)
	}},
	{"a missing key returns ErrNotFound without calling fn", func(t *testing.T, s token.Store) {
		createKey(t, s)
		n := auditCount(t, s)
		ev := event("key.update", "key", "key_missing")
		_, err := s.UpdateKey(bg, newID("key"), func(*token.Key) error {
			t.Error("fn called for a missing key")
			return nil
		}, ev)
		wantErr(t, "UpdateKey", err, token.ErrNotFound)
		wantNoAudit(t, s, n, ev)
	}},
	{"concurrent updates do not lose each other's changes", func(t *testing.T, s token.Store) {
		const workers = 20
		k := createKey(t, s, func(k *token.Key) { k.Remaining = ptr(int64(0)) })
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				_, err := s.UpdateKey(bg, k.ID, func(k *token.Key) error {
					*k.Remaining++
					return nil
				}, event("key.update", "key", k.ID))
				if err != nil {
					t.Errorf("UpdateKey: %v", err)
				}
			})
		}
		wg.Wait()
		got := getKey(t, s, k.ID)
		if *got.Remaining != workers || got.Version != k.Version+workers {
			t.Errorf("after %d concurrent increments: remaining %d, version %d; want %d, %d",
				workers, *got.Remaining, got.Version, workers, k.Version+workers)
		}
	}},
}
