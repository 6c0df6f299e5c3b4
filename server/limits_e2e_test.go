package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// End-to-end tests of rate limits and credits through a real server and
// the public client: per-key limits, cost, limits shared by a principal's
// keys, keyspace defaults, and exact credits under concurrency (KEY-05,
// KEY-08).

// limitsEnv is a server with a root client.
type limitsEnv struct {
	s   *testServer
	c   *client.Client
	ctx context.Context
}

func newLimitsEnv(t *testing.T, cfg server.Config) *limitsEnv {
	t.Helper()
	s := startServer(t, cfg)
	return &limitsEnv{s: s, c: s.client(t, s.Root), ctx: context.Background()}
}

// createKey creates a key and returns it with its secret.
func (e *limitsEnv) createKey(t *testing.T, req api.CreateKeyRequest) *api.CreatedKey {
	t.Helper()
	k, err := e.c.CreateKey(e.ctx, req)
	if err != nil {
		t.Fatalf("create key %+v: %v", req, err)
	}
	return k
}

// verify verifies secret with the request's other fields and checks the
// code.
func (e *limitsEnv) verify(t *testing.T, secret string, req api.VerifyRequest, want string) *api.VerifyResponse {
	t.Helper()
	req.Key = secret
	res, err := e.c.Verify(e.ctx, req)
	if err != nil {
		t.Fatalf("verify %s: %v", fp(secret), err)
	}
	if res.Code != want || res.Valid != (want == "VALID") {
		t.Fatalf("verify %s: %s (valid %v), want %s; ratelimits %+v", fp(secret), res.Code, res.Valid, want, res.RateLimits)
	}
	return res
}

