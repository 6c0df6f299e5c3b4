package storetest

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

var topKeysTests = []test{
	{"the keys of a keyspace with the most verifications in a range, most first, ties by ID", func(t *testing.T, s token.Store) {
		keyspace(t, s, "acme")
		principal(t, s, token.User, "alice")
		alice := &token.Owner{Type: token.User, ID: "alice"}
		inAcme := func(k *token.Key) { k.Keyspace = "acme" }
		busy := createKey(t, s, inAcme)
		tieA := createKey(t, s, inAcme)
		tieB := createKey(t, s, inAcme)
		if tieB.ID < tieA.ID {
			tieA, tieB = tieB, tieA
		}
		hers := createKey(t, s, inAcme, func(k *token.Key) { k.Owner = alice })
		createKey(t, s, inAcme)  // never used: not ranked
		other := createKey(t, s) // the default keyspace: not ranked, however busy
		err := s.RecordUsage(bg, []token.Usage{
			minutes(busy, map[time.Duration]map[token.Code]int64{0: {token.CodeValid: 5}, time.Minute: {token.CodeValid: 3, token.CodeRevoked: 2}}),
			minutes(tieA, map[time.Duration]map[token.Code]int64{time.Minute: {token.CodeValid: 4}}),
			minutes(tieB, map[time.Duration]map[token.Code]int64{0: {token.CodeExpired: 4}}),
			minutes(hers, map[time.Duration]map[token.Code]int64{0: {token.CodeValid: 1}, 2 * time.Hour: {token.CodeValid: 50}}),
			minutes(other, map[time.Duration]map[token.Code]int64{0: {token.CodeValid: 1000}}),
		})
		if err != nil {
			t.Fatalf("RecordUsage: %v", err)
		}
		hour := rng(token.Hour, h0, h0.Add(time.Hour))
		all := []token.UsageGroup{
			{KeyID: busy.ID, Counts: byCode{token.CodeValid: 8, token.CodeRevoked: 2}},
			{KeyID: tieA.ID, Counts: byCode{token.CodeValid: 4}},
			{KeyID: tieB.ID, Counts: byCode{token.CodeExpired: 4}},
			{KeyID: hers.ID, Counts: byCode{token.CodeValid: 1}},
		}
		g, err := s.TopKeysByUsage(bg, token.UsageFilter{Keyspace: "acme", UsageRange: hour}, 10)
		wantErrNil(t, "TopKeysByUsage", err)
		wantGroups(t, "acme's first hour", g, "", all, "")
		g, err = s.TopKeysByUsage(bg, token.UsageFilter{Keyspace: "acme", UsageRange: hour}, 2)
		wantErrNil(t, "TopKeysByUsage", err)
		wantGroups(t, "acme's top 2", g, "", all[:2], "")
		g, err = s.TopKeysByUsage(bg, token.UsageFilter{Keyspace: "acme", UsageRange: rng(token.Minute, m0, m0.Add(time.Minute))}, 10)
		wantErrNil(t, "TopKeysByUsage", err)
		wantGroups(t, "acme's first minute", g, "", []token.UsageGroup{
			{KeyID: busy.ID, Counts: byCode{token.CodeValid: 5}},
			{KeyID: tieB.ID, Counts: byCode{token.CodeExpired: 4}},
			{KeyID: hers.ID, Counts: byCode{token.CodeValid: 1}},
		}, "")
		g, err = s.TopKeysByUsage(bg, token.UsageFilter{Keyspace: "acme", Owner: alice, UsageRange: rng(token.Hour, h0, h0.Add(3*time.Hour))}, 10)
		wantErrNil(t, "TopKeysByUsage", err)
		wantGroups(t, "alice's keys in acme", g, "", []token.UsageGroup{{KeyID: hers.ID, Counts: byCode{token.CodeValid: 51}}}, "")
		g, err = s.TopKeysByUsage(bg, token.UsageFilter{Keyspace: "acme", UsageRange: rng(token.Hour, h0.Add(-5*time.Hour), h0)}, 10)
		wantErrNil(t, "TopKeysByUsage", err)
		wantGroups(t, "a range without usage", g, "", nil, "")

		// The first minute moves into its hour: an hour range reads the
		// stored hour and the kept minutes, and ranks the same.
		if _, err := s.PruneUsage(bg, m0.Add(time.Minute), h0); err != nil {
			t.Fatalf("PruneUsage: %v", err)
		}
		g, err = s.TopKeysByUsage(bg, token.UsageFilter{Keyspace: "acme", UsageRange: hour}, 10)
		wantErrNil(t, "TopKeysByUsage", err)
		wantGroups(t, "acme's first hour after the prune", g, "", all, "")
		g, err = s.TopKeysByUsage(bg, token.UsageFilter{Keyspace: token.DefaultKeyspace, UsageRange: hour}, 10)
		wantErrNil(t, "TopKeysByUsage", err)
		wantGroups(t, "the default keyspace", g, "", []token.UsageGroup{{KeyID: other.ID, Counts: byCode{token.CodeValid: 1000}}}, "")
	}},
}
