package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/server"
)

// End-to-end tests of IP allowlists (KEY-06) and brute-force throttling
// (KEY-09). Distinct client addresses are real: the test binds its side of
// the connection to 127.0.0.x, all of which are loopback on Linux.

// trustedProxy is the loopback address the KEY-06 server trusts.
const trustedProxy = "127.0.0.10"

// httpFrom returns an HTTP client whose connections come from local.
func httpFrom(t *testing.T, local string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	// Check that the address can be bound at all.
	ln, err := net.Listen("tcp", net.JoinHostPort(local, "0"))
	if err != nil {
		t.Skipf("cannot use loopback address %s on this machine: %v", local, err)
	}
	ln.Close()
	return c
}

// call sends a JSON request from hc with bearer tok and optional
// X-Forwarded-For, and returns the response with its body.
func call(t *testing.T, hc *http.Client, s *testServer, method, path, tok, xff, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// verifyCode verifies secret from hc (with xff and the ip field, if set)
// and returns the code.
func verifyCode(t *testing.T, hc *http.Client, s *testServer, secret, ip, xff string) string {
	t.Helper()
	body, _ := json.Marshal(api.VerifyRequest{Key: secret, IP: ip})
	r := call(t, hc, s, "POST", "/v1/keys/verify", s.Root, xff, string(body))
	if r.Status != 200 {
		t.Fatalf("verify: status %d: %.300s", r.Status, r.Body)
	}
	var res api.VerifyResponse
	if err := json.Unmarshal(r.Body, &res); err != nil {
		t.Fatal(err)
	}
	if res.Valid != (res.Code == "VALID") {
		t.Fatalf("verify: valid %v with code %s", res.Valid, res.Code)
	}
	return res.Code
}

func TestSEC_KEY06_IPAllowlist(t *testing.T) {
	s := startServer(t, server.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix(trustedProxy + "/32")}})
	c := s.client(t, s.Root)
	direct := httpFrom(t, "127.0.0.1")
	proxy := httpFrom(t, trustedProxy)

	k, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Name: "office", IPAllow: []string{"203.0.113.0/24", "2001:db8::/32"}})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	if !slices.Equal(k.IPAllow, []string{"203.0.113.0/24", "2001:db8::/32"}) {
		t.Errorf("ip_allow = %q", k.IPAllow)
	}

	t.Run("ip field", func(t *testing.T) {
		for ip, want := range map[string]string{
			"203.0.113.5":         "VALID",
			"203.0.113.255":       "VALID",
			"2001:db8::1":         "VALID",
			"2001:db8:ffff::9":    "VALID",
			"::ffff:203.0.113.5":  "VALID", // IPv4-mapped IPv6 is the IPv4 address
			"203.0.114.1":         "FORBIDDEN_IP",
			"198.51.100.1":        "FORBIDDEN_IP",
			"2001:db9::1":         "FORBIDDEN_IP",
			"::ffff:198.51.100.1": "FORBIDDEN_IP",
			"127.0.0.1":           "FORBIDDEN_IP",
		} {
			if got := verifyCode(t, direct, s, k.Secret, ip, ""); got != want {
				t.Errorf("ip %s: %s, want %s", ip, got, want)
			}
		}
		r := call(t, direct, s, "POST", "/v1/keys/verify", s.Root, "", `{"key":"`+k.Secret+`","ip":"not-an-ip"}`)
		wantProblem(t, r, 400)
	})

	t.Run("spoofed X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		for _, xff := range []string{"203.0.113.5", "2001:db8::1", "198.51.100.1, 203.0.113.5"} {
			if got := verifyCode(t, direct, s, k.Secret, "", xff); got != "FORBIDDEN_IP" {
				t.Errorf("X-Forwarded-For %q from 127.0.0.1: %s, want FORBIDDEN_IP", xff, got)
			}
		}
		// And it cannot move a key that is allowed from 127.0.0.1 away.
		local, err := c.CreateKey(t.Context(), api.CreateKeyRequest{IPAllow: []string{"127.0.0.1"}})
		if err != nil || !slices.Equal(local.IPAllow, []string{"127.0.0.1/32"}) {
			t.Fatalf("create: %+v %v", local, err)
		}
		if got := verifyCode(t, direct, s, local.Secret, "", "198.51.100.1"); got != "VALID" {
			t.Errorf("spoofed X-Forwarded-For changed the client address: %s", got)
		}
	})

	t.Run("X-Forwarded-For from a trusted proxy is honoured", func(t *testing.T) {
		for xff, want := range map[string]string{
			"203.0.113.5":                     "VALID",
			"::ffff:203.0.113.5":              "VALID",
			"2001:db8::7":                     "VALID",
			"198.51.100.9":                    "FORBIDDEN_IP",
			"198.51.100.9, 203.0.113.5":       "VALID",        // the right-most hop is the proxy's peer
			"203.0.113.5, 198.51.100.9":       "FORBIDDEN_IP", // a client cannot prepend its way in
			"203.0.113.5, " + trustedProxy:    "VALID",        // trusted hops are skipped
			"":                                "FORBIDDEN_IP", // no header: the proxy itself
			"garbage":                         "FORBIDDEN_IP",
			"198.51.100.9,::ffff:203.0.113.6": "VALID",
		} {
			if got := verifyCode(t, proxy, s, k.Secret, "", xff); got != want {
				t.Errorf("X-Forwarded-For %q from trusted %s: %s, want %s", xff, trustedProxy, got, want)
			}
		}
		// The ip field of a trusted caller wins over the header.
		if got := verifyCode(t, proxy, s, k.Secret, "198.51.100.1", "203.0.113.5"); got != "FORBIDDEN_IP" {
			t.Errorf("ip field outside, header inside: %s, want FORBIDDEN_IP", got)
		}
	})

	t.Run("allowlist normalised, changed, removed and inherited", func(t *testing.T) {
		m, err := c.CreateKey(t.Context(), api.CreateKeyRequest{IPAllow: []string{"::ffff:203.0.113.0/120", "2001:db8::5/32"}})
		if err != nil || !slices.Equal(m.IPAllow, []string{"203.0.113.0/24", "2001:db8::/32"}) {
			t.Fatalf("mapped and unmasked prefixes: %+v %v", m.IPAllow, err)
		}
		if _, err := c.CreateKey(t.Context(), api.CreateKeyRequest{IPAllow: []string{"203.0.113.0/33"}}); client.StatusOf(err) != 422 && client.StatusOf(err) != 400 {
			t.Errorf("bad prefix: %v, want 400 or 422", err)
		}
		rot, err := c.RotateKey(t.Context(), k.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := verifyCode(t, direct, s, rot.Secret, "198.51.100.1", ""); got != "FORBIDDEN_IP" {
			t.Errorf("rotated key from outside: %s, want FORBIDDEN_IP (derived keys inherit the allowlist)", got)
		}
		if got := verifyCode(t, direct, s, rot.Secret, "203.0.113.5", ""); got != "VALID" {
			t.Errorf("rotated key from inside: %s", got)
		}
		if _, err := c.UpdateKey(t.Context(), rot.ID, api.UpdateKeyRequest{IPAllow: &[]string{"198.51.100.0/24"}}); err != nil {
			t.Fatal(err)
		}
		if got := verifyCode(t, direct, s, rot.Secret, "198.51.100.1", ""); got != "VALID" {
			t.Errorf("after changing the allowlist: %s", got)
		}
		if _, err := c.UpdateKey(t.Context(), rot.ID, api.UpdateKeyRequest{IPAllow: &[]string{}}); err != nil {
			t.Fatal(err)
		}
		if got := verifyCode(t, direct, s, rot.Secret, "192.0.2.1", ""); got != "VALID" {
			t.Errorf("after removing the allowlist: %s", got)
		}
	})
}

