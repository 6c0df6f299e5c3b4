package upstream

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/internal/outbound"
)

// NewHTTPClient returns the client latchkey reaches providers with:
// bounded dial, TLS, header and overall times, and — unless allowPrivate
// (LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true) — no connections to loopback,
// private, link-local or unspecified addresses, checked on the address
// actually dialled (after DNS, on every redirect).
func NewHTTPClient(allowPrivate bool) *http.Client {
	d := outbound.Guard(&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}, allowPrivate)
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		}}
}

// ErrPrivateAddress refuses a connection to a non-public address.
var ErrPrivateAddress = outbound.ErrPrivateAddress

// PublicAddr reports whether ip is a public unicast address.
func PublicAddr(ip netip.Addr) bool { return outbound.PublicAddr(ip) }
