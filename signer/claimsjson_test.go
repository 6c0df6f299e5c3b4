package signer

import (
	"encoding/json"
	"testing"
	"time"
)

// claimsCorpus holds claims of every shape appendClaims must write as
// encoding/json does: one and several audiences, none, optional fields
// set and not, strings needing every kind of escape, invalid UTF-8.
func claimsCorpus() []AccessClaims {
	t := time.Unix(1_800_000_000, 0)
	base := AccessClaims{Issuer: "https://auth.example.com", Subject: "user:alice", Audience: []string{"orders"},
		Expiry: t.Add(5 * time.Minute), IssuedAt: t, ID: "Zm9vYmFy", Scope: []string{"orders:read", "orders:write"},
		ClientID: "key_06h0e4xr62qhmmvm684wrgwnam", KeyID: "key_06h0e4xr62qhmmvm684wrgwnam"}
	var cs []AccessClaims
	add := func(f func(c *AccessClaims)) {
		c := base
		c.Audience = append([]string(nil), base.Audience...)
		f(&c)
		cs = append(cs, c)
	}
	add(func(c *AccessClaims) {})
	add(func(c *AccessClaims) { c.Audience = []string{"a", "b"} })
	add(func(c *AccessClaims) { c.Audience = nil })
	add(func(c *AccessClaims) { c.Audience = []string{} })
	add(func(c *AccessClaims) { c.Scope = nil; c.ClientID = ""; c.KeyID = "" })
	add(func(c *AccessClaims) { c.Scope = []string{""} })
	add(func(c *AccessClaims) { c.Scope = []string{"", ""} })
	add(func(c *AccessClaims) { c.NotBefore = t.Add(-time.Second); c.ConfirmationJKT = "jkt-thumb" })
	add(func(c *AccessClaims) { c.NotBefore = time.Unix(0, 0) })
	add(func(c *AccessClaims) { c.Actor = &Actor{Subject: "app:edge"} })
	add(func(c *AccessClaims) { c.Actor = &Actor{Subject: "app:<edge>", Actor: &Actor{Subject: "user:\"bob\""}} })
	add(func(c *AccessClaims) { c.NotBefore = time.Unix(-5, 0); c.Expiry = time.Unix(-1, 0) })
	add(func(c *AccessClaims) {
		c.Issuer = "<a href=\"x\">&amp;</a>\\"
		c.Subject = "line\nbreak\r\ttab\b\f\x00\x1f\x7f"
		c.Audience = []string{"é ☃ \u2028 \u2029 𝄞"}
		c.ID = "\xff\xfe bad \xe2\x80"
		c.Scope = []string{"a\xe2", "\x80\xa8b", "<&>"}
		c.KeyID = "\"quoted\""
	})
	return cs
}

// checkClaimsJSON fails unless appendClaims writes c exactly as
// encoding/json writes c.wire().
func checkClaimsJSON(t *testing.T, c AccessClaims) {
	t.Helper()
	want, err := json.Marshal(c.wire())
	if err != nil {
		t.Fatal(err)
	}
	if got := appendClaims(nil, &c); string(got) != string(want) {
		t.Fatalf("appendClaims wrote\n%s\nencoding/json\n%s", got, want)
	}
}

func TestAppendClaimsMatchesEncodingJSON(t *testing.T) {
	for _, c := range claimsCorpus() {
		checkClaimsJSON(t, c)
	}
}

func FuzzAppendClaims(f *testing.F) {
	for _, c := range claimsCorpus() {
		f.Add(c.Issuer, c.Subject, c.ID, c.KeyID, c.ConfirmationJKT, "orders extra", 2, c.Expiry.Unix(), int64(0))
	}
	f.Fuzz(func(t *testing.T, iss, sub, jti, kid, jkt, scope string, auds int, exp, nbf int64) {
		c := AccessClaims{Issuer: iss, Subject: sub, ID: jti, KeyID: kid, ClientID: kid, ConfirmationJKT: jkt,
			Expiry: time.Unix(exp, 0), IssuedAt: time.Unix(exp/2, 0)}
		if nbf != 0 {
			c.NotBefore = time.Unix(nbf, 0)
		}
		for i := range auds % 4 {
			c.Audience = append(c.Audience, sub[:min(i, len(sub))])
		}
		if scope != "" {
			c.Scope = []string{scope, iss}
		}
		if auds%3 == 1 {
			c.Actor = &Actor{Subject: jti, Actor: &Actor{Subject: scope}}
		}
		checkClaimsJSON(t, c)
	})
}