// throttleEvents returns the auth.throttled audit events about addr.
func throttleEvents(t *testing.T, c *client.Client, addr string) []api.AuditEvent {
	t.Helper()
	l, err := c.Audit(t.Context(), client.AuditListOptions{Action: "auth.throttled", TargetID: addr, Limit: 100})
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	return l.Items
}

// wantThrottled checks a 429 too_many_failures with a sane Retry-After and
// returns it in seconds.
func wantThrottled(t *testing.T, r response, maxWait time.Duration) int {
	t.Helper()
	if p := wantProblem(t, r, 429); p.Code != "too_many_failures" {
		t.Errorf("429 code %q, want too_many_failures", p.Code)
	}
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 || time.Duration(ra)*time.Second > maxWait+time.Second {
		t.Errorf("Retry-After %q, want 1…%s seconds", r.Header.Get("Retry-After"), maxWait)
	}
	return ra
}

func TestSEC_KEY09_BruteForceThrottled(t *testing.T) {
	authLimit := ratelimit.Limit{Name: "auth_failures", Limit: 3, Window: 3 * time.Second}
	s := startServer(t, server.Config{
		AuthFailureLimit:   authLimit,
		VerifyFailureLimit: ratelimit.Limit{Name: "verify_failures", Limit: 5, Window: time.Minute},
	})
	root := s.client(t, s.Root)
	attacker, other := httpFrom(t, "127.0.0.2"), httpFrom(t, "127.0.0.3")
	bad := withChecksum("latchkey_" + randomBase62(43))

	burst := func(t *testing.T) {
		t.Helper()
		first := 0
		for i := 1; i <= 100 && first == 0; i++ {
			r := call(t, attacker, s, "GET", "/v1/keys", bad, "", "")
			switch r.Status {
			case 401:
			case 429:
				first = i
				wantThrottled(t, r, authLimit.Window)
			default:
				t.Fatalf("attempt %d: status %d: %.200s", i, r.Status, r.Body)
			}
		}
		if first == 0 || first > int(authLimit.Limit)+1 {
			t.Fatalf("first 429 at attempt %d, want by attempt %d", first, authLimit.Limit+1)
		}
		for i := range 20 { // the rest of the burst stays refused
			if r := call(t, attacker, s, "GET", "/v1/keys", bad, "", ""); r.Status != 429 {
				t.Fatalf("attempt %d after the first 429: status %d", first+i+1, r.Status)
			}
		}
	}

	burst(t)
	if r := call(t, other, s, "GET", "/v1/keys", s.Root, "", ""); r.Status != 200 {
		t.Errorf("good credential from another address during the throttle: status %d", r.Status)
	}
	if r := call(t, httpFrom(t, "127.0.0.1"), s, "GET", "/v1/self", s.Root, "", ""); r.Status != 200 {
		t.Errorf("good credential from 127.0.0.1 during the throttle: status %d", r.Status)
	}
	if n := len(throttleEvents(t, root, "127.0.0.2")); n != 1 {
		t.Errorf("%d auth.throttled events after one burst of ~24 refusals, want 1", n)
	}

	// Once the budget has refilled, a second burst is throttled again and
	// audited once more.
	time.Sleep(authLimit.Window + 200*time.Millisecond) // waiting out the window is the behaviour under test
	burst(t)
	evs := throttleEvents(t, root, "127.0.0.2")
	if len(evs) != 2 {
		t.Errorf("%d auth.throttled events after two bursts, want 2: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		if ev.TargetType != "address" || ev.Outcome == "success" {
			t.Errorf("audit event %+v: want target_type address and a non-success outcome", ev)
		}
	}
	if n := len(throttleEvents(t, root, "127.0.0.3")); n != 0 {
		t.Errorf("%d auth.throttled events for the innocent address", n)
	}

	t.Run("unknown keys per subject address", func(t *testing.T) {
		k, err := root.CreateKey(t.Context(), api.CreateKeyRequest{Name: "good"})
		if err != nil {
			t.Fatal(err)
		}
		unknown := withChecksum("default_" + randomBase62(43))
		first := 0
		for i := 1; i <= 100 && first == 0; i++ {
			body, _ := json.Marshal(api.VerifyRequest{Key: unknown, IP: "198.51.100.66"})
			r := call(t, other, s, "POST", "/v1/keys/verify", s.Root, "", string(body))
			if r.Status == 429 {
				first = i
				wantThrottled(t, r, time.Minute)
			} else if r.Status != 200 {
				t.Fatalf("verify %d: status %d", i, r.Status)
			}
		}
		if first == 0 || first > 6 {
			t.Fatalf("first 429 at verification %d, want by 6 (budget 5/1m)", first)
		}
		// Another subject address through the same caller is unaffected.
		if got := verifyCode(t, other, s, k.Secret, "198.51.100.67", ""); got != "VALID" {
			t.Errorf("other subject address: %s", got)
		}
		if got := verifyCode(t, other, s, unknown, "198.51.100.67", ""); got != "NOT_FOUND" {
			t.Errorf("other subject address, unknown key: %s", got)
		}
		if n := len(throttleEvents(t, root, "198.51.100.66")); n != 1 {
			t.Errorf("%d auth.throttled events for the throttled subject, want 1", n)
		}
	})
}

