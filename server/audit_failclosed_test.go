package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the engine the server uses, to break its audit table

	"github.com/latchkey/latchkey/server"
)

// TestSEC_AUD03_AuditFailureFailsTheChange: when the audit log cannot
// take a record (here a trigger makes every audit INSERT fail, as a full
// or broken audit sink would), a state-changing request fails with 503
// and changes nothing — no key, no webhook, no tree leaf — while
// verification, which writes no audit record, goes on answering. Once
// the audit log takes records again, changes succeed.
func TestSEC_AUD03_AuditFailureFailsTheChange(t *testing.T) {
	s := startServer(t, server.Config{})
	live := s.doJSON(t, http.MethodPost, "/v1/keys", s.Root, `{"name":"before"}`)
	if live.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", live.Status, live.Body)
	}
	var created struct {
		Secret string `json:"key"`
	}
	json.Unmarshal(live.Body, &created) //nolint:errcheck // checked by use

	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "latchkey.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	count := func(table string) int {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	keys, audits, hashes := count("keys"), count("audit"), count("audit_hashes")
	if _, err := db.ExecContext(ctx, `CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit sink down'); END`); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/v1/keys", `{"name":"while-down"}`},
		{http.MethodPost, "/v1/keyspaces", `{"name":"while-down"}`},
		{http.MethodPost, "/v1/users", `{"id":"while-down"}`},
		{http.MethodPost, "/v1/webhooks", `{"url":"https://hooks.example/x","events":["key.revoked"]}`},
	} {
		r := s.doJSON(t, c.method, c.path, s.Root, c.body)
		if r.Status != http.StatusServiceUnavailable {
			t.Errorf("%s %s while the audit log fails: %d %.200s, want 503", c.method, c.path, r.Status, r.Body)
		}
		if strings.Contains(string(r.Body), "audit sink down") {
			t.Errorf("%s %s: the store's error reaches the client: %s", c.method, c.path, r.Body)
		}
	}
	if k, a := count("keys"), count("audit"); k != keys || a != audits {
		t.Errorf("while the audit log failed: keys %d → %d, audit records %d → %d; want no change", keys, k, audits, a)
	}
	if h := count("audit_hashes"); h != hashes {
		t.Errorf("audit tree hashes %d → %d while the audit log failed", hashes, h)
	}
	if n := count("webhooks"); n != 0 {
		t.Errorf("%d webhooks created while the audit log failed", n)
	}
	// Verification writes no audit record: it goes on.
	r := s.doJSON(t, http.MethodPost, "/v1/keys/verify", s.Root, `{"key":"`+created.Secret+`"}`)
	if m := decodeMap(t, r.Body); r.Status != http.StatusOK || m["valid"] != true {
		t.Errorf("verify while the audit log fails: %d %s", r.Status, r.Body)
	}

	if _, err := db.ExecContext(ctx, `DROP TRIGGER audit_down`); err != nil {
		t.Fatal(err)
	}
	if r := s.doJSON(t, http.MethodPost, "/v1/keys", s.Root, `{"name":"after"}`); r.Status != http.StatusCreated {
		t.Errorf("create after the audit log recovered: %d %s", r.Status, r.Body)
	}
	if a := count("audit"); a != audits+1 {
		t.Errorf("audit records %d after one more change, want %d", a, audits+1)
	}
}
