package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

func b64hash(t *testing.T, s string) tlog.Hash {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		t.Fatalf("hash %q: %v", s, err)
	}
	return tlog.Hash(b)
}

// The checkpoint, key and proofs over HTTP: what a client gets checks with
// tlog's Check functions and the note verifier; bad parameters are 400s;
// without audit:read, 403.
func TestAuditChain_API(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := token.NewService(token.Config{Store: db})
	root, err := svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Scopes: []string{"orders:read"}}); err != nil {
			t.Fatal(err)
		}
	}
	reader, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Keyspace: token.ManagementKeyspace, Scopes: []string{token.ScopeKeysRead}})
	if err != nil {
		t.Fatal(err)
	}
	box, _ := seal.New([32]byte{3})
	l, err := auditlog.New(ctx, auditlog.Config{Store: db.AuditStore(), Box: box})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Service: svc, Audit: l})
	get := func(path, secret, accept string) (int, string) {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Body)
		return w.Code, string(b)
	}
	admin := root.Reveal()

	code, vkey := get("/v1/audit/key", admin, "")
	if code != 200 || strings.TrimSpace(vkey) != l.Verifier() {
		t.Fatalf("key: %d %q", code, vkey)
	}
	code, note := get("/v1/audit/checkpoint", admin, "")
	if code != 200 {
		t.Fatalf("checkpoint: %d %s", code, note)
	}
	cp, err := auditlog.Open([]byte(note), []string{strings.TrimSpace(vkey)})
	if err != nil || cp.Size < 6 {
		t.Fatalf("checkpoint %q: %+v %v", note, cp, err)
	}
	var js api.AuditCheckpoint
	if code, body := get("/v1/audit/checkpoint", admin, "application/json"); code != 200 || json.Unmarshal([]byte(body), &js) != nil ||
		js.Size != cp.Size || js.Note != note || b64hash(t, js.RootHash) != cp.Root {
		t.Fatalf("checkpoint as JSON: %d %s", code, body)
	}
	for seq := range cp.Size {
		code, body := get("/v1/audit/"+itoa(seq)+"/proof", admin, "")
		var p api.AuditInclusionProof
		if code != 200 || json.Unmarshal([]byte(body), &p) != nil {
			t.Fatalf("proof %d: %d %s", seq, code, body)
		}
		leaf, _ := base64.StdEncoding.DecodeString(p.Leaf)
		proof := make(tlog.RecordProof, len(p.Proof))
		for i, s := range p.Proof {
			proof[i] = b64hash(t, s)
		}
		if tlog.RecordHash(leaf) != b64hash(t, p.LeafHash) || p.Size != cp.Size {
			t.Fatalf("proof %d: leaf hash or size wrong: %s", seq, body)
		}
		if err := tlog.CheckRecord(proof, cp.Size, cp.Root, seq, tlog.RecordHash(leaf)); err != nil {
			t.Fatalf("CheckRecord(%d): %v", seq, err)
		}
	}
	code, body := get("/v1/audit/consistency?from=2&to="+itoa(cp.Size), admin, "")
	var c api.AuditConsistencyProof
	if code != 200 || json.Unmarshal([]byte(body), &c) != nil {
		t.Fatalf("consistency: %d %s", code, body)
	}
	tp := make(tlog.TreeProof, len(c.Proof))
	for i, s := range c.Proof {
		tp[i] = b64hash(t, s)
	}
	if err := tlog.CheckTree(tp, cp.Size, cp.Root, 2, b64hash(t, c.FromRoot)); err != nil || b64hash(t, c.ToRoot) != cp.Root {
		t.Fatalf("CheckTree: %v", err)
	}

	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/v1/audit/x/proof", 400, "invalid_seq"},
		{"/v1/audit/-1/proof", 400, "invalid_seq"},
		{"/v1/audit/0/proof?size=99999", 422, "invalid_size"},
		{"/v1/audit/99999/proof", 422, "invalid_seq"},
		{"/v1/audit/consistency?from=0&to=2", 422, "invalid_size"},
		{"/v1/audit/consistency?from=3&to=2", 422, "invalid_size"},
		{"/v1/audit/consistency?from=1", 400, "invalid_size"},
	} {
		if code, body := get(tc.path, admin, ""); code != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.path, code, body, tc.status, tc.code)
		}
	}
	for _, path := range []string{"/v1/audit/checkpoint", "/v1/audit/key", "/v1/audit/0/proof", "/v1/audit/consistency?from=1&to=2"} {
		if code, _ := get(path, reader.Secret.Reveal(), ""); code != 403 {
			t.Errorf("%s without audit:read: %d, want 403", path, code)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
