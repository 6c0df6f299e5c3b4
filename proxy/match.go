package proxy

import (
	"net/netip"
	"strings"
)

// match returns the first route of rs that matches method and p, or nil.
func match(rs []*route, method, p string) *route {
	for _, r := range rs {
		if r.matches(method, p) {
			return r
		}
	}
	return nil
}

// matches reports whether r matches method and the request path p.
func (r *route) matches(method, p string) bool {
	if !underPrefix(p, r.path) {
		return false
	}
	if len(r.methods) == 0 {
		return true
	}
	for _, m := range r.methods {
		if m == method {
			return true
		}
	}
	return false
}

// underPrefix reports whether p is prefix or lies below it, on a segment
// boundary.
func underPrefix(p, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(p, "/")
	}
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return len(p) == len(prefix) || p[len(prefix)] == '/'
}

// safePath reports whether the (decoded) request path p is one that every
// upstream reads as the gateway does: absolute, without "." or ".."
// segments (also in the "..;" form some servers strip parameters from),
// without empty segments and without backslashes. Other paths could
// match one route here and reach another upstream resource, so they are
// refused.
func safePath(p string) bool {
	if p == "" || p[0] != '/' || strings.IndexByte(p, '\\') >= 0 {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		if seg == "." || seg == ".." {
			return false
		}
	}
	return !strings.Contains(p, "//")
}

// allowedIP reports whether ip lies in one of ps; with no ps every
// address is allowed.
func allowedIP(ps []netip.Prefix, ip string) bool {
	if len(ps) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
