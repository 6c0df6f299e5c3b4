package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// signingKey returns a record called kid that starts signing at notBefore,
// with nanosecond times and a sealed blob holding every byte value.
func signingKey(kid string, notBefore time.Time) token.SigningKeyRecord {
	sealed := make([]byte, 256)
	for i := range sealed {
		sealed[i] = byte(i)
	}
	return token.SigningKeyRecord{
		KID: kid, Alg: "EdDSA", Sealed: append([]byte(kid+":"), sealed...),
		NotBefore: notBefore, SignUntil: notBefore.Add(24*time.Hour + 1), RetireAt: notBefore.Add(48*time.Hour + 2),
		CreatedAt: notBefore.Add(-time.Minute - 3),
	}
}

// swap calls SwapSigningKeys and fails the test unless it returns version+1.
func swap(t *testing.T, s token.Store, version int64, put []token.SigningKeyRecord, del []string, evs ...*token.AuditEvent) {
	t.Helper()
	got, err := s.SwapSigningKeys(bg, version, put, del, evs)
	if err != nil || got != version+1 {
		t.Fatalf("SwapSigningKeys(version %d) = %d, %v; want %d, nil", version, got, err, version+1)
	}
}

// wantRing fails the test unless the store holds exactly want, in that
// order, at version.
func wantRing(t *testing.T, s token.Store, version int64, want ...token.SigningKeyRecord) {
	t.Helper()
	got, v, err := s.SigningKeys(bg)
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	if v != version {
		t.Errorf("ring version %d, want %d", v, version)
	}
	if kids(got) != kids(want) {
		t.Fatalf("ring holds %s, want %s", kids(got), kids(want))
	}
	for i := range got {
		equal(t, "signing key "+got[i].KID, &got[i], &want[i])
	}
}

func kids(rs []token.SigningKeyRecord) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.KID
	}
	return fmt.Sprint(s)
}

var signingTests = []test{
	{"a ring never written is empty at version 0", func(t *testing.T, s token.Store) {
		wantRing(t, s, 0)
	}},
	{"records round-trip ordered by NotBefore then KID", func(t *testing.T, s token.Store) {
		a, b, c := signingKey("b-later", t0.Add(time.Hour)), signingKey("z-first", t0), signingKey("a-later", t0.Add(time.Hour))
		d := token.SigningKeyRecord{KID: "0-zero-times", Alg: "ES256", Sealed: []byte{0}}
		swap(t, s, 0, []token.SigningKeyRecord{a, b, c, d}, nil)
		wantRing(t, s, 1, d, b, c, a)
	}},
	{"every swap increments the version by one", func(t *testing.T, s token.Store) {
		for v := range int64(4) {
			swap(t, s, v, []token.SigningKeyRecord{signingKey(fmt.Sprint("k", v), t0.Add(time.Duration(v)))}, nil)
		}
		swap(t, s, 4, nil, nil) // a swap that changes no key still counts
		wantRing(t, s, 5, signingKey("k0", t0), signingKey("k1", t0.Add(1)), signingKey("k2", t0.Add(2)), signingKey("k3", t0.Add(3)))
	}},
	{"put replaces by KID and del removes", func(t *testing.T, s token.Store) {
		a, b, c := signingKey("a", t0), signingKey("b", t0.Add(time.Hour)), signingKey("c", t0.Add(2*time.Hour))
		swap(t, s, 0, []token.SigningKeyRecord{a, b, c}, nil)
		a2 := signingKey("a", t0.Add(3*time.Hour))
		a2.Alg, a2.Sealed = "ES256", []byte("resealed")
		d := signingKey("d", t0.Add(-time.Hour))
		swap(t, s, 1, []token.SigningKeyRecord{a2, d}, []string{"b", "missing"})
		wantRing(t, s, 2, d, c, a2)
		swap(t, s, 2, nil, []string{"a", "c", "d"})
		wantRing(t, s, 3)
	}},
	{"appends the events", func(t *testing.T, s token.Store) {
		n := auditCount(t, s)
		ev1, ev2 := event("signing_key.create", "signing_key", "a"), event("signing_key.retire", "signing_key", "b")
		swap(t, s, 0, []token.SigningKeyRecord{signingKey("a", t0)}, []string{"b"}, ev1, ev2)
		all := allAudit(t, s)
		if len(all) != n+2 {
			t.Fatalf("audit log has %d events, want %d", len(all), n+2)
		}
		for _, want := range []*token.AuditEvent{ev1, ev2} {
			found := false
			for _, got := range all {
				if got.ID == want.ID {
					found = true
					equal(t, "audit event "+want.ID, got, want)
				}
			}
			if !found {
				t.Errorf("audit log lacks event %s", want.ID)
			}
		}
	}},
	{"a stale version returns ErrConflict and changes nothing", func(t *testing.T, s token.Store) {
		a := signingKey("a", t0)
		swap(t, s, 0, []token.SigningKeyRecord{a}, nil)
		swap(t, s, 1, []token.SigningKeyRecord{signingKey("b", t0.Add(time.Hour))}, nil)
		for _, stale := range []int64{0, 1, 3, -1} {
			n := auditCount(t, s)
			ev := event("signing_key.rotate", "signing_key", "c")
			replaced := signingKey("a", t0.Add(time.Minute))
			replaced.Sealed = []byte("stale")
			got, err := s.SwapSigningKeys(bg, stale, []token.SigningKeyRecord{replaced, signingKey("c", t0)},
				[]string{"b"}, []*token.AuditEvent{ev})
			wantErr(t, fmt.Sprintf("SwapSigningKeys(version %d)", stale), err, token.ErrConflict)
			if got != 0 {
				t.Errorf("SwapSigningKeys(version %d) returned version %d with an error", stale, got)
			}
			wantRing(t, s, 2, a, signingKey("b", t0.Add(time.Hour)))
			wantNoAudit(t, s, n, ev)
		}
	}},
	{"of concurrent swaps at one version exactly one wins", func(t *testing.T, s token.Store) {
		const workers = 8
		for _, version := range []int64{0, 1} { // the ring's first write, then an update
			n := auditCount(t, s)
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				winners []int
				evs     [workers]*token.AuditEvent
			)
			for i := range workers {
				evs[i] = event("signing_key.rotate", "signing_key", fmt.Sprint("w", version, i))
				wg.Go(func() {
					put := []token.SigningKeyRecord{signingKey(fmt.Sprint("w", version, i), t0)}
					got, err := s.SwapSigningKeys(bg, version, put, nil, []*token.AuditEvent{evs[i]})
					switch {
					case err == nil && got == version+1:
						mu.Lock()
						winners = append(winners, i)
						mu.Unlock()
					case err == nil:
						t.Errorf("SwapSigningKeys(version %d) = %d, want %d", version, got, version+1)
					case !errors.Is(err, token.ErrConflict):
						t.Errorf("losing SwapSigningKeys(version %d): %v, want ErrConflict", version, err)
					}
				})
			}
			wg.Wait()
			if len(winners) != 1 {
				t.Fatalf("at version %d: %d swaps won (%v), want exactly 1", version, len(winners), winners)
			}
			w := winners[0]
			ring, v, err := s.SigningKeys(bg)
			if err != nil || v != version+1 {
				t.Fatalf("SigningKeys = version %d, %v; want %d", v, err, version+1)
			}
			if want := signingKey(fmt.Sprint("w", version, w), t0).KID; ring[len(ring)-1].KID != want || len(ring) != int(version)+1 {
				t.Errorf("ring after the race holds %s, want the winner's %s added", kids(ring), want)
			}
			wantAudit(t, s, n, evs[w])
		}
	}},
}
