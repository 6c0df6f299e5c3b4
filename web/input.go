package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/token"
)

// badInput refuses a request whose path or query holds what no ID, name
// or cursor of latchkey can: a NUL byte (or another control character in
// the path) or bytes that are not UTF-8. PostgreSQL cannot even compare
// such a value (SQLite can), so without this check a page asked for
// /ui/webhooks/%00 or /ui/leaks?before=%00 answered 503 and logged a
// storage error. An impossible path is no page (404); an impossible query
// parameter, such as a cursor, is a bad request (400). Form bodies are
// left to the domain calls, which refuse bad values as invalid.
func badInput(r *http.Request) error {
	if p := r.URL.Path; !utf8.ValidString(p) || strings.ContainsFunc(p, isControl) {
		return token.Errorf(token.NotFound, "not_found", "There is no such page.")
	}
	for k, vs := range r.URL.Query() {
		for _, v := range append(vs, k) {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				return token.Errorf(token.Invalid, "bad_parameter", "A parameter of this address is not valid (it holds a NUL byte or is not UTF-8); follow the page's own links.")
			}
		}
	}
	return nil
}

func isControl(c rune) bool { return c < 0x20 || c == 0x7f }
