package signer_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock          { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)           { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration)       { c.ns.Add(int64(d)) }
func (c *clock) now() time.Time            { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) nowFunc() func() time.Time { return c.now }

var (
	t0     = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	master = [32]byte{1, 2, 3}
	sched  = signer.Schedule{Lead: 10 * time.Minute, Period: time.Hour}
)

func openSQLite(t *testing.T) token.Store {
	t.Helper()
	db, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "lk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newManager(t *testing.T, st token.SigningKeyStore, c *clock) *signer.Manager {
	t.Helper()
	m, err := signer.NewManager(signer.ManagerConfig{Store: st, MasterKey: master, Schedule: sched, Now: c.nowFunc()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func issue(t *testing.T, m *signer.Manager, now time.Time, ttl time.Duration) string {
	t.Helper()
	tok, err := signer.Issue(m.Ring(), signer.AccessClaims{Issuer: "https://lk", Subject: "key_1",
		Audience: []string{"api"}, Expiry: now.Add(ttl)}, now)
	if err != nil {
		t.Fatalf("issue at %v: %v", now, err)
	}
	return tok
}

// verifyAgainst checks tok with only the keys of ring's JWKS at now.
func verifyAgainst(ring *signer.Ring, tok string, now time.Time) error {
	v := signer.Verifier{Keys: ring, Issuer: "https://lk", Audience: "api", Now: func() time.Time { return now }}
	_, err := v.Verify(tok)
	return err
}

func TestManagerFirstKeySignsAtOnce(t *testing.T) {
	c := newClock(t0)
	m := newManager(t, openSQLite(t), c)
	changed, err := m.Ensure(t.Context())
	if err != nil || !changed {
		t.Fatalf("Ensure on an empty store: changed=%v err=%v", changed, err)
	}
	k, err := m.Ring().Signing(c.now())
	if err != nil || k.Alg != signer.EdDSA {
		t.Fatalf("signing key: %v %v", k, err)
	}
	if changed, err := m.Ensure(t.Context()); err != nil || changed {
		t.Errorf("second Ensure changed=%v err=%v, want nothing to do", changed, err)
	}
}

// TestSEC_JWT15_ScheduleLifecycle walks a key ring through two periods:
// (a) a successor is in the JWKS at least Lead before it signs; (b) tokens
// of the old key verify until their expiry; (c) after retirement the old
// key is gone and its tokens fail; (e) no two keys share a kid.
func TestSEC_JWT15_ScheduleLifecycle(t *testing.T) {
	c := newClock(t0)
	st := openSQLite(t)
	m := newManager(t, st, c)
	if _, err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	first, _ := m.Ring().Signing(c.now())
	// Near the end of the period (within 2·Lead) a successor appears.
	c.set(first.SignUntil.Add(-2*sched.Lead + time.Second))
	if changed, err := m.Ensure(t.Context()); err != nil || !changed {
		t.Fatalf("Ensure near the end of the period: %v %v", changed, err)
	}
	published := c.now()
	var next *signer.Key
	for _, k := range m.Ring().Keys() {
		if k.ID != first.ID {
			next = k
		}
	}
	if next == nil {
		t.Fatal("no successor in the ring")
	}
	if lead := next.NotBefore.Sub(published); lead < sched.Lead {
		t.Errorf("(a) successor signs %v after it is published, want ≥ %v", lead, sched.Lead)
	}
	if !jwksHas(t, m.Ring(), next.ID, published) {
		t.Error("(a) successor not in the JWKS when created")
	}
	if k, _ := m.Ring().Signing(c.now()); k.ID != first.ID {
		t.Errorf("successor signs before its time")
	}
	oldTok := issue(t, m, c.now(), time.Hour)
	c.set(next.NotBefore)
	if k, _ := m.Ring().Signing(c.now()); k.ID != next.ID {
		t.Fatalf("at its NotBefore the successor does not sign")
	}
	// (b) the old key's token verifies until it expires...
	c.set(published.Add(time.Hour))
	if _, err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := verifyAgainst(m.Ring(), oldTok, c.now()); err != nil {
		t.Errorf("(b) old key's token at its expiry: %v", err)
	}
	// (c) ...and once the old key retires it is gone.
	old := keyByID(m.Ring(), first.ID)
	c.set(old.RetireAt.Add(time.Second))
	if _, err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if jwksHas(t, m.Ring(), first.ID, c.now()) || keyByID(m.Ring(), first.ID) != nil {
		t.Error("(c) retired key still in the ring")
	}
	if err := verifyAgainst(m.Ring(), oldTok, c.now()); err == nil {
		t.Error("(c) token of a retired key verifies")
	}
	recs, _, err := st.SigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.KID] || r.KID == first.ID {
			t.Errorf("(e) store holds kid %s twice or after retirement", r.KID)
		}
		seen[r.KID] = true
		if strings.Contains(string(r.Sealed), "PRIVATE") {
			t.Error("sealed key looks like plaintext PEM")
		}
	}
}

func keyByID(r *signer.Ring, kid string) *signer.Key {
	for _, k := range r.Keys() {
		if k.ID == kid {
			return k
		}
	}
	return nil
}

func jwksHas(t *testing.T, r *signer.Ring, kid string, now time.Time) bool {
	t.Helper()
	b, err := r.JWKS(now)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), `"kid":"`+kid+`"`)
}

