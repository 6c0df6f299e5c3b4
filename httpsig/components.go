package httpsig

import (
	"fmt"
	"net/http"
	"strings"
)

// derived lists the derived components (RFC 9421 §2.2) this package
// supports. Others (@status, @query-param, @request-response) are refused.
var derived = map[string]bool{
	"@method":         true,
	"@target-uri":     true,
	"@authority":      true,
	"@scheme":         true,
	"@request-target": true,
	"@path":           true,
	"@query":          true,
}

// checkComponentName accepts a supported derived component or a lower-case
// HTTP field name.
func checkComponentName(c string) error {
	if strings.HasPrefix(c, "@") {
		if !derived[c] {
			return fmt.Errorf("%w: unsupported derived component", ErrMalformed)
		}
		return nil
	}
	if c == "" {
		return fmt.Errorf("%w: empty component identifier", ErrMalformed)
	}
	for i := 0; i < len(c); i++ {
		if !isTChar(c[i]) || ('A' <= c[i] && c[i] <= 'Z') {
			return fmt.Errorf("%w: component is not a lower-case field name", ErrMalformed)
		}
	}
	return nil
}

// OriginFunc returns the scheme and authority a request was sent to. The
// default, [RequestOrigin], suits clients and servers that terminate TLS
// themselves; a server behind a TLS-terminating proxy supplies its own.
type OriginFunc func(r *http.Request) (scheme, authority string)

// RequestOrigin is the default [OriginFunc]. The scheme is r.URL.Scheme if
// set (client requests), otherwise "https" when r.TLS is set and "http" if
// not. The authority is r.Host if set, otherwise r.URL.Host.
func RequestOrigin(r *http.Request) (scheme, authority string) {
	scheme = r.URL.Scheme
	if scheme == "" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	authority = r.Host
	if authority == "" {
		authority = r.URL.Host
	}
	return scheme, authority
}

// normalizeOrigin lower-cases both parts and drops a default port (RFC 9421
// §2.2.3, RFC 9110 §4.2.3).
func normalizeOrigin(scheme, authority string) (string, string) {
	scheme = strings.ToLower(scheme)
	authority = strings.ToLower(authority)
	switch scheme {
	case "http":
		authority = strings.TrimSuffix(authority, ":80")
	case "https":
		authority = strings.TrimSuffix(authority, ":443")
	}
	return scheme, authority
}

// componentValue returns the value of one covered component of r.
func componentValue(r *http.Request, name string, origin OriginFunc) (string, error) {
	if r.URL == nil {
		return "", fmt.Errorf("%w: request has no URL", ErrMalformed)
	}
	var v string
	switch name {
	case "@method":
		v = r.Method
		if v == "" {
			v = http.MethodGet
		}
	case "@scheme", "@authority", "@target-uri":
		scheme, authority := normalizeOrigin(origin(r))
		if scheme == "" || authority == "" {
			return "", fmt.Errorf("%w: request has no scheme or authority", ErrMalformed)
		}
		switch name {
		case "@scheme":
			v = scheme
		case "@authority":
			v = authority
		default:
			v = scheme + "://" + authority + r.URL.RequestURI()
		}
	case "@request-target":
		v = r.URL.RequestURI()
	case "@path":
		v = r.URL.EscapedPath()
		if v == "" {
			v = "/"
		}
	case "@query":
		v = "?" + r.URL.RawQuery
	default:
		if strings.HasPrefix(name, "@") {
			return "", fmt.Errorf("%w: unsupported derived component", ErrMalformed)
		}
		lines := r.Header.Values(name)
		if len(lines) == 0 {
			return "", fmt.Errorf("%w: covered field %q is absent", ErrMalformed, name)
		}
		trimmed := make([]string, len(lines)) // lines belongs to r.Header
		for i, l := range lines {
			trimmed[i] = strings.Trim(l, " \t")
		}
		v = strings.Join(trimmed, ", ")
	}
	if !isFieldValue(v) {
		return "", fmt.Errorf("%w: component %q has a control character", ErrMalformed, name)
	}
	return v, nil
}

// isFieldValue reports whether v has no control characters other than
// HTAB, so it cannot add a line to the signature base.
func isFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if (v[i] < 0x20 && v[i] != '\t') || v[i] == 0x7f {
			return false
		}
	}
	return true
}