// The failure budget slows guessing and never refuses a valid credential:
// after an address has used up its budget, the root key and a valid API
// key from that very address still pass (a gateway sharing a host with a
// guesser keeps working), while bad guesses stay refused.
func TestSEC_KEY09_ValidCredentialPassesThrottle(t *testing.T) {
	s := startServer(t, server.Config{
		AuthFailureLimit:   ratelimit.Limit{Name: "auth_failures", Limit: 3, Window: time.Hour},
		VerifyFailureLimit: ratelimit.Limit{Name: "verify_failures", Limit: 3, Window: time.Hour},
	})
	root := s.client(t, s.Root)
	k, err := root.CreateKey(t.Context(), api.CreateKeyRequest{Name: "good"})
	if err != nil {
		t.Fatal(err)
	}
	host := httpFrom(t, "127.0.0.2")
	bad := withChecksum("latchkey_" + randomBase62(43))
	for i := range 10 {
		if r := call(t, host, s, "GET", "/v1/keys", bad, "", ""); i >= 3 && r.Status != 429 {
			t.Fatalf("bad guess %d: status %d, want 429", i+1, r.Status)
		}
	}
	if r := call(t, host, s, "GET", "/v1/keys", s.Root, "", ""); r.Status != 200 {
		t.Errorf("valid root key from the throttled address: status %d, want 200: %.200s", r.Status, r.Body)
	}
	if r := call(t, host, s, "GET", "/v1/keys", bad, "", ""); r.Status != 429 {
		t.Errorf("bad guess after the valid one: status %d, want 429", r.Status)
	}

	unknown := withChecksum("default_" + randomBase62(43))
	for range 10 {
		body, _ := json.Marshal(api.VerifyRequest{Key: unknown, IP: "198.51.100.70"})
		call(t, host, s, "POST", "/v1/keys/verify", s.Root, "", string(body))
	}
	body, _ := json.Marshal(api.VerifyRequest{Key: unknown, IP: "198.51.100.70"})
	if r := call(t, host, s, "POST", "/v1/keys/verify", s.Root, "", string(body)); r.Status != 429 {
		t.Fatalf("unknown key from a throttled subject: status %d, want 429", r.Status)
	}
	if got := verifyCode(t, host, s, k.Secret, "198.51.100.70", ""); got != "VALID" {
		t.Errorf("valid key from the throttled subject address: %s, want VALID", got)
	}
}

