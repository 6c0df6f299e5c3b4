package upstream

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func testCodec(t *testing.T) *Codec {
	t.Helper()
	c, err := NewCodec([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStateCodec: a sealed state opens; one altered byte, another key, an
// expired state or garbage does not.
func TestStateCodec(t *testing.T) {
	c := testCodec(t)
	now := time.Unix(1_800_000_000, 0)
	st := &State{Provider: "corp", State: "s", Nonce: "n", Verifier: "v", ReturnTo: "/ui/me", Expires: now.Add(StateTTL).Unix()}
	v := c.Seal(st)
	got, err := c.Open(v, now)
	if err != nil || *got != *st {
		t.Fatalf("Open: %+v %v", got, err)
	}
	other, _ := NewCodec([]byte(strings.Repeat("x", 32)))
	bad := []string{"", "x", "x.y", v[:len(v)-1], v + "A", strings.Replace(v, ".", "A.", 1), strings.Repeat("a", 5000)}
	for i := 0; i < len(v); i += 7 {
		b := []byte(v)
		b[i] ^= 1
		bad = append(bad, string(b))
	}
	for _, b := range bad {
		if _, err := c.Open(b, now); !errors.Is(err, ErrBadState) {
			t.Errorf("Open(%.40q): %v", b, err)
		}
	}
	if _, err := other.Open(v, now); !errors.Is(err, ErrBadState) {
		t.Error("another key opened the state")
	}
	if _, err := c.Open(v, now.Add(StateTTL)); !errors.Is(err, ErrBadState) {
		t.Error("an expired state opened")
	}
	if _, err := NewCodec(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was taken")
	}
}

// TestIdentityMapping: user ID "<provider>:<sub>" or the username claim,
// permissions from the groups claim (a list or one string), name, email.
func TestIdentityMapping(t *testing.T) {
	p, err := New(Config{ID: "corp", Issuer: "https://idp.example", ClientID: "c", RedirectURL: "https://lk.example/cb",
		GroupPermissions: map[string][]string{"admins": {"admin"}, "devs": {"orders:read", "admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.identity("u-1", map[string]any{"groups": []any{"devs", "admins", 7, "other"}, "name": "Ann", "email": "ann@idp.example"})
	if err != nil || id.UserID != "corp:u-1" || id.Source != "oidc:corp" || id.Name != "Ann" || id.Email != "ann@idp.example" ||
		!slices.Equal(id.Permissions, []string{"admin", "orders:read"}) {
		t.Fatalf("identity: %+v %v", id, err)
	}
	if id, _ := p.identity("u-1", map[string]any{"groups": "admins"}); !slices.Equal(id.Permissions, []string{"admin"}) {
		t.Errorf("one-string groups claim: %+v", id)
	}
	if id, _ := p.identity("u-1", nil); len(id.Permissions) != 0 {
		t.Errorf("no groups: %+v", id)
	}
	if _, err := p.identity("", nil); !errors.Is(err, ErrRejected) {
		t.Errorf("empty sub: %v", err)
	}
	p.c.UsernameClaim = "preferred_username"
	if id, err := p.identity("u-1", map[string]any{"preferred_username": "ann"}); err != nil || id.UserID != "ann" {
		t.Errorf("username claim: %+v %v", id, err)
	}
	if _, err := p.identity("u-1", map[string]any{}); !errors.Is(err, ErrRejected) {
		t.Errorf("missing username claim: %v", err)
	}
	if !slices.Contains(p.c.Scopes, "openid") {
		t.Errorf("default scopes: %v", p.c.Scopes)
	}
}

// TestConfigValidate refuses bad IDs, issuers and missing client IDs.
func TestConfigValidate(t *testing.T) {
	ok := Config{ID: "corp", Issuer: "https://idp.example/t/v2.0", ClientID: "c", RedirectURL: "https://lk.example/cb"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mut := range []func(*Config){
		func(c *Config) { c.ID = "" }, func(c *Config) { c.ID = "Corp" }, func(c *Config) { c.ID = "a/b" },
		func(c *Config) { c.Issuer = "idp.example" }, func(c *Config) { c.Issuer = "ftp://idp.example" },
		func(c *Config) { c.Issuer = "https://idp.example?x=1" }, func(c *Config) { c.ClientID = "" },
		func(c *Config) { c.RedirectURL = "" },
	} {
		c := ok
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

// TestOutboundRefusesPrivate: the default client does not connect to
// loopback (a test server), the one allowed to does; PublicAddr knows the
// private ranges.
func TestOutboundRefusesPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if _, err := NewHTTPClient(false).Get(srv.URL); err == nil || !errors.Is(err, ErrPrivateAddress) {
		t.Errorf("loopback reached: %v", err)
	}
	resp, err := NewHTTPClient(true).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed client: %v", err)
	}
	resp.Body.Close()
	for _, a := range []string{"127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "fe80::1",
		"fc00::1", "0.0.0.0", "::", "100.64.0.1", "::ffff:127.0.0.1", "224.0.0.1"} {
		if PublicAddr(netip.MustParseAddr(a)) {
			t.Errorf("%s counted as public", a)
		}
	}
	for _, a := range []string{"8.8.8.8", "2606:4700::1111"} {
		if !PublicAddr(netip.MustParseAddr(a)) {
			t.Errorf("%s counted as private", a)
		}
	}
}