func TestManagerRotateOnDemand(t *testing.T) {
	c := newClock(t0)
	m := newManager(t, openSQLite(t), c)
	if _, err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	cur, _ := m.Ring().Signing(c.now())
	tok := issue(t, m, c.now(), time.Hour)
	k, err := m.Rotate(t.Context(), signer.RotateOptions{Alg: signer.ES256})
	if err != nil {
		t.Fatal(err)
	}
	if k.Alg != signer.ES256 || !k.NotBefore.Equal(c.now().Add(sched.Lead)) {
		t.Errorf("rotated key %s %v, want ES256 signing at now+lead", k.Alg, k.NotBefore)
	}
	// Rotating again a minute later replaces the pending key, which never
	// signed; the current key keeps signing until the replacement is due
	// (no gap at the replaced key's start).
	c.add(time.Minute)
	k2, err := m.Rotate(t.Context(), signer.RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if keyByID(m.Ring(), k.ID) != nil || keyByID(m.Ring(), k2.ID) == nil {
		t.Error("second rotation did not replace the pending key")
	}
	// The old key signs until the new one starts, and its token still
	// verifies afterwards.
	for _, at := range []time.Time{c.now(), k.NotBefore, k2.NotBefore.Add(-time.Nanosecond)} {
		if s, err := m.Ring().Signing(at); err != nil || s.ID != cur.ID {
			t.Errorf("at %v: signing key %v (%v), want the old one until the new one is due", at, s, err)
		}
	}
	c.add(sched.Lead)
	if s, _ := m.Ring().Signing(c.now()); s.ID != k2.ID {
		t.Error("new key does not sign after the lead")
	}
	if err := verifyAgainst(m.Ring(), tok, c.now()); err != nil {
		t.Errorf("old key's token after rotation: %v", err)
	}
	// Immediately: every other key is withdrawn and the new one signs.
	k3, err := m.Rotate(t.Context(), signer.RotateOptions{Immediately: true})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Ring().Signing(c.now()); s.ID != k3.ID {
		t.Error("immediate rotation: new key does not sign at once")
	}
	if len(m.Ring().Keys()) != 1 || verifyAgainst(m.Ring(), tok, c.now()) == nil {
		t.Error("immediate rotation left old keys published")
	}
}

// TestManagerWrongMasterKey: a ring sealed with another master key is an
// error at load, never a silently new ring.
func TestManagerWrongMasterKey(t *testing.T) {
	c := newClock(t0)
	st := openSQLite(t)
	if _, err := newManager(t, st, c).Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	m, err := signer.NewManager(signer.ManagerConfig{Store: st, MasterKey: [32]byte{9}, Now: c.nowFunc()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Ensure(t.Context())
	if !errors.Is(err, signer.ErrSealed) || !strings.Contains(err.Error(), "LATCHKEY_MASTER_KEY") {
		t.Fatalf("Ensure with the wrong master key: %v", err)
	}
}

// TestManagerExactlyOneNodeRotates: several managers sharing one store
// (nodes) run the schedule at the same moment; exactly one creates each key.
func TestManagerExactlyOneNodeRotates(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { exactlyOne(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.URL(t)
		schema := pgtest.Schema(t, url, "lk_signer_")
		db, err := sqlstore.OpenPostgres(t.Context(), url, sqlstore.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		exactlyOne(t, db)
	})
}

func exactlyOne(t *testing.T, st token.Store) {
	c := newClock(t0)
	const nodes = 6
	ms := make([]*signer.Manager, nodes)
	for i := range ms {
		ms[i] = newManager(t, st, c)
	}
	run := func() int {
		var wg sync.WaitGroup
		var changed atomic.Int32
		for _, m := range ms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch, err := m.Ensure(context.Background())
				if err != nil {
					t.Errorf("Ensure: %v", err)
				}
				if ch {
					changed.Add(1)
				}
			}()
		}
		wg.Wait()
		return int(changed.Load())
	}
	if n := run(); n != 1 {
		t.Errorf("first start: %d nodes created a key, want 1", n)
	}
	first, _ := ms[0].Ring().Signing(c.now())
	c.set(first.SignUntil.Add(-sched.Lead))
	if n := run(); n != 1 {
		t.Errorf("scheduled rotation: %d nodes rotated, want 1", n)
	}
	recs, _, err := st.SigningKeys(t.Context())
	if err != nil || len(recs) != 2 {
		t.Fatalf("store holds %d keys (%v), want 2", len(recs), err)
	}
	for i, m := range ms {
		if len(m.Ring().Keys()) != 2 {
			t.Errorf("node %d sees %d keys, want 2", i, len(m.Ring().Keys()))
		}
	}
	audit, _, err := st.ListAudit(t.Context(), token.AuditFilter{Action: "signing_key.rotate", Limit: 10})
	if err != nil || len(audit) != 2 {
		t.Errorf("audit has %d signing_key.rotate events (%v), want 2", len(audit), err)
	}
}