// Unknown-key throttling counts an IPv6 client by its /64, so rotating
// through the /64 does not reset the budget; IPv4 stays per address and an
// IPv4-mapped address counts as its IPv4 address.
func TestSEC_KEY09_IPv6ThrottledPer64(t *testing.T) {
	s := startServer(t, server.Config{
		VerifyFailureLimit: ratelimit.Limit{Name: "verify_failures", Limit: 3, Window: time.Hour},
	})
	c := httpFrom(t, "127.0.0.1")
	unknown := withChecksum("default_" + randomBase62(43))
	status := func(ip string) int {
		body, _ := json.Marshal(api.VerifyRequest{Key: unknown, IP: ip})
		return call(t, c, s, "POST", "/v1/keys/verify", s.Root, "", string(body)).Status
	}
	for i := range 3 {
		if st := status(fmt.Sprintf("2001:db8:1:2::%x", i+1)); st != 200 {
			t.Fatalf("unknown key %d from the /64: status %d, want 200", i+1, st)
		}
	}
	if st := status("2001:db8:1:2:ffff:ffff:ffff:ffff"); st != 429 {
		t.Errorf("4th unknown key from another address of the same /64: status %d, want 429", st)
	}
	if st := status("2001:db8:1:3::1"); st != 200 {
		t.Errorf("unknown key from the next /64: status %d, want 200", st)
	}
	for range 3 {
		status("192.0.2.7")
	}
	if st := status("::ffff:192.0.2.7"); st != 429 {
		t.Errorf("IPv4-mapped form of a throttled IPv4 address: status %d, want 429", st)
	}
	if st := status("192.0.2.8"); st != 200 {
		t.Errorf("the neighbouring IPv4 address: status %d, want 200", st)
	}
}
