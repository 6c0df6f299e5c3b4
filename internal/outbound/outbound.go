// Package outbound guards the connections latchkey opens to URLs others
// chose (back-channel logout receivers, upstream identity providers): no
// loopback, private, link-local, shared or otherwise non-public address
// unless the operator allows them (LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true),
// checked on the address actually dialled — after DNS, on every redirect.
package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrPrivateAddress refuses a connection to a non-public address.
var ErrPrivateAddress = errors.New("refusing to connect to a loopback or private address (set LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true to allow)")

// Guard sets d to refuse non-public addresses unless allowPrivate, and
// returns it.
func Guard(d *net.Dialer, allowPrivate bool) *net.Dialer {
	if !allowPrivate {
		d.Control = refusePrivate
	}
	return d
}

func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, address)
	}
	if !PublicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, ap.Addr())
	}
	return nil
}

// PublicAddr reports whether ip is a public unicast address.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// blocked are ranges netip counts as global unicast that are not public.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("0.0.0.0/8"),     // this network (RFC 1122)
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 of anything, private included
}