// state returns the rate-limit state named name, failing if it is absent.
func state(t *testing.T, res *api.VerifyResponse, name string) api.RateLimitState {
	t.Helper()
	for _, s := range res.RateLimits {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no rate-limit state %q in %+v", name, res.RateLimits)
	return api.RateLimitState{}
}

// sameWindow reports whether two API durations ("10s", "10s0ms") are equal.
func sameWindow(t *testing.T, a, b string) bool {
	t.Helper()
	da, err1 := time.ParseDuration(a)
	db, err2 := time.ParseDuration(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("windows %q, %q do not parse", a, b)
	}
	return da == db
}

func cost(n int64) *int64 { return &n }

// TestSEC_KEY08_PerKeyRateLimit: under the limit every answer is VALID with
// Remaining non-increasing and Reset in the future; over it RATE_LIMITED,
// keyed per API key (another key is unaffected).
func TestSEC_KEY08_PerKeyRateLimit(t *testing.T) {
	e := newLimitsEnv(t, server.Config{})
	limit := []api.RateLimit{{Name: "requests", Limit: 5, Window: "10s"}}
	k := e.createKey(t, api.CreateKeyRequest{Name: "limited", RateLimits: limit})
	other := e.createKey(t, api.CreateKeyRequest{Name: "other", RateLimits: limit})
	if len(k.RateLimits) != 1 || k.RateLimits[0].Name != "requests" || k.RateLimits[0].Limit != 5 || !sameWindow(t, k.RateLimits[0].Window, "10s") {
		t.Fatalf("created key's ratelimits = %+v", k.RateLimits)
	}

	prev := int64(5)
	for i := range 5 {
		before := time.Now()
		res := e.verify(t, k.Secret, api.VerifyRequest{}, "VALID")
		st := state(t, res, "requests")
		if st.Limit != 5 || !sameWindow(t, st.Window, "10s") {
			t.Errorf("verify %d: state %+v, want limit 5 window 10s", i+1, st)
		}
		if st.Remaining > prev || st.Remaining < 0 {
			t.Errorf("verify %d: remaining %d after %d: not non-increasing", i+1, st.Remaining, prev)
		}
		prev = st.Remaining
		if reset := time.UnixMilli(st.Reset); !reset.After(before) || reset.After(before.Add(11*time.Second)) {
			t.Errorf("verify %d: reset %s not within the window after %s", i+1, reset, before)
		}
	}
	if prev != 0 {
		t.Errorf("remaining after 5 of 5 = %d, want 0", prev)
	}
	before := time.Now()
	res := e.verify(t, k.Secret, api.VerifyRequest{}, "RATE_LIMITED")
	st := state(t, res, "requests")
	if st.Remaining != 0 || !time.UnixMilli(st.Reset).After(before) {
		t.Errorf("refused: state %+v, want remaining 0 and a reset after %s", st, before)
	}
	if res.KeyID != k.ID {
		t.Errorf("refused answer names key %q, want %q", res.KeyID, k.ID)
	}
	// The limit is per key, not per caller or address.
	e.verify(t, other.Secret, api.VerifyRequest{}, "VALID")
	// A key without limits reports none.
	plain := e.createKey(t, api.CreateKeyRequest{Name: "plain"})
	if res := e.verify(t, plain.Secret, api.VerifyRequest{}, "VALID"); len(res.RateLimits) != 0 {
		t.Errorf("key without limits reports %+v", res.RateLimits)
	}
}

// TestSEC_KEY08_Cost: a request takes cost units; cost 0 checks without
// spending, from rate limits and credits alike.
func TestSEC_KEY08_Cost(t *testing.T) {
	e := newLimitsEnv(t, server.Config{})
	ten := int64(10)
	k := e.createKey(t, api.CreateKeyRequest{Name: "batch", Remaining: &ten,
		RateLimits: []api.RateLimit{{Name: "items", Limit: 5, Window: "1m"}}})

	res := e.verify(t, k.Secret, api.VerifyRequest{Cost: cost(3)}, "VALID")
	if st := state(t, res, "items"); st.Remaining != 2 {
		t.Errorf("after cost 3 of 5: remaining %d, want 2", st.Remaining)
	}
	if res.Remaining == nil || *res.Remaining != 7 {
		t.Errorf("credits after cost 3 of 10: %v, want 7", res.Remaining)
	}
	e.verify(t, k.Secret, api.VerifyRequest{Cost: cost(3)}, "RATE_LIMITED")
	res = e.verify(t, k.Secret, api.VerifyRequest{Cost: cost(0)}, "VALID")
	if st := state(t, res, "items"); st.Remaining != 2 {
		t.Errorf("cost 0 spent rate limit: remaining %d, want 2", st.Remaining)
	}
	if res.Remaining == nil || *res.Remaining != 7 {
		t.Errorf("cost 0 spent credits: %v, want 7", res.Remaining)
	}
	res = e.verify(t, k.Secret, api.VerifyRequest{Cost: cost(2)}, "VALID")
	if st := state(t, res, "items"); st.Remaining != 0 {
		t.Errorf("after cost 2 of the last 2: remaining %d, want 0", st.Remaining)
	}
	e.verify(t, k.Secret, api.VerifyRequest{Cost: cost(0)}, "RATE_LIMITED")
	// A refused request takes no credits.
	got, err := e.c.Key(e.ctx, k.ID)
	if err != nil || got.Remaining == nil || *got.Remaining != 5 {
		t.Fatalf("stored credits = %v (%v), want 5 (3 + 2 spent, nothing for refusals)", got.Remaining, err)
	}
	// A cost above the limit is refused; a negative one is a bad request.
	e.verify(t, e.createKey(t, api.CreateKeyRequest{RateLimits: []api.RateLimit{{Name: "items", Limit: 5, Window: "1m"}}}).Secret,
		api.VerifyRequest{Cost: cost(6)}, "RATE_LIMITED")
	r := e.s.doJSON(t, "POST", "/v1/keys/verify", e.s.Root, `{"key":"`+k.Secret+`","cost":-1}`)
	wantProblem(t, r, 400)
}

// TestSEC_KEY08_OwnerLimitsShared: owner_ratelimits are one budget for all
// keys of the principal, reported as owner_<name>, after the key's own.
func TestSEC_KEY08_OwnerLimitsShared(t *testing.T) {
	e := newLimitsEnv(t, server.Config{})
	p, err := e.c.CreateUser(e.ctx, api.CreatePrincipalRequest{ID: "bob",
		OwnerRateLimits: []api.RateLimit{{Name: "requests", Limit: 3, Window: "1m"}}})
	if err != nil || len(p.OwnerRateLimits) != 1 {
		t.Fatalf("create user: %+v %v", p, err)
	}
	bob := &api.Owner{Type: "user", ID: "bob"}
	k1 := e.createKey(t, api.CreateKeyRequest{Name: "k1", Owner: bob, RateLimits: []api.RateLimit{{Name: "requests", Limit: 100, Window: "1m"}}})
	k2 := e.createKey(t, api.CreateKeyRequest{Name: "k2", Owner: bob})

	for i, k := range []*api.CreatedKey{k1, k2, k1} {
		res := e.verify(t, k.Secret, api.VerifyRequest{}, "VALID")
		if st := state(t, res, "owner_requests"); st.Remaining != int64(2-i) || st.Limit != 3 {
			t.Errorf("verify %d: owner state %+v, want remaining %d of 3", i+1, st, 2-i)
		}
		if k == k1 && (len(res.RateLimits) != 2 || res.RateLimits[0].Name != "requests") {
			t.Errorf("verify %d: states %+v, want the key's limit, then the owner's", i+1, res.RateLimits)
		}
	}
	res := e.verify(t, k2.Secret, api.VerifyRequest{}, "RATE_LIMITED")
	if st := state(t, res, "owner_requests"); st.Remaining != 0 {
		t.Errorf("refused: owner state %+v", st)
	}
	e.verify(t, k1.Secret, api.VerifyRequest{}, "RATE_LIMITED")

	// Another principal's keys have their own budget; removing the shared
	// limits frees bob's keys.
	if _, err := e.c.CreateUser(e.ctx, api.CreatePrincipalRequest{ID: "carol",
		OwnerRateLimits: []api.RateLimit{{Name: "requests", Limit: 3, Window: "1m"}}}); err != nil {
		t.Fatal(err)
	}
	e.verify(t, e.createKey(t, api.CreateKeyRequest{Owner: &api.Owner{Type: "user", ID: "carol"}}).Secret, api.VerifyRequest{}, "VALID")
	if p, err := e.c.UpdateUser(e.ctx, "bob", api.UpdatePrincipalRequest{OwnerRateLimits: &[]api.RateLimit{}}); err != nil || len(p.OwnerRateLimits) != 0 {
		t.Fatalf("remove owner limits: %+v %v", p, err)
	}
	if res := e.verify(t, k2.Secret, api.VerifyRequest{}, "VALID"); len(res.RateLimits) != 0 {
		t.Errorf("after removal: states %+v", res.RateLimits)
	}
}

// TestSEC_KEY08_KeyspaceDefaults: a key created without limits gets its
// keyspace's; a key with its own keeps them.
func TestSEC_KEY08_KeyspaceDefaults(t *testing.T) {
	e := newLimitsEnv(t, server.Config{})
	def := []api.RateLimit{{Name: "requests", Limit: 2, Window: "1m"}}
	ks, err := e.c.CreateKeyspace(e.ctx, api.KeyspaceRequest{Name: "metered", RateLimits: &def})
	if err != nil || len(ks.RateLimits) != 1 || ks.RateLimits[0].Limit != 2 {
		t.Fatalf("create keyspace: %+v %v", ks, err)
	}
	k := e.createKey(t, api.CreateKeyRequest{Keyspace: "metered", Name: "default limits"})
	if len(k.RateLimits) != 1 || k.RateLimits[0].Name != "requests" || k.RateLimits[0].Limit != 2 {
		t.Errorf("key created without limits has %+v, want the keyspace's", k.RateLimits)
	}
	own := e.createKey(t, api.CreateKeyRequest{Keyspace: "metered", Name: "own limits",
		RateLimits: []api.RateLimit{{Name: "requests", Limit: 4, Window: "1m"}}})
	for range 2 {
		e.verify(t, k.Secret, api.VerifyRequest{}, "VALID")
	}
	e.verify(t, k.Secret, api.VerifyRequest{}, "RATE_LIMITED")
	for range 4 {
		e.verify(t, own.Secret, api.VerifyRequest{}, "VALID")
	}
	e.verify(t, own.Secret, api.VerifyRequest{}, "RATE_LIMITED")

	// Changing the default affects only keys created afterwards.
	if _, err := e.c.UpdateKeyspace(e.ctx, "metered", api.KeyspaceRequest{RateLimits: &[]api.RateLimit{}}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.c.Key(e.ctx, k.ID); err != nil || len(got.RateLimits) != 1 {
		t.Errorf("existing key's limits after the keyspace change: %+v %v", got, err)
	}
	if k := e.createKey(t, api.CreateKeyRequest{Keyspace: "metered"}); len(k.RateLimits) != 0 {
		t.Errorf("new key after removing the default has %+v", k.RateLimits)
	}
}

// TestSEC_KEY05_CreditsExactUnderConcurrency_HTTP: a key with k credits and
// 10·k concurrent verifications over HTTP: exactly k are VALID.
func TestSEC_KEY05_CreditsExactUnderConcurrency_HTTP(t *testing.T) {
	e := newLimitsEnv(t, server.Config{})
	const k, n = 5, 50
	credits := int64(k)
	key := e.createKey(t, api.CreateKeyRequest{Name: "credits", Remaining: &credits})

	codes := make(chan string, n)
	errs := make(chan error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			res, err := e.c.Verify(e.ctx, api.VerifyRequest{Key: key.Secret})
			if err != nil {
				errs <- err
				return
			}
			codes <- res.Code
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	close(errs)
	for err := range errs {
		t.Errorf("verify: %v", err)
	}
	count := map[string]int{}
	for c := range codes {
		count[c]++
	}
	if count["VALID"] != k || count["USAGE_EXCEEDED"] != n-k {
		t.Errorf("codes %v, want exactly %d VALID and %d USAGE_EXCEEDED", count, k, n-k)
	}
	if got, err := e.c.Key(e.ctx, key.ID); err != nil || got.Remaining == nil || *got.Remaining != 0 {
		t.Errorf("stored credits after the race: %+v %v, want 0", got, err)
	}
}
