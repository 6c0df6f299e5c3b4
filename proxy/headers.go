package proxy

import (
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/verify"
)

// Identity headers the gateway sets on forwarded requests. Any header of
// the X-Latchkey- family that a client sends is removed first.
const (
	HeaderKeyID     = "X-Latchkey-Key-Id"
	HeaderPrincipal = "X-Latchkey-Principal"
	HeaderScopes    = "X-Latchkey-Scopes"
)

// strippedHeaders are removed from every forwarded request (compared
// case-insensitively): the credentials, and headers with which a client
// could pose as the gateway or a trusted proxy (its address), or make an
// upstream framework handle another path or method than the one the
// route was chosen for.
var strippedHeaders = []string{
	"Authorization",
	"X-Api-Key",
	"Forwarded",
	"X-Real-Ip",
	"X-Client-Ip",
	"True-Client-Ip",
	"X-Original-Url",
	"X-Rewrite-Url",
	"X-Original-Uri",
	"X-Http-Method-Override",
	"X-Http-Method",
	"X-Method-Override",
}

// strippedPrefixes are header name prefixes removed likewise.
var strippedPrefixes = []string{"X-Latchkey-", "X-Forwarded-"}

// stripInbound removes from h every header that must not reach the
// upstream as the client sent it. It leaves Connection and Upgrade alone,
// so protocol upgrades pass.
func stripInbound(h http.Header) {
	for k := range h {
		if stripped(k) {
			delete(h, k)
		}
	}
}

// stripped reports whether the header named k is removed by stripInbound.
// Names are compared case-insensitively with "_" read as "-": CGI, WSGI,
// PHP and many frameworks map both to "_" (HTTP_X_LATCHKEY_PRINCIPAL), so
// "X_Latchkey_Principal" would reach them as the identity header itself.
func stripped(k string) bool {
	for _, p := range strippedPrefixes {
		if len(k) >= len(p) && foldedEqual(k[:len(p)], p) {
			return true
		}
	}
	for _, s := range strippedHeaders {
		if foldedEqual(k, s) {
			return true
		}
	}
	return false
}

// foldedEqual reports whether header names a and b are equal ignoring
// ASCII case and reading "_" as "-".
func foldedEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if y == '_' {
			y = '-'
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// setIdentity sets the identity headers of id on h. A value that could
// not be sent as a header field is left out rather than altered.
func setIdentity(h http.Header, id *verify.Identity) {
	if headerSafe(id.KeyID) {
		h[HeaderKeyID] = []string{id.KeyID}
	}
	if headerSafe(id.Subject) {
		h[HeaderPrincipal] = []string{id.Subject}
	}
	var b strings.Builder
	for _, s := range id.Scopes {
		if !headerSafe(s) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	if b.Len() > 0 {
		h[HeaderScopes] = []string{b.String()}
	}
}

// headerSafe reports whether s is non-empty printable ASCII without
// spaces.
func headerSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
