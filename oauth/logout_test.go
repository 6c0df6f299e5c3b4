package oauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestOutboundClientRefusesPrivate: back-channel logout never dials a
// loopback or internal address unless allowed, and follows no redirect.
func TestOutboundClientRefusesPrivate(t *testing.T) {
	hops := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops++
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	if _, err := OutboundClient(false).Get(srv.URL); !errors.Is(err, errPrivateAddress) {
		t.Errorf("loopback dialled: %v", err)
	}
	if hops != 0 {
		t.Fatal("the refused request arrived")
	}
	resp, err := OutboundClient(true).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hops != 1 {
		t.Errorf("redirect followed: %d after %d hops", resp.StatusCode, hops)
	}
	for addr, public := range map[string]bool{
		"93.184.216.34": true, "2606:4700::1111": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "0.1.2.3": false, "224.0.0.1": false, "::1": false, "fc00::1": false,
		"fe80::1": false, "::ffff:127.0.0.1": false, "::": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != public {
			t.Errorf("publicAddr(%s) = %v", addr, got)
		}
	}
}
