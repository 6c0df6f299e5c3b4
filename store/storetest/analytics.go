package storetest

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// m0 is the minute of t0; h0 its hour.
var (
	m0 = t0.Truncate(time.Minute)
	h0 = t0.Truncate(time.Hour)
)

// minutes returns a usage record of key k with counts in the minutes that
// begin at the given offsets from m0.
func minutes(k *token.Key, counts map[time.Duration]map[token.Code]int64) token.Usage {
	u := token.Usage{KeyID: k.ID, Keyspace: k.Keyspace, Owner: k.Owner, Counts: map[token.Code]int64{}}
	for off, cs := range counts {
		u.Minutes = append(u.Minutes, token.MinuteCounts{Minute: m0.Add(off), Counts: maps.Clone(cs)})
		for c, n := range cs {
			u.Counts[c] += n
		}
	}
	return u
}

func rng(g token.Granularity, from, to time.Time) token.UsageRange {
	return token.UsageRange{Granularity: g, From: from, To: to}
}

// wantBuckets compares buckets with want (start → counts).
func wantBuckets(t *testing.T, what string, got []token.UsageBucket, err error, want []token.UsageBucket) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Start.Equal(want[i].Start) && maps.Equal(got[i].Counts, want[i].Counts)
	}
	if !ok {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

type byCode = map[token.Code]int64

var analyticsTests = []test{
	{"buckets per minute and per hour by code, rolled up per keyspace and owner", func(t *testing.T, s token.Store) {
		keyspace(t, s, "acme")
		principal(t, s, token.User, "alice")
		principal(t, s, token.App, "billing")
		alice := createKey(t, s, func(k *token.Key) { k.Keyspace = "acme"; k.Owner = &token.Owner{Type: token.User, ID: "alice"} })
		app := createKey(t, s, func(k *token.Key) { k.Keyspace = "acme"; k.Owner = &token.Owner{Type: token.App, ID: "billing"} })
		plain := createKey(t, s, func(k *token.Key) { k.Keyspace = "acme" })
		other := createKey(t, s) // keyspace default
		err := s.RecordUsage(bg, []token.Usage{
			minutes(alice, map[time.Duration]map[token.Code]int64{
				0:           {token.CodeValid: 3, token.CodeInsufficientScope: 1},
				time.Minute: {token.CodeValid: 2},
				time.Hour:   {token.CodeRateLimited: 4},
			}),
			minutes(app, map[time.Duration]map[token.Code]int64{0: {token.CodeValid: 10}}),
			minutes(plain, map[time.Duration]map[token.Code]int64{time.Minute: {token.CodeExpired: 1}}),
			minutes(other, map[time.Duration]map[token.Code]int64{0: {token.CodeValid: 100}}),
		})
		if err != nil {
			t.Fatalf("RecordUsage: %v", err)
		}
		b, err := s.KeyUsageBuckets(bg, alice.ID, rng(token.Minute, m0, m0.Add(2*time.Hour)))
		wantBuckets(t, "alice's minutes", b, err, []token.UsageBucket{
			{Start: m0, Counts: byCode{token.CodeValid: 3, token.CodeInsufficientScope: 1}},
			{Start: m0.Add(time.Minute), Counts: byCode{token.CodeValid: 2}},
			{Start: m0.Add(time.Hour), Counts: byCode{token.CodeRateLimited: 4}},
		})
		b, err = s.KeyUsageBuckets(bg, alice.ID, rng(token.Minute, m0.Add(time.Minute), m0.Add(time.Hour)))
		wantBuckets(t, "alice's minutes in [m0+1m, m0+1h): the end is excluded", b, err, []token.UsageBucket{
			{Start: m0.Add(time.Minute), Counts: byCode{token.CodeValid: 2}},
		})
		b, err = s.KeyUsageBuckets(bg, alice.ID, rng(token.Hour, h0, h0.Add(3*time.Hour)))
		wantBuckets(t, "alice's hours", b, err, []token.UsageBucket{
			{Start: h0, Counts: byCode{token.CodeValid: 5, token.CodeInsufficientScope: 1}},
			{Start: h0.Add(time.Hour), Counts: byCode{token.CodeRateLimited: 4}},
		})
		b, err = s.UsageSeries(bg, token.UsageFilter{Keyspace: "acme", UsageRange: rng(token.Hour, h0, h0.Add(3*time.Hour))})
		wantBuckets(t, "keyspace acme's hours (not the default keyspace's key)", b, err, []token.UsageBucket{
			{Start: h0, Counts: byCode{token.CodeValid: 15, token.CodeInsufficientScope: 1, token.CodeExpired: 1}},
			{Start: h0.Add(time.Hour), Counts: byCode{token.CodeRateLimited: 4}},
		})
		b, err = s.UsageSeries(bg, token.UsageFilter{Keyspace: "acme", Owner: alice.Owner, UsageRange: rng(token.Minute, m0, m0.Add(time.Minute))})
		wantBuckets(t, "alice's keys in acme, first minute", b, err, []token.UsageBucket{
			{Start: m0, Counts: byCode{token.CodeValid: 3, token.CodeInsufficientScope: 1}},
		})
		b, err = s.UsageSeries(bg, token.UsageFilter{Keyspace: token.DefaultKeyspace, Owner: alice.Owner, UsageRange: rng(token.Minute, m0, m0.Add(time.Hour))})
		wantBuckets(t, "alice's keys in the default keyspace", b, err, nil)

		day := rng(token.Hour, h0, h0.Add(24*time.Hour))
		groups, next, err := s.UsageByKey(bg, token.UsageFilter{Keyspace: "acme", UsageRange: day}, "", 10)
		if err != nil {
			t.Fatalf("UsageByKey: %v", err)
		}
		want := []token.UsageGroup{
			{KeyID: alice.ID, Counts: byCode{token.CodeValid: 5, token.CodeInsufficientScope: 1, token.CodeRateLimited: 4}},
			{KeyID: app.ID, Counts: byCode{token.CodeValid: 10}},
			{KeyID: plain.ID, Counts: byCode{token.CodeExpired: 1}},
		}
		wantGroups(t, "acme by key", groups, next, want, "")
		// Pages of one.
		var paged []token.UsageGroup
		after := ""
		for range 4 {
			g, n, err := s.UsageByKey(bg, token.UsageFilter{Keyspace: "acme", UsageRange: day}, after, 1)
			if err != nil {
				t.Fatalf("UsageByKey: %v", err)
			}
			paged = append(paged, g...)
			if after = n; n == "" {
				break
			}
		}
		wantGroups(t, "acme by key, pages of one", paged, "", want, "")
		groups, next, err = s.UsageByKey(bg, token.UsageFilter{Keyspace: "acme", Owner: alice.Owner, UsageRange: day}, "", 10)
		wantErrNil(t, "UsageByKey of alice", err)
		wantGroups(t, "alice's keys in acme", groups, next, want[:1], "")
		groups, next, err = s.UsageByKey(bg, token.UsageFilter{Keyspace: "acme", UsageRange: rng(token.Minute, m0.Add(time.Hour), m0.Add(2*time.Hour))}, "", 10)
		wantErrNil(t, "UsageByKey", err)
		wantGroups(t, "acme by key in the second hour", groups, next, []token.UsageGroup{{KeyID: alice.ID, Counts: byCode{token.CodeRateLimited: 4}}}, "")

		groups, next, err = s.UsageByOwner(bg, token.UsageFilter{Keyspace: "acme", UsageRange: day}, "", 10)
		wantErrNil(t, "UsageByOwner", err)
		owners := []token.UsageGroup{
			{Owner: app.Owner, Counts: byCode{token.CodeValid: 10}},
			{Owner: alice.Owner, Counts: byCode{token.CodeValid: 5, token.CodeInsufficientScope: 1, token.CodeRateLimited: 4}},
		}
		wantGroups(t, "acme by owner", groups, next, owners, "")
		groups, next, err = s.UsageByOwner(bg, token.UsageFilter{Keyspace: "acme", UsageRange: day}, "", 1)
		wantErrNil(t, "UsageByOwner", err)
		wantGroups(t, "acme by owner, first page of one", groups, next, owners[:1], "app/billing")
		groups, next, err = s.UsageByOwner(bg, token.UsageFilter{Keyspace: "acme", UsageRange: day}, next, 1)
		wantErrNil(t, "UsageByOwner", err)
		wantGroups(t, "acme by owner, second page", groups, next, owners[1:], "")
		groups, next, err = s.UsageByOwner(bg, token.UsageFilter{Keyspace: "acme", Owner: alice.Owner, UsageRange: day}, "", 10)
		wantErrNil(t, "UsageByOwner of alice", err)
		wantGroups(t, "acme by owner, alice only", groups, next, owners[1:], "")
		groups, _, err = s.UsageByOwner(bg, token.UsageFilter{Keyspace: "acm", UsageRange: day}, "", 10)
		wantErrNil(t, "UsageByOwner of a prefix of the name", err)
		wantGroups(t, "keyspace acm (a prefix of acme)", groups, "", nil, "")
	}},
	{"flushes into the same minute add up", func(t *testing.T, s token.Store) {
		keyspace(t, s, "acme")
		principal(t, s, token.User, "alice")
		keys := []*token.Key{
			createKey(t, s, func(k *token.Key) { k.Keyspace = "acme"; k.Owner = &token.Owner{Type: token.User, ID: "alice"} }),
			createKey(t, s, func(k *token.Key) { k.Keyspace = "acme"; k.Owner = &token.Owner{Type: token.User, ID: "alice"} }),
		}
		const writers, flushes = 4, 15
		var wg sync.WaitGroup
		errs := make(chan error, writers*flushes)
		for w := range writers {
			wg.Go(func() {
				for range flushes {
					// Writers list the keys in opposite orders: the store must
					// order its writes (no deadlock between concurrent flushes).
					batch := []token.Usage{
						minutes(keys[w%2], map[time.Duration]map[token.Code]int64{0: {token.CodeValid: 1}}),
						minutes(keys[1-w%2], map[time.Duration]map[token.Code]int64{0: {token.CodeValid: 1, token.CodeRevoked: 1}}),
					}
					errs <- s.RecordUsage(bg, batch)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("RecordUsage: %v", err)
			}
		}
		n := int64(writers * flushes)
		b, err := s.UsageSeries(bg, token.UsageFilter{Keyspace: "acme", UsageRange: rng(token.Minute, m0, m0.Add(time.Minute))})
		wantBuckets(t, "keyspace minute", b, err, []token.UsageBucket{{Start: m0, Counts: byCode{token.CodeValid: 2 * n, token.CodeRevoked: n}}})
		b, err = s.UsageSeries(bg, token.UsageFilter{Keyspace: "acme", Owner: keys[0].Owner, UsageRange: rng(token.Hour, h0, h0.Add(time.Hour))})
		wantBuckets(t, "owner hour", b, err, []token.UsageBucket{{Start: h0, Counts: byCode{token.CodeValid: 2 * n, token.CodeRevoked: n}}})
		for _, k := range keys {
			b, err := s.KeyUsageBuckets(bg, k.ID, rng(token.Minute, m0, m0.Add(time.Minute)))
			wantBuckets(t, "key minute", b, err, []token.UsageBucket{{Start: m0, Counts: byCode{token.CodeValid: n, token.CodeRevoked: n / 2}}})
		}
	}},
	{"prune moves old minutes into their hours and old hours into the keys' totals", func(t *testing.T, s token.Store) {
		k := createKey(t, s)
		err := s.RecordUsage(bg, []token.Usage{minutes(k, map[time.Duration]map[token.Code]int64{
			0:             {token.CodeValid: 1},
			time.Minute:   {token.CodeValid: 2, token.CodeRevoked: 1},
			3 * time.Hour: {token.CodeValid: 4},
		})})
		if err != nil {
			t.Fatalf("RecordUsage: %v", err)
		}
		hours := func(what string, want []token.UsageBucket) {
			t.Helper()
			// The key's total never changes: each count is in one place.
			counts, err := s.UsageCounts(bg, k.ID)
			if err != nil || !maps.Equal(counts, byCode{token.CodeValid: 7, token.CodeRevoked: 1}) {
				t.Errorf("%s: the key's total %v %v, want VALID 7, REVOKED 1", what, counts, err)
			}
			b, err := s.KeyUsageBuckets(bg, k.ID, rng(token.Hour, h0.Add(-time.Hour), h0.Add(5*time.Hour)))
			wantBuckets(t, what+": the key's hours", b, err, want)
			b, err = s.UsageSeries(bg, token.UsageFilter{Keyspace: k.Keyspace, UsageRange: rng(token.Hour, h0.Add(-time.Hour), h0.Add(5*time.Hour))})
			wantBuckets(t, what+": the keyspace's hours", b, err, want)
			g, _, err := s.UsageByKey(bg, token.UsageFilter{Keyspace: k.Keyspace, UsageRange: rng(token.Hour, h0, h0.Add(time.Hour))}, "", 10)
			wantErrNil(t, "UsageByKey", err)
			var wantG []token.UsageGroup
			if len(want) > 0 && want[0].Start.Equal(h0) {
				wantG = []token.UsageGroup{{KeyID: k.ID, Counts: want[0].Counts}}
			}
			wantGroups(t, what+": the key's first hour by key", g, "", wantG, "")
		}
		all := []token.UsageBucket{
			{Start: h0, Counts: byCode{token.CodeValid: 3, token.CodeRevoked: 1}},
			{Start: h0.Add(3 * time.Hour), Counts: byCode{token.CodeValid: 4}},
		}
		hours("before any prune", all)

		// Minutes before m0+1m move into their hour; no hour is old enough.
		n, err := s.PruneUsage(bg, m0.Add(time.Minute), h0)
		if err != nil {
			t.Fatalf("PruneUsage: %v", err)
		}
		if n != 2 { // key + keyspace: one minute row each
			t.Errorf("PruneUsage moved or deleted %d rows, want 2", n)
		}
		b, err := s.KeyUsageBuckets(bg, k.ID, rng(token.Minute, m0.Add(-time.Hour), m0.Add(5*time.Hour)))
		wantBuckets(t, "minutes after the first prune", b, err, []token.UsageBucket{
			{Start: m0.Add(time.Minute), Counts: byCode{token.CodeValid: 2, token.CodeRevoked: 1}},
			{Start: m0.Add(3 * time.Hour), Counts: byCode{token.CodeValid: 4}},
		})
		b, err = s.UsageSeries(bg, token.UsageFilter{Keyspace: k.Keyspace, UsageRange: rng(token.Minute, m0.Add(-time.Hour), m0.Add(5*time.Hour))})
		wantBuckets(t, "keyspace minutes after the first prune", b, err, []token.UsageBucket{
			{Start: m0.Add(time.Minute), Counts: byCode{token.CodeValid: 2, token.CodeRevoked: 1}},
			{Start: m0.Add(3 * time.Hour), Counts: byCode{token.CodeValid: 4}},
		})
		hours("after the first prune (one minute moved, one kept)", all)
		if n, err := s.PruneUsage(bg, m0.Add(time.Minute), h0); err != nil || n != 0 {
			t.Errorf("the same prune again: %d, %v; want 0, nil", n, err)
		}

		// Every minute before h0+2h moves; then the hours before h0+1h move
		// into the key's total (the keyspace's just go).
		n, err = s.PruneUsage(bg, h0.Add(2*time.Hour), h0.Add(time.Hour))
		if err != nil {
			t.Fatalf("PruneUsage: %v", err)
		}
		if n != 2*2+2*2 { // minutes: 2 codes × 2 subjects; hour h0: 2 codes × 2 subjects
			t.Errorf("second PruneUsage moved or deleted %d rows, want 8", n)
		}
		hours("after the hours before h0+1h went", all[1:])
		b, err = s.KeyUsageBuckets(bg, k.ID, rng(token.Minute, m0.Add(-time.Hour), m0.Add(5*time.Hour)))
		wantBuckets(t, "minutes after the second prune", b, err, []token.UsageBucket{
			{Start: m0.Add(3 * time.Hour), Counts: byCode{token.CodeValid: 4}},
		})
	}},
}

func wantErrNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantGroups(t *testing.T, what string, got []token.UsageGroup, next string, want []token.UsageGroup, wantNext string) {
	t.Helper()
	ok := len(got) == len(want) && next == wantNext
	for i := 0; ok && i < len(got); i++ {
		g, w := got[i], want[i]
		ok = g.KeyID == w.KeyID && maps.Equal(g.Counts, w.Counts) && (g.Owner == nil) == (w.Owner == nil) &&
			(g.Owner == nil || *g.Owner == *w.Owner)
	}
	if !ok {
		t.Errorf("%s:\n got %+v next %q\nwant %+v next %q", what, got, next, want, wantNext)
	}
}
