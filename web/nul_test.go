package web

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/pgtest"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

// TestConsoleNULInIDsAndCursors: a NUL byte in a path ID or a cursor,
// which PostgreSQL cannot hold, is a 404 (no such object) or a 400 (a bad
// cursor) on PostgreSQL too, never a 503.
func TestConsoleNULInIDsAndCursors(t *testing.T) {
	pg := pgtest.URL(t)
	db, err := sqlstore.OpenPostgres(context.Background(), pg, sqlstore.WithSchema(pgtest.Schema(t, pg, "lkweb_")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &testClock{t: time.Now()}
	s := newStackOn(t, db, "", clock.Now, func(db *sqlstore.DB, _ string, box *seal.Box, svc *token.Service) OpsConfig {
		l := leak.New(leak.Config{Store: db, Tokens: svc})
		t.Cleanup(l.Close)
		return OpsConfig{Webhooks: webhook.NewService(webhook.Config{Store: db, Box: box, Tokens: svc}), Leaks: l}
	})
	admin := adminBrowser(t, s, "ada", `["admin"]`)
	user, _ := portalUser(t, s, clock, "alice", "orders:read")
	for _, c := range []struct {
		b      *tbrowser
		method string
		path   string
		want   int
	}{
		{admin, "GET", "/ui/keys/%00", http.StatusNotFound},
		{admin, "GET", "/ui/keys/key_%00", http.StatusNotFound},
		{admin, "GET", "/ui/keys?after=%00", http.StatusBadRequest},
		{admin, "GET", "/ui/webhooks/%00", http.StatusNotFound},
		{admin, "GET", "/ui/webhooks/whk_%00?before=x", http.StatusNotFound},
		{admin, "GET", "/ui/leaks?before=%00", http.StatusBadRequest},
		{admin, "GET", "/ui/audit?before=%00", http.StatusBadRequest},
		{admin, "GET", "/ui/users/%00", http.StatusNotFound},
		{admin, "GET", "/ui/apps/%00", http.StatusNotFound},
		{admin, "POST", "/ui/keys/%00/revoke", http.StatusNotFound},
		{user, "POST", "/ui/me/tokens/%00/rotate", http.StatusNotFound},
		{user, "POST", "/ui/me/tokens/%00/revoke", http.StatusNotFound},
		{user, "POST", "/ui/me/grants/%00/revoke", http.StatusNotFound},
	} {
		var p page
		if c.method == "GET" {
			p = c.b.get(c.path)
		} else {
			p = c.b.post(c.path, url.Values{})
		}
		if p.status != c.want {
			t.Errorf("%s %s: %d, want %d: %.200s", c.method, c.path, p.status, c.want, p.body)
		}
	}
}

// TestBadInput: the request check behind TestConsoleNULInIDsAndCursors,
// without a database: impossible paths are NotFound, impossible query
// values Invalid, ordinary IDs and cursors pass.
func TestBadInput(t *testing.T) {
	for target, want := range map[string]token.Kind{
		"/ui/webhooks/%00":                  token.NotFound,
		"/ui/keys/key_%0A":                  token.NotFound,
		"/ui/keys/%FF":                      token.NotFound,
		"/ui/leaks?before=%00":              token.Invalid,
		"/ui/webhooks/whk_1?before=a%00":    token.Invalid,
		"/ui/keys?after=%FE":                token.Invalid,
		"/ui/keys?%00=1":                    token.Invalid,
		"/ui/keys/key_06h456mgmze260pbj6v":  -1,
		"/ui/leaks?before=lk_1&q=caf%C3%A9": -1,
	} {
		r, err := http.NewRequest("GET", "http://x"+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = badInput(r)
		if want == -1 {
			if err != nil {
				t.Errorf("%s refused: %v", target, err)
			}
			continue
		}
		if err == nil || token.KindOf(err) != want {
			t.Errorf("%s: %v, want kind %s", target, err, want)
		}
	}
}
