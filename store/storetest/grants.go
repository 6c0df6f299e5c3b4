package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// GrantsStore is what the grant conformance suite runs against: an
// oauth.GrantStore that can be closed.
type GrantsStore interface {
	oauth.GrantStore
	Close() error
}

// grantTest is one conformance check of oauth.GrantStore against a fresh,
// empty store.
type grantTest struct {
	name string
	run  func(t *testing.T, s GrantsStore)
}

// RunGrants runs the conformance suite of oauth.GrantStore. open must
// return a new, empty store each time it is called; RunGrants closes every
// store it opened. The subtests named after SECURITY.md rows (AS06_…,
// RT02_…, RT06_…) are the single-use and rollback guarantees.
func RunGrants(t *testing.T, open func(t *testing.T) GrantsStore) {
	groups := []struct {
		name  string
		tests []grantTest
	}{
		{"Codes", codeTests},
		{"Grants", grantRecordTests},
		{"RefreshTokens", refreshTests},
		{"Consents", consentTests},
		{"PushedRequests", pushedTests},
		{"Prune", pruneGrantTests},
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
}

func normCode(c oauth.Code) oauth.Code {
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = utc(c.AuthTime), utc(c.CreatedAt), utc(c.ExpiresAt), utc(c.UsedAt)
	return c
}

func normGrant(g oauth.Grant) oauth.Grant {
	g.AuthTime, g.CreatedAt, g.ExpiresAt = utc(g.AuthTime), utc(g.CreatedAt), utc(g.ExpiresAt)
	return g
}

func normRefresh(rt oauth.RefreshToken) oauth.RefreshToken {
	rt.CreatedAt, rt.ExpiresAt, rt.RotatedAt = utc(rt.CreatedAt), utc(rt.ExpiresAt), utc(rt.RotatedAt)
	return rt
}

func normConsent(c oauth.Consent) oauth.Consent {
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return c
}

// fullCode returns an unused code called name with every other field set.
func fullCode(name string) *oauth.Code {
	return &oauth.Code{
		Digest:      digestOf("code " + name),
		ClientID:    "app_client",
		UserID:      "usr_alice",
		SessionID:   "ses_1",
		RedirectURI: "https://app.example/cb?x=1&y=ü",
		Challenge:   "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		Scopes:      []string{"openid", "keys:read"},
		Audiences:   []string{"https://api.example"},
		Nonce:       "n-0S6_WzA2Mj",
		DPoPJKT:     "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
		AuthTime:    t0.Add(-time.Minute),
		AMR:         []string{"pwd", "otp"},
		CreatedAt:   t0,
		ExpiresAt:   t0.Add(time.Minute),
	}
}

// createCode stores c, failing the test on an error.
func createCode(t *testing.T, s GrantsStore, c *oauth.Code) {
	t.Helper()
	if err := s.CreateCode(bg, c); err != nil {
		t.Fatalf("CreateCode: %v", err)
	}
}

// fullGrant returns a grant record id of user to client with every field
// set.
func fullGrant(id, user, client string) *oauth.Grant {
	return &oauth.Grant{
		ID:        id,
		ClientID:  client,
		UserID:    user,
		Scopes:    []string{"openid", "offline_access", "keys:read"},
		Audiences: []string{"https://api.example", "urn:billing"},
		DPoPJKT:   "jkt-" + id,
		SessionID: "ses_" + id,
		AuthTime:  t0.Add(-time.Minute),
		AMR:       []string{"hwk"},
		CreatedAt: t0,
		ExpiresAt: t0.Add(30 * 24 * time.Hour),
	}
}

// refreshToken returns a current refresh token called name of grant g.
func refreshToken(name string, g *oauth.Grant) *oauth.RefreshToken {
	return &oauth.RefreshToken{
		Digest:    digestOf("refresh " + name),
		GrantID:   g.ID,
		ClientID:  g.ClientID,
		UserID:    g.UserID,
		CreatedAt: t0,
		ExpiresAt: t0.Add(24 * time.Hour),
	}
}

// createGrant stores g with rt, failing the test on an error.
func createGrant(t *testing.T, s GrantsStore, g *oauth.Grant, rt *oauth.RefreshToken) {
	t.Helper()
	if err := s.CreateGrant(bg, g, rt); err != nil {
		t.Fatalf("CreateGrant(%s): %v", g.ID, err)
	}
}

// getRefresh returns the refresh token with digest d, failing the test if
// it cannot.
func getRefresh(t *testing.T, s GrantsStore, d []byte) *oauth.RefreshToken {
	t.Helper()
	rt, err := s.RefreshToken(bg, d)
	if err != nil {
		t.Fatalf("RefreshToken: %v", err)
	}
	return rt
}

// wantNoRefresh fails the test unless there is no refresh token d.
func wantNoRefresh(t *testing.T, s GrantsStore, what string, d []byte) {
	t.Helper()
	_, err := s.RefreshToken(bg, d)
	wantErr(t, what, err, token.ErrNotFound)
}

// grantIDs returns the IDs of gs.
func grantIDs(gs []*oauth.Grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

var codeTests = []grantTest{
	{"every field round-trips, empty lists read back nil", func(t *testing.T, s GrantsStore) {
		c := fullCode("full")
		createCode(t, s, c)
		now := t0.Add(time.Second)
		got, err := s.RedeemCode(bg, c.Digest, now)
		if err != nil {
			t.Fatalf("RedeemCode: %v", err)
		}
		want := *c
		want.UsedAt = now
		sameAs(t, "RedeemCode", got, &want, normCode)

		bare := &oauth.Code{Digest: digestOf("bare"), ClientID: "app_c", UserID: "usr_u",
			Scopes: []string{}, Audiences: []string{}, AMR: []string{}, ExpiresAt: t0}
		createCode(t, s, bare)
		got, err = s.RedeemCode(bg, bare.Digest, now)
		if err != nil {
			t.Fatalf("RedeemCode: %v", err)
		}
		sameAs(t, "RedeemCode of empty values", got,
			&oauth.Code{Digest: bare.Digest, ClientID: "app_c", UserID: "usr_u", ExpiresAt: t0, UsedAt: now}, normCode)
	}},
	{"create conflicts with an existing digest and keeps the first", func(t *testing.T, s GrantsStore) {
		createCode(t, s, fullCode("twice"))
		other := fullCode("twice")
		other.ClientID = "app_other"
		wantErr(t, "CreateCode twice", s.CreateCode(bg, other), token.ErrConflict)
		got, err := s.RedeemCode(bg, other.Digest, t0)
		if err != nil || got.ClientID != "app_client" {
			t.Fatalf("RedeemCode = %+v, %v; want the first code", got, err)
		}
	}},
	{"create refuses a digest that is not SHA-256 and a code without expiry", func(t *testing.T, s GrantsStore) {
		short := fullCode("short")
		short.Digest = short.Digest[:16]
		err := s.CreateCode(bg, short)
		if err == nil || errors.Is(err, token.ErrConflict) {
			t.Fatalf("CreateCode of a 16-byte digest: %v, want an invalid-input error", err)
		}
		noExp := fullCode("noexp")
		noExp.ExpiresAt = time.Time{}
		if err := s.CreateCode(bg, noExp); err == nil {
			t.Fatal("CreateCode without an expiry succeeded")
		}
		_, err = s.RedeemCode(bg, noExp.Digest, t0)
		wantErr(t, "RedeemCode of the refused code", err, token.ErrNotFound)
	}},
	{"AS06_RedeemTwiceGivesErrCodeUsedWithGrant", func(t *testing.T, s GrantsStore) {
		c := fullCode("twice")
		createCode(t, s, c)
		first := t0.Add(time.Second)
		if _, err := s.RedeemCode(bg, c.Digest, first); err != nil {
			t.Fatalf("RedeemCode: %v", err)
		}
		if reused, err := s.SetCodeGrant(bg, c.Digest, "grt_1"); err != nil || reused {
			t.Fatalf("SetCodeGrant: reused %v, %v", reused, err)
		}
		got, err := s.RedeemCode(bg, c.Digest, first.Add(time.Second))
		wantErr(t, "RedeemCode again", err, oauth.ErrCodeUsed)
		want := *c
		want.UsedAt, want.GrantID = first, "grt_1"
		sameAs(t, "the code a second redemption gives", got, &want, normCode)
		// Sequential redemptions within one instant too.
		same := fullCode("same instant")
		createCode(t, s, same)
		if _, err := s.RedeemCode(bg, same.Digest, first); err != nil {
			t.Fatalf("RedeemCode: %v", err)
		}
		_, err = s.RedeemCode(bg, same.Digest, first)
		wantErr(t, "RedeemCode again at the same instant", err, oauth.ErrCodeUsed)
		// The replay came before the first redemption recorded its grant:
		// it found none to revoke, so SetCodeGrant tells the first.
		if reused, err := s.SetCodeGrant(bg, same.Digest, "grt_2"); err != nil || !reused {
			t.Fatalf("SetCodeGrant after a replay: reused %v, %v", reused, err)
		}
	}},
	{"an unknown code is not found, to redeem or to set the grant of", func(t *testing.T, s GrantsStore) {
		_, err := s.RedeemCode(bg, digestOf("unknown"), t0)
		wantErr(t, "RedeemCode(unknown)", err, token.ErrNotFound)
		if errors.Is(err, oauth.ErrCodeUsed) {
			t.Fatalf("RedeemCode(unknown) = %v, which is not a used code", err)
		}
		_, err = s.RedeemCode(bg, nil, t0)
		wantErr(t, "RedeemCode(nil)", err, token.ErrNotFound)
		_, err = s.SetCodeGrant(bg, digestOf("unknown"), "grt_x")
		wantErr(t, "SetCodeGrant(unknown)", err, token.ErrNotFound)
	}},
	{"redeeming at the zero time is refused and leaves the code unused", func(t *testing.T, s GrantsStore) {
		c := fullCode("zero")
		createCode(t, s, c)
		if _, err := s.RedeemCode(bg, c.Digest, time.Time{}); err == nil {
			t.Fatal("RedeemCode at the zero time succeeded")
		}
		if _, err := s.RedeemCode(bg, c.Digest, t0); err != nil {
			t.Fatalf("RedeemCode after a refused one: %v", err)
		}
	}},
	{"AS06_ConcurrentRedeemOneWinner", func(t *testing.T, s GrantsStore) {
		const n = 50
		c := fullCode("race")
		createCode(t, s, c)
		codes := make([]*oauth.Code, n)
		errs := make([]error, n)
		concurrently(n, func(i int) {
			codes[i], errs[i] = s.RedeemCode(bg, c.Digest, t0.Add(time.Duration(i+1)*time.Millisecond))
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("redemptions %d and %d both got the code", winner, i)
				}
				winner = i
			case errors.Is(err, oauth.ErrCodeUsed):
			default:
				t.Fatalf("redemption %d: %v, want success or ErrCodeUsed", i, err)
			}
			if codes[i] == nil || !bytes.Equal(codes[i].Digest, c.Digest) {
				t.Fatalf("redemption %d returned %+v, want the code", i, codes[i])
			}
		}
		if winner < 0 {
			t.Fatalf("none of %d concurrent redemptions got the code", n)
		}
		wantUsed := t0.Add(time.Duration(winner+1) * time.Millisecond)
		for i, got := range codes {
			if !got.UsedAt.Equal(wantUsed) {
				t.Fatalf("redemption %d saw UsedAt %v, want the winner's %v", i, got.UsedAt, wantUsed)
			}
		}
	}},
}

var grantRecordTests = []grantTest{
	{"a grant and its first refresh token round-trip", func(t *testing.T, s GrantsStore) {
		g := fullGrant("grt_full", "usr_alice", "app_one")
		rt := refreshToken("first", g)
		createGrant(t, s, g, rt)
		got, err := s.Grant(bg, g.ID)
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		sameAs(t, "Grant", got, g, normGrant)
		sameAs(t, "RefreshToken", getRefresh(t, s, rt.Digest), rt, normRefresh)

		bare := &oauth.Grant{ID: "grt_bare", ClientID: "app_one", UserID: "usr_bob", Scopes: []string{}, AMR: []string{}}
		createGrant(t, s, bare, nil)
		got, err = s.Grant(bg, bare.ID)
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		sameAs(t, "Grant of empty values", got, &oauth.Grant{ID: "grt_bare", ClientID: "app_one", UserID: "usr_bob"}, normGrant)
		_, err = s.Grant(bg, "grt_missing")
		wantErr(t, "Grant(missing)", err, token.ErrNotFound)
		wantNoRefresh(t, s, "RefreshToken(missing)", digestOf("refresh missing"))
	}},
	{"create writes the grant and its refresh token or neither", func(t *testing.T, s GrantsStore) {
		g := fullGrant("grt_a", "usr_alice", "app_one")
		createGrant(t, s, g, refreshToken("a", g))
		// The grant ID exists: the new refresh token is not stored.
		again := fullGrant("grt_a", "usr_bob", "app_two")
		err := s.CreateGrant(bg, again, refreshToken("a2", again))
		wantErr(t, "CreateGrant of an existing ID", err, token.ErrConflict)
		wantNoRefresh(t, s, "the refresh token of a refused grant", digestOf("refresh a2"))
		if got, _ := s.Grant(bg, "grt_a"); got == nil || got.UserID != "usr_alice" {
			t.Fatalf("the existing grant became %+v", got)
		}
		// The refresh token exists: the new grant is not stored.
		b := fullGrant("grt_b", "usr_alice", "app_one")
		err = s.CreateGrant(bg, b, refreshToken("a", b))
		wantErr(t, "CreateGrant with an existing refresh token", err, token.ErrConflict)
		_, err = s.Grant(bg, "grt_b")
		wantErr(t, "Grant of a refused create", err, token.ErrNotFound)
		if rt := getRefresh(t, s, digestOf("refresh a")); rt.GrantID != "grt_a" {
			t.Fatalf("the existing refresh token moved to %s", rt.GrantID)
		}
	}},
	{"grants list by user, by client or both, by ID, in pages", func(t *testing.T, s GrantsStore) {
		var alice, aliceOne, one []string
		for i := range 7 {
			id := fmt.Sprintf("grt_%02d", i)
			user, client := "usr_alice", "app_one"
			if i%3 == 1 {
				user = "usr_bob"
			}
			if i%2 == 1 {
				client = "app_two"
			}
			createGrant(t, s, fullGrant(id, user, client), nil)
			if user == "usr_alice" {
				alice = append(alice, id)
			}
			if client == "app_one" {
				one = append(one, id)
				if user == "usr_alice" {
					aliceOne = append(aliceOne, id)
				}
			}
		}
		list := func(f oauth.GrantFilter) []string {
			t.Helper()
			gs, err := s.Grants(bg, f)
			if err != nil {
				t.Fatalf("Grants(%+v): %v", f, err)
			}
			return grantIDs(gs)
		}
		for _, c := range []struct {
			f    oauth.GrantFilter
			want []string
		}{
			{oauth.GrantFilter{UserID: "usr_alice"}, alice},
			{oauth.GrantFilter{ClientID: "app_one"}, one},
			{oauth.GrantFilter{UserID: "usr_alice", ClientID: "app_one"}, aliceOne},
			{oauth.GrantFilter{UserID: "usr_nobody"}, nil},
			// Back-channel logout: the grants of one sign-in session.
			{oauth.GrantFilter{UserID: "usr_alice", SessionID: "ses_" + alice[0]}, alice[:1]},
			{oauth.GrantFilter{UserID: "usr_alice", SessionID: "ses_none"}, nil},
		} {
			if got := list(c.f); !slices.Equal(got, c.want) {
				t.Errorf("Grants(%+v) = %v, want %v", c.f, got, c.want)
			}
		}
		// Pages of two, each after the last ID of the one before.
		var paged []string
		for f := (oauth.GrantFilter{UserID: "usr_alice", Limit: 2}); ; {
			page := list(f)
			if len(page) > 2 {
				t.Fatalf("a page of limit 2 has %d grants", len(page))
			}
			paged = append(paged, page...)
			if len(page) < 2 {
				break
			}
			f.After = page[len(page)-1]
		}
		if !slices.Equal(paged, alice) {
			t.Errorf("paged listing = %v, want %v", paged, alice)
		}
		if _, err := s.Grants(bg, oauth.GrantFilter{}); err == nil {
			t.Error("Grants without a user or a client succeeded")
		}
	}},
	{"a listing without a limit gives 100", func(t *testing.T, s GrantsStore) {
		for i := range 101 {
			createGrant(t, s, &oauth.Grant{ID: fmt.Sprintf("grt_%03d", i), ClientID: "app_one", UserID: "usr_alice"}, nil)
		}
		gs, err := s.Grants(bg, oauth.GrantFilter{ClientID: "app_one"})
		if err != nil {
			t.Fatalf("Grants: %v", err)
		}
		if len(gs) != 100 || gs[99].ID != "grt_099" {
			t.Fatalf("Grants without a limit gave %d grants, want the first 100", len(gs))
		}
	}},
	{"delete removes the grants and all their refresh tokens, only theirs", func(t *testing.T, s GrantsStore) {
		a, b, c := fullGrant("grt_a", "usr_u", "app_c"), fullGrant("grt_b", "usr_u", "app_c"), fullGrant("grt_keep", "usr_u", "app_c")
		createGrant(t, s, a, refreshToken("a1", a))
		if err := s.RotateRefresh(bg, digestOf("refresh a1"), t0.Add(time.Minute), []byte("sealed"), refreshToken("a2", a)); err != nil {
			t.Fatalf("RotateRefresh: %v", err)
		}
		createGrant(t, s, b, refreshToken("b1", b))
		createGrant(t, s, c, refreshToken("keep", c))
		if err := s.DeleteGrants(bg, []string{"grt_a", "grt_b", "grt_never"}); err != nil {
			t.Fatalf("DeleteGrants: %v", err)
		}
		for _, id := range []string{"grt_a", "grt_b"} {
			_, err := s.Grant(bg, id)
			wantErr(t, "Grant("+id+") after delete", err, token.ErrNotFound)
		}
		for _, name := range []string{"a1", "a2", "b1"} {
			wantNoRefresh(t, s, "refresh token "+name+" after delete", digestOf("refresh "+name))
		}
		if _, err := s.Grant(bg, "grt_keep"); err != nil {
			t.Fatalf("the other grant went: %v", err)
		}
		getRefresh(t, s, digestOf("refresh keep"))
		if err := s.DeleteGrants(bg, nil); err != nil {
			t.Fatalf("DeleteGrants(nil): %v", err)
		}
	}},
}

var refreshTests = []grantTest{
	{"RT01_RotateOnceThenErrRotated", func(t *testing.T, s GrantsStore) {
		g := fullGrant("grt_r", "usr_u", "app_c")
		old := refreshToken("r1", g)
		createGrant(t, s, g, old)
		next := refreshToken("r2", g)
		next.CreatedAt = t0.Add(time.Minute)
		at := t0.Add(time.Minute)
		sealed := []byte("sealed answer \x00\xff")
		if err := s.RotateRefresh(bg, old.Digest, at, sealed, next); err != nil {
			t.Fatalf("RotateRefresh: %v", err)
		}
		want := *old
		want.RotatedAt, want.Successor = at, sealed
		sameAs(t, "the rotated token", getRefresh(t, s, old.Digest), &want, normRefresh)
		sameAs(t, "the next token", getRefresh(t, s, next.Digest), next, normRefresh)

		third := refreshToken("r3", g)
		err := s.RotateRefresh(bg, old.Digest, at, []byte("other"), third)
		wantErr(t, "RotateRefresh of the rotated token", err, oauth.ErrRotated)
		wantNoRefresh(t, s, "the token a refused rotation would store", third.Digest)
		sameAs(t, "the rotated token after a refused rotation", getRefresh(t, s, old.Digest), &want, normRefresh)

		err = s.RotateRefresh(bg, digestOf("unknown"), at, nil, refreshToken("r4", g))
		wantErr(t, "RotateRefresh(unknown)", err, token.ErrNotFound)
		wantNoRefresh(t, s, "the token a rotation of an unknown one would store", digestOf("refresh r4"))

		if err := s.RotateRefresh(bg, next.Digest, time.Time{}, nil, third); err == nil {
			t.Fatal("RotateRefresh at the zero time succeeded")
		}
		if rt := getRefresh(t, s, next.Digest); !rt.RotatedAt.IsZero() {
			t.Fatalf("a refused rotation rotated the token: %+v", rt)
		}
	}},
	{"RT02_ConcurrentRotateOneWinner", func(t *testing.T, s GrantsStore) {
		const n = 20
		g := fullGrant("grt_race", "usr_u", "app_c")
		old := refreshToken("race", g)
		createGrant(t, s, g, old)
		errs := make([]error, n)
		concurrently(n, func(i int) {
			errs[i] = s.RotateRefresh(bg, old.Digest, t0.Add(time.Second), []byte(fmt.Sprintf("answer %d", i)),
				refreshToken(fmt.Sprintf("next %d", i), g))
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("rotations %d and %d both succeeded", winner, i)
				}
				winner = i
			case errors.Is(err, oauth.ErrRotated):
			default:
				t.Fatalf("rotation %d: %v, want success or ErrRotated", i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("none of %d concurrent rotations succeeded", n)
		}
		rt := getRefresh(t, s, old.Digest)
		if want := fmt.Sprintf("answer %d", winner); string(rt.Successor) != want || !rt.RotatedAt.Equal(t0.Add(time.Second)) {
			t.Fatalf("the rotated token holds %q at %v, want the winner's %q", rt.Successor, rt.RotatedAt, want)
		}
		for i := range n {
			d := digestOf(fmt.Sprintf("refresh next %d", i))
			if i == winner {
				if got := getRefresh(t, s, d); !got.RotatedAt.IsZero() || got.GrantID != g.ID {
					t.Fatalf("the winner's next token is %+v, want a current token of the grant", got)
				}
				continue
			}
			wantNoRefresh(t, s, fmt.Sprintf("the next token of losing rotation %d", i), d)
		}
	}},
	{"RT06_RotateRollsBack", func(t *testing.T, s GrantsStore) {
		g := fullGrant("grt_rb", "usr_u", "app_c")
		old := refreshToken("rb", g)
		createGrant(t, s, g, old)
		other := fullGrant("grt_other", "usr_u", "app_c")
		taken := refreshToken("taken", other)
		createGrant(t, s, other, taken)

		collide := refreshToken("taken", g) // the digest of an existing token
		err := s.RotateRefresh(bg, old.Digest, t0.Add(time.Minute), []byte("sealed"), collide)
		wantErr(t, "RotateRefresh with a next token whose digest exists", err, token.ErrConflict)
		sameAs(t, "the old token after the failed rotation", getRefresh(t, s, old.Digest), old, normRefresh)
		sameAs(t, "the existing token after the failed rotation", getRefresh(t, s, taken.Digest), taken, normRefresh)

		bad := refreshToken("bad", g)
		bad.Digest = bad.Digest[:31]
		if err := s.RotateRefresh(bg, old.Digest, t0.Add(time.Minute), []byte("sealed"), bad); err == nil {
			t.Fatal("RotateRefresh with a 31-byte next digest succeeded")
		}
		sameAs(t, "the old token after a refused rotation", getRefresh(t, s, old.Digest), old, normRefresh)

		// The retry with the same old token succeeds.
		next := refreshToken("rb2", g)
		if err := s.RotateRefresh(bg, old.Digest, t0.Add(2*time.Minute), []byte("sealed"), next); err != nil {
			t.Fatalf("RotateRefresh after the failed one: %v", err)
		}
		getRefresh(t, s, next.Digest)
	}},
}

var consentTests = []grantTest{
	{"put, replace, list and delete", func(t *testing.T, s GrantsStore) {
		get := func(user, client string) *oauth.Consent {
			t.Helper()
			c, err := s.Consent(bg, user, client)
			if err != nil {
				t.Fatalf("Consent(%s, %s): %v", user, client, err)
			}
			return c
		}
		_, err := s.Consent(bg, "usr_a", "app_x")
		wantErr(t, "Consent before any", err, token.ErrNotFound)
		first := &oauth.Consent{UserID: "usr_a", ClientID: "app_x", Scopes: []string{"openid", "keys:read"}, CreatedAt: t0, UpdatedAt: t0}
		if err := s.PutConsent(bg, first); err != nil {
			t.Fatalf("PutConsent: %v", err)
		}
		sameAs(t, "Consent", get("usr_a", "app_x"), first, normConsent)

		replaced := &oauth.Consent{UserID: "usr_a", ClientID: "app_x", Scopes: []string{"openid"}, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
		if err := s.PutConsent(bg, replaced); err != nil {
			t.Fatalf("PutConsent again: %v", err)
		}
		sameAs(t, "Consent after replacing it", get("usr_a", "app_x"), replaced, normConsent)

		for _, c := range []*oauth.Consent{
			{UserID: "usr_a", ClientID: "app_w", CreatedAt: t0, UpdatedAt: t0},
			{UserID: "usr_a", ClientID: "app_z", Scopes: []string{"a"}, CreatedAt: t0, UpdatedAt: t0},
			{UserID: "usr_b", ClientID: "app_x", Scopes: []string{"b"}, CreatedAt: t0, UpdatedAt: t0},
		} {
			if err := s.PutConsent(bg, c); err != nil {
				t.Fatalf("PutConsent(%s, %s): %v", c.UserID, c.ClientID, err)
			}
		}
		cs, err := s.Consents(bg, "usr_a")
		if err != nil {
			t.Fatalf("Consents: %v", err)
		}
		var clients []string
		for _, c := range cs {
			clients = append(clients, c.ClientID)
		}
		if want := []string{"app_w", "app_x", "app_z"}; !slices.Equal(clients, want) {
			t.Fatalf("Consents(usr_a) are of %v, want %v", clients, want)
		}
		sameAs(t, "the listed consent", cs[1], replaced, normConsent)
		if cs[0].Scopes != nil {
			t.Errorf("a consent without scopes read back %#v, want nil", cs[0].Scopes)
		}

		if err := s.DeleteConsent(bg, "usr_a", "app_x"); err != nil {
			t.Fatalf("DeleteConsent: %v", err)
		}
		_, err = s.Consent(bg, "usr_a", "app_x")
		wantErr(t, "Consent after delete", err, token.ErrNotFound)
		if err := s.DeleteConsent(bg, "usr_a", "app_x"); err != nil {
			t.Fatalf("DeleteConsent of none: %v, want nil", err)
		}
		sameAs(t, "another user's consent to the client", get("usr_b", "app_x"),
			&oauth.Consent{UserID: "usr_b", ClientID: "app_x", Scopes: []string{"b"}, CreatedAt: t0, UpdatedAt: t0}, normConsent)
		if cs, err := s.Consents(bg, "usr_nobody"); err != nil || len(cs) != 0 {
			t.Fatalf("Consents(nobody) = %v, %v; want none", cs, err)
		}
	}},
}

var pushedTests = []grantTest{
	{"a pushed request is found until it expires, and deleted once", func(t *testing.T, s GrantsStore) {
		p := &oauth.PushedRequest{Digest: digestOf("request_uri"), ClientID: "app_c",
			Params: []byte("response_type=code&client_id=app_c&scope=openid+x%20y"), ExpiresAt: t0.Add(time.Minute)}
		if err := s.PushRequest(bg, p); err != nil {
			t.Fatalf("PushRequest: %v", err)
		}
		wantErr(t, "PushRequest twice", s.PushRequest(bg, p), token.ErrConflict)
		got, err := s.PushedRequest(bg, p.Digest, t0)
		if err != nil {
			t.Fatalf("PushedRequest: %v", err)
		}
		norm := func(p oauth.PushedRequest) oauth.PushedRequest { p.ExpiresAt = utc(p.ExpiresAt); return p }
		sameAs(t, "PushedRequest", got, p, norm)
		if _, err := s.PushedRequest(bg, p.Digest, p.ExpiresAt.Add(-time.Nanosecond)); err != nil {
			t.Fatalf("PushedRequest a nanosecond before expiry: %v", err)
		}
		for _, at := range []time.Time{p.ExpiresAt, p.ExpiresAt.Add(time.Nanosecond), p.ExpiresAt.Add(time.Hour)} {
			_, err := s.PushedRequest(bg, p.Digest, at)
			wantErr(t, "PushedRequest at "+at.Format(time.RFC3339Nano), err, token.ErrNotFound)
		}
		_, err = s.PushedRequest(bg, digestOf("unknown"), t0)
		wantErr(t, "PushedRequest(unknown)", err, token.ErrNotFound)

		if err := s.DeletePushedRequest(bg, p.Digest); err != nil {
			t.Fatalf("DeletePushedRequest: %v", err)
		}
		_, err = s.PushedRequest(bg, p.Digest, t0)
		wantErr(t, "PushedRequest after delete", err, token.ErrNotFound)
		wantErr(t, "DeletePushedRequest again", s.DeletePushedRequest(bg, p.Digest), token.ErrNotFound)
	}},
	{"push refuses a digest that is not SHA-256 and a request without expiry", func(t *testing.T, s GrantsStore) {
		if err := s.PushRequest(bg, &oauth.PushedRequest{Digest: []byte("short"), ClientID: "app_c", ExpiresAt: t0}); err == nil {
			t.Fatal("PushRequest of a 5-byte digest succeeded")
		}
		if err := s.PushRequest(bg, &oauth.PushedRequest{Digest: digestOf("noexp"), ClientID: "app_c"}); err == nil {
			t.Fatal("PushRequest without an expiry succeeded")
		}
	}},
	{"of concurrent uses of a request_uri one deletes it", func(t *testing.T, s GrantsStore) {
		const n = 20
		p := &oauth.PushedRequest{Digest: digestOf("race"), ClientID: "app_c", Params: []byte("a=b"), ExpiresAt: t0.Add(time.Minute)}
		if err := s.PushRequest(bg, p); err != nil {
			t.Fatalf("PushRequest: %v", err)
		}
		errs := make([]error, n)
		concurrently(n, func(i int) { errs[i] = s.DeletePushedRequest(bg, p.Digest) })
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, token.ErrNotFound):
				t.Fatalf("DeletePushedRequest %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent deletes succeeded, want 1", won, n)
		}
	}},
}

var pruneGrantTests = []grantTest{
	{"prune deletes what expired, clears old successors and counts the rows", func(t *testing.T, s GrantsStore) {
		before := t0.Add(time.Hour)
		graceEnd := t0.Add(30 * time.Minute)
		for i, exp := range []time.Time{before.Add(-time.Nanosecond), before, before.Add(time.Minute)} {
			c := fullCode(fmt.Sprint("prune ", i))
			c.ExpiresAt = exp
			createCode(t, s, c)
			if err := s.PushRequest(bg, &oauth.PushedRequest{Digest: digestOf(fmt.Sprint("par ", i)), ClientID: "app_c",
				Params: []byte("x=y"), ExpiresAt: exp}); err != nil {
				t.Fatalf("PushRequest: %v", err)
			}
		}
		g := fullGrant("grt_p", "usr_u", "app_c")
		createGrant(t, s, g, nil)
		store := func(name string, exp time.Time) *oauth.RefreshToken {
			rt := refreshToken(name, g)
			rt.ExpiresAt = exp
			if err := s.CreateGrant(bg, &oauth.Grant{ID: "grt_holder_" + name, ClientID: "app_c", UserID: "usr_u"}, rt); err != nil {
				t.Fatalf("CreateGrant: %v", err)
			}
			return rt
		}
		idleGone := store("idle gone", before.Add(-time.Second))
		noIdle := store("no idle end", time.Time{})
		oldRotated := store("rotated early", before.Add(time.Hour))
		newRotated := store("rotated late", before.Add(time.Hour))
		rotate := func(rt *oauth.RefreshToken, at time.Time, next string) {
			t.Helper()
			if err := s.RotateRefresh(bg, rt.Digest, at, []byte("sealed "+next), nil); err != nil {
				t.Fatalf("RotateRefresh: %v", err)
			}
		}
		rotate(oldRotated, graceEnd.Add(-time.Second), "a")
		rotate(newRotated, graceEnd, "b")

		n, err := s.PruneGrants(bg, before, graceEnd)
		if err != nil {
			t.Fatalf("PruneGrants: %v", err)
		}
		// One code, one pushed request and one refresh token deleted; one
		// successor cleared.
		if n != 4 {
			t.Errorf("PruneGrants changed %d rows, want 4", n)
		}
		_, err = s.RedeemCode(bg, digestOf("code prune 0"), before)
		wantErr(t, "the expired code after pruning", err, token.ErrNotFound)
		for i := 1; i < 3; i++ {
			if _, err := s.RedeemCode(bg, digestOf(fmt.Sprint("code prune ", i)), before); err != nil {
				t.Errorf("code %d after pruning: %v", i, err)
			}
		}
		if err := s.DeletePushedRequest(bg, digestOf("par 0")); !errors.Is(err, token.ErrNotFound) {
			t.Errorf("the expired pushed request after pruning: %v, want not found", err)
		}
		for i := 1; i < 3; i++ {
			if err := s.DeletePushedRequest(bg, digestOf(fmt.Sprint("par ", i))); err != nil {
				t.Errorf("pushed request %d after pruning: %v", i, err)
			}
		}
		wantNoRefresh(t, s, "the idle refresh token after pruning", idleGone.Digest)
		getRefresh(t, s, noIdle.Digest)
		if rt := getRefresh(t, s, oldRotated.Digest); rt.Successor != nil || rt.RotatedAt.IsZero() {
			t.Errorf("the token rotated before the grace end is %+v, want rotated without its successor", rt)
		}
		if rt := getRefresh(t, s, newRotated.Digest); string(rt.Successor) != "sealed b" {
			t.Errorf("the token rotated at the grace end lost its successor: %+v", rt)
		}
		if _, err := s.Grant(bg, g.ID); err != nil {
			t.Errorf("PruneGrants removed a grant record: %v", err)
		}
		if n, err := s.PruneGrants(bg, before, graceEnd); err != nil || n != 0 {
			t.Errorf("PruneGrants again = %d, %v; want 0", n, err)
		}
		if n, err := s.PruneGrants(bg, time.Time{}, time.Time{}); err != nil || n != 0 {
			t.Errorf("PruneGrants at the zero time = %d, %v; want 0", n, err)
		}
	}},
}
