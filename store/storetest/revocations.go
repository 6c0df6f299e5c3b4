package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// feed returns every revocation with Seq > after, checking that Seq
// increases.
func feed(t *testing.T, s token.Store, after int64) []token.Revocation {
	t.Helper()
	rs, err := s.Revocations(bg, after, time.Time{}, token.MaxPageSize)
	if err != nil {
		t.Fatalf("Revocations(after %d): %v", after, err)
	}
	for i, r := range rs {
		if r.Seq <= after || (i > 0 && r.Seq <= rs[i-1].Seq) {
			t.Fatalf("Revocations(after %d): seqs %v do not increase from %d", after, seqs(rs), after)
		}
	}
	return rs
}

func seqs(rs []token.Revocation) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.Seq
	}
	return out
}

// head returns RevocationHead, failing the test if it cannot.
func head(t *testing.T, s token.Store) int64 {
	t.Helper()
	h, err := s.RevocationHead(bg)
	if err != nil {
		t.Fatalf("RevocationHead: %v", err)
	}
	return h
}

// wantRevoked fails the test unless the revocations written since head
// before are exactly want (Seq aside), in order, and the head moved to the
// last of them.
func wantRevoked(t *testing.T, s token.Store, before int64, want ...token.Revocation) {
	t.Helper()
	got := feed(t, s, before)
	if len(got) != len(want) {
		t.Fatalf("%d revocations written, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		w := want[i]
		w.Seq = got[i].Seq
		equal(t, fmt.Sprintf("revocation %d", i), &got[i], &w)
	}
	if h := head(t, s); len(got) > 0 && h != got[len(got)-1].Seq {
		t.Errorf("RevocationHead = %d, want the last Seq %d", h, got[len(got)-1].Seq)
	} else if len(got) == 0 && h != before {
		t.Errorf("RevocationHead = %d, want it unchanged at %d", h, before)
	}
}

// updateKey applies fn to key id through UpdateKey.
func updateKey(t *testing.T, s token.Store, id string, fn func(*token.Key)) {
	t.Helper()
	_, err := s.UpdateKey(bg, id, func(k *token.Key) error { fn(k); return nil }, event("key.update", "key", id))
	if err != nil {
		t.Fatalf("UpdateKey(%s): %v", id, err)
	}
}

func keyRevocation(id string, at time.Time) token.Revocation {
	return token.Revocation{Kind: token.RevokedKey, Subject: id, At: at}
}

// expiring makes a key expire two days after t0.
func expiring(k *token.Key) { k.ExpiresAt = t0.Add(48 * time.Hour) }

var revocationTests = []test{
	{"an empty feed has head 0", func(t *testing.T, s token.Store) {
		createKey(t, s)
		if h := head(t, s); h != 0 {
			t.Errorf("RevocationHead = %d, want 0", h)
		}
		wantRevoked(t, s, 0)
	}},
	{"a key change that withdraws it writes one row at the earliest time", func(t *testing.T, s token.Store) {
		for _, tc := range []struct {
			name   string
			create func(*token.Key)
			change func(*token.Key)
			at     time.Time
		}{
			{"revoke: at RevokedAt", expiring, func(k *token.Key) {
				k.RevokedAt, k.RevokeReason, k.UpdatedAt = t0.Add(time.Hour), "leaked", t0.Add(2*time.Hour)
			}, t0.Add(time.Hour)},
			{"disable: at UpdatedAt", expiring, func(k *token.Key) {
				k.Disabled, k.UpdatedAt = true, t0.Add(time.Hour+1)
			}, t0.Add(time.Hour + 1)},
			{"earlier expiry: at the new expiry", expiring, func(k *token.Key) {
				k.ExpiresAt, k.UpdatedAt = t0.Add(24*time.Hour+1), t0.Add(time.Hour)
			}, t0.Add(24*time.Hour + 1)},
			{"expiry on a permanent key: at the expiry", nil, func(k *token.Key) {
				k.ExpiresAt = t0.Add(-time.Hour)
			}, t0.Add(-time.Hour)},
			{"revoke, disable and shorten at once: the expiry is earliest", expiring, func(k *token.Key) {
				k.RevokedAt, k.Disabled, k.UpdatedAt, k.ExpiresAt = t0.Add(3*time.Hour), true, t0.Add(2*time.Hour), t0.Add(time.Hour)
			}, t0.Add(time.Hour)},
			{"revoke, disable and shorten at once: the disable is earliest", expiring, func(k *token.Key) {
				k.RevokedAt, k.Disabled, k.UpdatedAt, k.ExpiresAt = t0.Add(3*time.Hour), true, t0.Add(time.Hour), t0.Add(2*time.Hour)
			}, t0.Add(time.Hour)},
			{"revoke and disable at once: the revocation is earliest", expiring, func(k *token.Key) {
				k.RevokedAt, k.Disabled, k.UpdatedAt = t0.Add(time.Hour), true, t0.Add(2*time.Hour)
			}, t0.Add(time.Hour)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				k := createKey(t, s, func(k *token.Key) {
					if tc.create != nil {
						tc.create(k)
					}
				})
				before := head(t, s)
				updateKey(t, s, k.ID, tc.change)
				wantRevoked(t, s, before, keyRevocation(k.ID, tc.at))
			})
		}
	}},
	{"a key change that withdraws nothing writes no row", func(t *testing.T, s token.Store) {
		for _, tc := range []struct {
			name   string
			create func(*token.Key)
			change func(*token.Key)
		}{
			{"rename", expiring, func(k *token.Key) { k.Name, k.UpdatedAt = "renamed", t0.Add(time.Hour) }},
			{"later expiry", expiring, func(k *token.Key) { k.ExpiresAt = t0.Add(72 * time.Hour) }},
			{"same expiry", expiring, func(k *token.Key) { k.UpdatedAt = t0.Add(time.Hour) }},
			{"expiry removed", expiring, func(k *token.Key) { k.ExpiresAt = time.Time{} }},
			{"enable", func(k *token.Key) { k.Disabled = true }, func(k *token.Key) { k.Disabled, k.UpdatedAt = false, t0.Add(time.Hour) }},
			{"disable again", func(k *token.Key) { k.Disabled = true }, func(k *token.Key) { k.UpdatedAt = t0.Add(time.Hour) }},
			{"revoked again", func(k *token.Key) { k.RevokedAt = t0 }, func(k *token.Key) { k.RevokedAt = t0.Add(-time.Hour) }},
			{"credits and scopes", nil, func(k *token.Key) { k.Remaining, k.Scopes = ptr(int64(9)), []string{"a"} }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				k := createKey(t, s, func(k *token.Key) {
					if tc.create != nil {
						tc.create(k)
					}
				})
				before := head(t, s)
				updateKey(t, s, k.ID, tc.change)
				wantRevoked(t, s, before)
			})
		}
	}},
	{"narrowing a key's scopes writes one row at UpdatedAt; widening none", func(t *testing.T, s token.Store) {
		k := createKey(t, s, func(k *token.Key) { k.Scopes = []string{"a", "b"} })
		before := head(t, s)
		updateKey(t, s, k.ID, func(k *token.Key) { k.Scopes, k.UpdatedAt = []string{"b", "a", "c"}, t0.Add(time.Minute) })
		updateKey(t, s, k.ID, func(k *token.Key) { k.Scopes, k.UpdatedAt = []string{"a", "b", "c"}, t0.Add(2*time.Minute) })
		wantRevoked(t, s, before)
		updateKey(t, s, k.ID, func(k *token.Key) { k.Scopes, k.UpdatedAt = []string{"a", "c"}, t0.Add(time.Hour) })
		wantRevoked(t, s, before, keyRevocation(k.ID, t0.Add(time.Hour)))
		before = head(t, s)
		updateKey(t, s, k.ID, func(k *token.Key) { k.Scopes, k.UpdatedAt = nil, t0.Add(2*time.Hour) })
		wantRevoked(t, s, before, keyRevocation(k.ID, t0.Add(2*time.Hour)))
	}},
	{"narrowing a principal's permissions writes one row type:id at UpdatedAt", func(t *testing.T, s token.Store) {
		principal(t, s, token.User, "erin", func(p *token.Principal) { p.Permissions = []string{"a", "b"} })
		update := func(fn func(*token.Principal)) {
			t.Helper()
			if _, err := s.UpdatePrincipal(bg, token.User, "erin", func(p *token.Principal) error { fn(p); return nil },
				event("user.update", "user", "erin")); err != nil {
				t.Fatalf("UpdatePrincipal: %v", err)
			}
		}
		before := head(t, s)
		update(func(p *token.Principal) { p.Permissions, p.UpdatedAt = []string{"a", "b", "c"}, t0.Add(time.Minute) })
		wantRevoked(t, s, before)
		update(func(p *token.Principal) { p.Permissions, p.UpdatedAt = []string{"c"}, t0.Add(time.Hour) })
		wantRevoked(t, s, before, token.Revocation{Kind: token.RevokedPrincipal, Subject: "user:erin", At: t0.Add(time.Hour)})
	}},
	{"withdrawing a signing key before its retirement writes one signing_key row", func(t *testing.T, s token.Store) {
		now := time.Now()
		live := signingKey("live", now.Add(-time.Hour))
		retired := signingKey("retired", t0) // retired long ago (t0 is in the past)
		swap(t, s, 0, []token.SigningKeyRecord{live, retired}, nil)
		before := head(t, s)
		swap(t, s, 1, nil, []string{"retired"})
		wantRevoked(t, s, before)
		swap(t, s, 2, nil, []string{"live"})
		got := feed(t, s, before)
		after := time.Now()
		if len(got) != 1 || got[0].Kind != token.RevokedSigningKey || got[0].Subject != "live" ||
			got[0].At.Before(now.Add(-time.Second)) || got[0].At.After(after.Add(time.Second)) {
			t.Fatalf("revocations %+v, want one signing_key live at about %v", got, now)
		}
	}},
	{"usage and credits write no row", func(t *testing.T, s token.Store) {
		k := createKey(t, s, expiring, func(k *token.Key) {
			k.Remaining, k.Refill = ptr(int64(5)), &token.Refill{Interval: token.RefillDaily, Amount: 5}
		})
		before := head(t, s)
		if _, ok, err := s.SpendCredits(bg, k.ID, 2, time.Time{}); err != nil || !ok {
			t.Fatalf("SpendCredits = %v, %v", ok, err)
		}
		if _, ok, err := s.SpendCredits(bg, k.ID, 1, t0.Add(24*time.Hour)); err != nil || !ok {
			t.Fatalf("SpendCredits with a refill = %v, %v", ok, err)
		}
		u := token.Usage{KeyID: k.ID, LastUsedAt: t0.Add(time.Minute), LastUsedIP: "192.0.2.1",
			Counts: map[token.Code]int64{token.CodeValid: 3}}
		if err := s.RecordUsage(bg, []token.Usage{u}); err != nil {
			t.Fatalf("RecordUsage: %v", err)
		}
		wantRevoked(t, s, before)
	}},
	{"disabling a principal writes one row type:id at UpdatedAt", func(t *testing.T, s token.Store) {
		principal(t, s, token.App, "billing")
		principal(t, s, token.User, "bob", func(p *token.Principal) { p.Disabled = true })
		update := func(typ token.PrincipalType, id string, fn func(*token.Principal)) {
			t.Helper()
			_, err := s.UpdatePrincipal(bg, typ, id, func(p *token.Principal) error { fn(p); return nil },
				event(string(typ)+".update", string(typ), id))
			if err != nil {
				t.Fatalf("UpdatePrincipal(%s, %s): %v", typ, id, err)
			}
		}
		before := head(t, s)
		update(token.App, "billing", func(p *token.Principal) { p.Name, p.UpdatedAt = "Billing", t0.Add(time.Minute) })
		update(token.User, "bob", func(p *token.Principal) { p.UpdatedAt = t0.Add(time.Minute) })
		update(token.User, "bob", func(p *token.Principal) { p.Disabled, p.UpdatedAt = false, t0.Add(2*time.Minute) })
		wantRevoked(t, s, before)
		update(token.App, "billing", func(p *token.Principal) { p.Disabled, p.UpdatedAt = true, t0.Add(time.Hour+5) })
		update(token.User, "bob", func(p *token.Principal) { p.Disabled, p.UpdatedAt = true, t0.Add(time.Hour+6) })
		wantRevoked(t, s, before,
			token.Revocation{Kind: token.RevokedPrincipal, Subject: "app:billing", At: t0.Add(time.Hour + 5)},
			token.Revocation{Kind: token.RevokedPrincipal, Subject: "user:bob", At: t0.Add(time.Hour + 6)})
	}},
	{"filters by after and since and stops at limit", func(t *testing.T, s token.Store) {
		ats := []time.Duration{5 * time.Hour, time.Hour, 3 * time.Hour, -time.Hour, 4 * time.Hour, 2 * time.Hour}
		var all []token.Revocation
		for _, d := range ats {
			k := createKey(t, s)
			updateKey(t, s, k.ID, func(k *token.Key) { k.RevokedAt = t0.Add(d) })
			all = append(all, keyRevocation(k.ID, t0.Add(d)))
		}
		got := feed(t, s, 0)
		wantRevoked(t, s, 0, all...)
		for i := range all {
			all[i].Seq = got[i].Seq
		}
		for _, tc := range []struct {
			after int64
			since time.Time
			limit int
			want  []token.Revocation
		}{
			{0, time.Time{}, 100, all},
			{all[1].Seq, time.Time{}, 100, all[2:]},
			{all[5].Seq, time.Time{}, 100, nil},
			{0, t0.Add(3 * time.Hour), 100, []token.Revocation{all[0], all[2], all[4]}},
			{0, t0.Add(3*time.Hour + 1), 100, []token.Revocation{all[0], all[4]}},
			{all[0].Seq, t0.Add(2 * time.Hour), 100, []token.Revocation{all[2], all[4], all[5]}},
			{0, time.Time{}, 2, all[:2]},
			{all[2].Seq, t0, 2, []token.Revocation{all[4], all[5]}},
			{0, t0.Add(-2 * time.Hour), 1, all[:1]},
			{0, t0.Add(6 * time.Hour), 100, nil},
		} {
			got, err := s.Revocations(bg, tc.after, tc.since, tc.limit)
			if err != nil {
				t.Fatalf("Revocations(%d, %v, %d): %v", tc.after, tc.since, tc.limit, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Revocations(after %d, since t0%+v, limit %d) = %v, want %v",
					tc.after, tc.since.Sub(t0), tc.limit, seqs(got), seqs(tc.want))
			}
		}
		if h := head(t, s); h != all[5].Seq {
			t.Errorf("RevocationHead = %d, want %d", h, all[5].Seq)
		}
	}},
	{"concurrent revocations each get their own Seq", func(t *testing.T, s token.Store) {
		const workers = 8
		var ids [workers]string
		for i := range workers {
			ids[i] = createKey(t, s).ID
		}
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				_, err := s.UpdateKey(bg, ids[i], func(k *token.Key) error { k.RevokedAt = t0; return nil }, nil)
				if err != nil {
					t.Errorf("UpdateKey: %v", err)
				}
			})
		}
		wg.Wait()
		got := feed(t, s, 0)
		seen := map[string]bool{}
		for _, r := range got {
			seen[r.Subject] = true
		}
		if len(got) != workers || len(seen) != workers {
			t.Errorf("%d revocations of %d keys, want one of each of %d", len(got), len(seen), workers)
		}
	}},
}
