package proxy

import (
	"net/http"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// match returns the first route of rs that matches method and p, or nil.
// HEAD is matched as GET: upstreams answer it with their GET handler, so it
// must meet the GET route's conditions, never a weaker route's.
func match(rs []*route, method, p string) *route {
	if method == http.MethodHead {
		method = http.MethodGet
	}
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

// canonicalMethod reports whether m is a method as routes name them: 1 to
// maxMethodLen upper-case letters. Methods are case-sensitive (RFC 9110
// §9.1), but many upstreams (Flask, Express, Rails) upper-case them before
// dispatch: "delete" would miss a DELETE route here and run as DELETE
// there, so other spellings are refused before matching.
func canonicalMethod(m string) bool {
	return checkMethod(m) == nil
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
// reads as the gateway does: absolute, without "." or ".." segments or
// segments ending in "." or white space,
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
		if seg == "." || seg == ".." || trailingDotOrSpace(seg) {
			return false
		}
	}
	return true
}

// trailingDotOrSpace reports whether seg ends in "." or white space:
// Windows and IIS, ASP.NET and some frameworks drop those, so "/admin." or
// "/admin%20" would miss an /admin route here and be served as /admin
// there.
func trailingDotOrSpace(seg string) bool {
	if seg == "" {
		return false
	}
	if c := seg[len(seg)-1]; c == '.' || c == ' ' {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(seg)
	return unicode.IsSpace(r)
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
