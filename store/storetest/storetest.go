// Package storetest is the conformance suite of token.Store. Every storage
// backend runs Run from its own tests and must pass it unchanged, which is
// what lets an installation move between backends without surprises.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// test is one conformance check against a fresh, empty store.
type test struct {
	name string
	run  func(t *testing.T, s token.Store)
}

// Run runs the conformance suite. open must return a new, empty store each
// time it is called; Run closes every store it opened.
func Run(t *testing.T, open func(t *testing.T) token.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Keys", keyTests},
		{"ImportKeys", importTests},
		{"ConcurrentCreate", concurrentCreateTests},
		{"ListKeys", listTests},
		{"UpdateKey", updateTests},
		{"RotateKey", rotateTests},
		{"DeleteKey", deleteTests},
		{"SpendCredits", creditTests},
		{"Refill", refillTests},
		{"Limits", limitTests},
		{"RecordUsage", usageTests},
		{"UsageBuckets", analyticsTests},
		{"TopKeysByUsage", topKeysTests},
		{"Keyspaces", keyspaceTests},
		{"Principals", principalTests},
		{"Audit", auditTests},
		{"SigningKeys", signingTests},
		{"Revocations", revocationTests},
		{"SigningSecret", signingSecretTests},
		{"KeySecret", keySecretTests},
		{"Nonces", nonceTests},
		{"Idempotency", idempotencyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					s := open(t)
					defer func() {
						if err := s.Close(); err != nil {
							t.Errorf("Close: %v", err)
						}
					}()
					tc.run(t, s)
				})
			}
		})
	}
	t.Run("Lifecycle", func(t *testing.T) {
		t.Run("Ping answers on an open store", func(t *testing.T) {
			s := open(t)
			defer s.Close()
			if err := s.Ping(bg); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		})
		t.Run("Ping fails after Close", func(t *testing.T) {
			s := open(t)
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := s.Ping(bg); err == nil {
				t.Fatal("Ping after Close = nil, want an error: a closed store cannot answer")
			}
		})
	})
}

// bg is the context of every call; the suite does not test cancellation.
var bg = context.Background()

// t0 is the suite's reference time: UTC, with nanoseconds, so that a
// backend that rounds times fails.
var t0 = time.Date(2026, 5, 17, 10, 30, 0, 123456789, time.UTC)

// newID returns a fresh random, time-ordered ID.
func newID(prefix string) string { return token.NewID(prefix, time.Now()) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// event returns a new audit event for a successful action on a target.
func event(action, targetType, targetID string) *token.AuditEvent {
	return &token.AuditEvent{
		ID:         newID("aud"),
		Time:       t0.Add(time.Minute),
		ActorKeyID: "key_actor",
		Action:     action,
		TargetType: targetType,
		TargetID:   targetID,
		Outcome:    token.OutcomeSuccess,
		RequestID:  "req-" + targetID,
		Detail:     map[string]string{"via": "storetest"},
	}
}

// keyspace stores a keyspace called name, changed by the options.
func keyspace(t *testing.T, s token.Store, name string, opts ...func(*token.Keyspace)) *token.Keyspace {
	t.Helper()
	ks := &token.Keyspace{Name: name, Prefix: "p_" + name, AllowPermanent: true, CreatedAt: t0, UpdatedAt: t0}
	for _, o := range opts {
		o(ks)
	}
	if err := s.CreateKeyspace(bg, ks, event("keyspace.create", "keyspace", name)); err != nil {
		t.Fatalf("CreateKeyspace(%s): %v", name, err)
	}
	return ks
}

// principal stores a principal of type typ called id.
func principal(t *testing.T, s token.Store, typ token.PrincipalType, id string, opts ...func(*token.Principal)) *token.Principal {
	t.Helper()
	p := &token.Principal{Type: typ, ID: id, Name: "name of " + id, CreatedAt: t0, UpdatedAt: t0, Version: 1}
	for _, o := range opts {
		o(p)
	}
	if err := s.CreatePrincipal(bg, p, event(string(typ)+".create", string(typ), id)); err != nil {
		t.Fatalf("CreatePrincipal(%s, %s): %v", typ, id, err)
	}
	return p
}

// getKey returns key id, failing the test if it cannot.
func getKey(t *testing.T, s token.Store, id string) *token.Key {
	t.Helper()
	k, err := s.KeyByID(bg, id)
	if err != nil {
		t.Fatalf("KeyByID(%s): %v", id, err)
	}
	return k
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want one matching %v", what, err, target)
	}
}
