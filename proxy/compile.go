package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
)

// Bounds of a route.
const (
	maxPathLen   = 1024
	maxMethodLen = 32
	maxLimits    = 16
	maxIPAllow   = 1024
)

// route is a validated Route, ready to match and check requests.
type route struct {
	index     int // position in the route list, part of rate-limit keys
	path      string
	methods   []string
	scopes    []string
	expr      *scope.Expr
	exprText  string // Route.Scope, sent to the verifier
	keyspace  string // "" (after New): keys of every keyspace
	anonymous bool
	apiKey    bool
	limits    []ratelimit.Limit
	ipAllow   []netip.Prefix
	maxBody   int64 // -1: unlimited
}

// compile validates r and returns its compiled form.
func compile(r *Route) (*route, error) {
	c := &route{path: r.Path, keyspace: r.Keyspace, anonymous: r.Anonymous, apiKey: r.APIKeyHeader}
	if err := checkPath(r.Path); err != nil {
		return nil, err
	}
	for i, m := range r.Methods {
		if err := checkMethod(m); err != nil {
			return nil, fmt.Errorf("methods[%d]: %w", i, err)
		}
	}
	if slices.Contains(r.Methods, http.MethodHead) && !slices.Contains(r.Methods, http.MethodGet) {
		return nil, errors.New(`methods: HEAD is matched as GET (upstreams answer it with their GET handler); list GET, which covers HEAD`)
	}
	c.methods = r.Methods
	if len(r.Scopes) > 0 && r.Scope != "" {
		return nil, errors.New(`"scopes" and "scope" are both set; use "scopes" for a list that is all required, or "scope" for an expression`)
	}
	if len(r.Scopes) > scope.MaxScopes {
		return nil, fmt.Errorf("scopes: %d scopes, more than the limit of %d", len(r.Scopes), scope.MaxScopes)
	}
	for i, s := range r.Scopes {
		if err := scope.Validate(s); err != nil {
			return nil, fmt.Errorf("scopes[%d]: %w", i, err)
		}
	}
	c.scopes = r.Scopes
	if r.Scope != "" {
		e, err := scope.ParseExpr(r.Scope)
		if err != nil {
			return nil, fmt.Errorf("scope: %w", err)
		}
		c.expr, c.exprText = e, r.Scope
	}
	if r.Keyspace != "" && r.Keyspace != AnyKeyspace && !validName(r.Keyspace) {
		return nil, fmt.Errorf(`keyspace %q is not 1-63 of [a-z0-9_-] starting with a letter or digit, or "*" for every keyspace`, r.Keyspace)
	}
	if r.Anonymous && (len(r.Scopes) > 0 || r.Scope != "" || r.Keyspace != "" || r.APIKeyHeader) {
		return nil, errors.New(`an anonymous route takes no credential: "scopes", "scope", "keyspace" and "api_key_header" do not apply`)
	}
	c.maxBody = DefaultMaxBody
	if r.MaxBody != "" {
		n, err := parseSize(r.MaxBody)
		if err != nil {
			return nil, err
		}
		c.maxBody = n
	}
	limits, err := compileLimits(r.RateLimits)
	if err != nil {
		return nil, err
	}
	c.limits = limits
	if len(r.IPAllow) > maxIPAllow {
		return nil, fmt.Errorf("ip_allow: %d entries, more than the limit of %d", len(r.IPAllow), maxIPAllow)
	}
	for i, s := range r.IPAllow {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("ip_allow[%d]: %w", i, err)
		}
		c.ipAllow = append(c.ipAllow, p)
	}
	return c, nil
}

// checkPath validates a route path.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New(`path is empty; use "/" to match every path`)
	case len(p) > maxPathLen:
		return fmt.Errorf("path is %d bytes long, more than the limit of %d", len(p), maxPathLen)
	case p[0] != '/':
		return errors.New(`path must start with "/"`)
	case strings.ContainsAny(p, "?#%\\;"):
		return errors.New(`path must not contain "?", "#", "%", "\" or ";"; it is a plain path prefix`)
	case p != "/" && strings.HasSuffix(p, "/"):
		return fmt.Errorf(`path must not end in "/"; write %q, which matches it and every path below it`, strings.TrimRight(p, "/"))
	case path.Clean(p) != p:
		return fmt.Errorf("path is not clean (no empty, \".\" or \"..\" segments); write %q", path.Clean(p))
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("path has a space or control character at offset %d", i)
		}
	}
	return nil
}

// checkMethod validates an HTTP method name.
func checkMethod(m string) error {
	if m == "" || len(m) > maxMethodLen {
		return fmt.Errorf("method %q is not 1-%d upper-case letters", m, maxMethodLen)
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			if 'a' <= c && c <= 'z' {
				return fmt.Errorf("method %q must be upper case (%q)", m, strings.ToUpper(m))
			}
			return fmt.Errorf("method %q is not an HTTP method (upper-case letters only)", m)
		}
	}
	return nil
}

// compileLimits validates route rate limits.
func compileLimits(in []RateLimit) ([]ratelimit.Limit, error) {
	if len(in) > maxLimits {
		return nil, fmt.Errorf("rate_limits: %d limits, more than the limit of %d", len(in), maxLimits)
	}
	var out []ratelimit.Limit
	for i, l := range in {
		w, err := time.ParseDuration(l.Window)
		if err != nil {
			return nil, fmt.Errorf("rate_limits[%d]: window %q is not a duration such as \"1m\" or \"24h\"", i, l.Window)
		}
		lim := ratelimit.Limit{Name: l.Name, Limit: l.Limit, Window: w}
		if err := lim.Validate(); err != nil {
			return nil, fmt.Errorf("rate_limits[%d]: %w", i, err)
		}
		for _, prev := range out {
			if prev.Name == l.Name {
				return nil, fmt.Errorf("rate_limits[%d]: name %q is used twice", i, l.Name)
			}
		}
		out = append(out, lim)
	}
	return out, nil
}

// parsePrefix parses a CIDR prefix or a single address, IPv4-mapped IPv6
// addresses unmapped.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix such as 203.0.113.0/24", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix", s)
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// validName reports whether s is a keyspace name: 1-63 of [a-z0-9_-],
// starting with a letter or digit (the rule of package token).
func validName(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || i > 0 && (c == '_' || c == '-')) {
			return false
		}
	}
	return true
}
