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

// safePath reports whether the request path is one that every upstream
// reads as the gateway does: absolute, without "." or ".." segments,
// without empty segments, backslashes, ";" path parameters (Tomcat, Jetty
// and Spring drop them: "/admin;x" would miss the /admin route here and
// reach /admin there), control characters or NUL, and without encoded "/",
// "\" or ";" in the raw path. p is the decoded path, raw the escaped one
// ("" when it equals p). Other paths could match one route here and reach
// another resource upstream, so they are refused.
func safePath(p, raw string) bool {
	if p == "" || p[0] != '/' || strings.ContainsAny(p, "\\;") || strings.Contains(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	if raw != "" {
		l := strings.ToLower(raw)
		if strings.Contains(l, "%2f") || strings.Contains(l, "%5c") || strings.Contains(l, "%3b") {
			return false
		}
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// caseConfusable reports whether p falls under the prefix of a route only
// when case is ignored ("/ADMIN" and an /admin route): an upstream that
// matches paths without regard to case would serve the route's resource
// while the gateway applied another route's rules, so such a path is
// refused.
func caseConfusable(rs []*route, p string) bool {
	for _, r := range rs {
		if r.path == "/" || underPrefix(p, r.path) {
			continue
		}
		if len(p) >= len(r.path) && strings.EqualFold(p[:len(r.path)], r.path) &&
			(len(p) == len(r.path) || p[len(r.path)] == '/') {
			return true
		}
	}
	return false
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
