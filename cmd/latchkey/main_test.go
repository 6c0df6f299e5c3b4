package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	srv := newFakeServer(t)
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		stdin    string
		wantCode int
		wantOut  []string // substrings of stdout
		wantErr  []string // substrings of stderr
		check    func(t *testing.T, r recorded)
	}{
		{name: "usage/no command", args: nil, wantCode: 2, wantErr: []string{"Usage: latchkey"}},
		{name: "usage/help", args: []string{"help"}, wantCode: 0, wantOut: []string{"Exit codes"}},
		{name: "usage/-h", args: []string{"-h"}, wantCode: 0, wantOut: []string{"keyspaces"}},
		{name: "usage/unknown command", args: []string{"frobnicate"}, wantCode: 2, wantErr: []string{`unknown command "frobnicate"`}},
		{name: "usage/group without subcommand", args: []string{"keys"}, wantCode: 2, wantErr: []string{"verify"}},
		{name: "usage/group help", args: []string{"users", "-h"}, wantCode: 0, wantOut: []string{"disable", "enable"}},
		{name: "usage/unknown subcommand", args: []string{"keys", "frob"}, wantCode: 2, wantErr: []string{`unknown command "frob"`}},
		{name: "usage/subcommand -h", args: []string{"keys", "create", "-h"}, wantCode: 0, wantOut: []string{"Usage: latchkey keys create", "Examples:", "-expires-in"}},
		{name: "usage/missing positional", args: []string{"keys", "get"}, wantCode: 2, wantErr: []string{"missing KEY_ID", "latchkey keys get -h"}},
		{name: "usage/extra positional", args: []string{"keys", "get", "a", "b"}, wantCode: 2, wantErr: []string{`unexpected argument "b"`}},
		{name: "usage/unknown flag", args: []string{"keys", "list", "--frob"}, wantCode: 2, wantErr: []string{"flag provided but not defined: -frob"}},
		{name: "usage/no token", args: []string{"keys", "list"}, env: map[string]string{"LATCHKEY_TOKEN": ""}, wantCode: 2, wantErr: []string{"LATCHKEY_TOKEN"}},
		{name: "usage/bad url", args: []string{"keys", "list", "--url", "localhost:8080"}, wantCode: 2, wantErr: []string{"scheme"}},
		{name: "usage/bad owner", args: []string{"keys", "create", "--owner", "bob"}, wantCode: 2, wantErr: []string{"user:ID or app:ID"}},
		{name: "usage/bad metadata", args: []string{"keys", "create", "--metadata", "[1]"}, wantCode: 2, wantErr: []string{"JSON object"}},
		{name: "usage/expires twice", args: []string{"keys", "create", "--expires-in", "1h", "--expires-at", "2030-01-01T00:00:00Z"}, wantCode: 2, wantErr: []string{"not both"}},
		{name: "usage/bad expires-in", args: []string{"keys", "create", "--expires-in", "soon"}, wantCode: 2, wantErr: []string{"720h or 30d"}},
		{name: "usage/expires-in days overflow", args: []string{"keys", "create", "--expires-in", "213504d"}, wantCode: 2, wantErr: []string{"100 years"}},
		{name: "usage/default-ttl days overflow", args: []string{"keyspaces", "create", "acme", "--default-ttl", "213505d"}, wantCode: 2, wantErr: []string{"100 years"}},
		{name: "create/expires-in in days as the API reads it", args: []string{"keys", "create", "--expires-in", "30d"},
			check: func(t *testing.T, r recorded) {
				if r.body["expires_in"] != "30d" {
					t.Errorf("body = %v, want expires_in 30d", r.body)
				}
			}},
		{name: "usage/update nothing", args: []string{"keys", "update", "key_1"}, wantCode: 2, wantErr: []string{"nothing to change"}},
		{name: "usage/enable and disable", args: []string{"keys", "update", "key_1", "--enable", "--disable"}, wantCode: 2, wantErr: []string{"not both"}},
		{name: "usage/bad remaining", args: []string{"keys", "update", "key_1", "--remaining", "-3"}, wantCode: 2, wantErr: []string{"non-negative"}},

		{name: "create/human output shows secret once", args: []string{"keys", "create", "--name", "ci", "--scope", "orders:read", "--scopes", "orders:write, admin", "--owner", "app:ci", "--expires-in", "720h", "--metadata", `{"team":"x"}`, "--remaining", "5", "--idempotency-key", "idem-7"},
			wantOut: []string{"Created key key_new", "\n    " + newSecret + "\n", "Store it now: it will not be shown again."},
			check: func(t *testing.T, r recorded) {
				want := map[string]any{"name": "ci", "scopes": []any{"orders:read", "orders:write", "admin"}, "owner": map[string]any{"type": "app", "id": "ci"},
					"expires_in": "720h", "metadata": map[string]any{"team": "x"}, "remaining": 5.0}
				if !reflect.DeepEqual(r.body, want) {
					t.Errorf("body = %v, want %v", r.body, want)
				}
				if got := r.header.Get("Idempotency-Key"); got != "idem-7" {
					t.Errorf("Idempotency-Key = %q", got)
				}
			}},
		{name: "create/json", args: []string{"keys", "create", "--json"}, wantOut: []string{`"key": "` + newSecret + `"`, `"id": "key_new"`}},
		{name: "list/table with more hint", args: []string{"keys", "list", "--keyspace", "default", "--owner", "user:alice", "--state", "active", "--limit", "2"},
			wantOut: []string{"" +
				"ID     NAME      KEYSPACE  START       STATE   SCOPES                    EXPIRES\n" +
				"key_1  ci key_1  default   default_ab  active  orders:read,orders:write  2026-02-01T03:04:05Z\n" +
				"key_2  ci key_2  default   default_ab  active  orders:read,orders:write  2026-02-01T03:04:05Z\n"},
			wantErr: []string{"--cursor c2"},
			check: func(t *testing.T, r recorded) {
				if r.query != "keyspace=default&limit=2&owner_id=alice&owner_type=user&state=active" {
					t.Errorf("query = %s", r.query)
				}
			}},
		{name: "list/all follows cursor", args: []string{"keys", "list", "--all"}, wantOut: []string{"key_1", "key_2", "key_3  -         default   default_ab  active  -                         never"}},
		{name: "get/flags after positional", args: []string{"keys", "get", "key_1", "--json"}, wantOut: []string{`"id": "key_1"`}},
		{name: "get/details", args: []string{"keys", "get", "key_1"}, wantOut: []string{"Owner:", "app:ci", "Expires:  2026-02-01T03:04:05Z"}},
		{name: "get/not found is refused", args: []string{"keys", "get", "nope"}, wantCode: 3, wantErr: []string{`latchkey: 404 key_not_found: key "nope" not found (request id req-1)`}},
		{name: "get/escaped id", args: []string{"keys", "get", "a/b"}, wantCode: 3,
			check: func(t *testing.T, r recorded) {
				if r.path != "/v1/keys/a%2Fb" {
					t.Errorf("path = %s", r.path)
				}
			}},
		{name: "get/wrong token is refused", args: []string{"keys", "get", "key_1", "--token", "wrong"}, wantCode: 3, wantErr: []string{"401 unauthenticated"}},
		{name: "get/global flags before command", args: []string{"--token", "wrong", "keys", "get", "key_1"}, wantCode: 3, wantErr: []string{"401"}},
		{name: "update/fields", args: []string{"keys", "update", "key_1", "--name", "", "--scopes", "", "--disable", "--expires-at", "never", "--remaining", "unlimited"},
			wantOut: []string{"ID:"},
			check: func(t *testing.T, r recorded) {
				want := map[string]any{"name": "", "scopes": []any{}, "enabled": false, "expires_at": nil, "remaining": nil}
				if r.method != "PATCH" || !reflect.DeepEqual(r.body, want) {
					t.Errorf("%s body = %v, want %v", r.method, r.body, want)
				}
			}},
		{name: "revoke/reason", args: []string{"keys", "revoke", "key_1", "--reason", "leaked"}, wantOut: []string{"revoked", "Revoke reason: leaked"},
			check: func(t *testing.T, r recorded) {
				if r.path != "/v1/keys/key_1/revoke" || r.body["reason"] != "leaked" {
					t.Errorf("%s %v", r.path, r.body)
				}
			}},
		{name: "rotate/grace", args: []string{"keys", "rotate", "key_1", "--grace-period", "1h"},
			wantOut: []string{"Rotated key key_1 to key_next", "old key key_1 is active, expires 2026-01-02T04:04:05Z", newSecret, "Store it now"},
			check: func(t *testing.T, r recorded) {
				if r.body["grace_period"] != "1h0m0s" {
					t.Errorf("body = %v", r.body)
				}
			}},
		{name: "rotate/grace in days", args: []string{"keys", "rotate", "key_1", "--grace-period", "30d"}, wantOut: []string{"Rotated key key_1 to key_next"},
			check: func(t *testing.T, r recorded) {
				if r.body["grace_period"] != "720h0m0s" {
					t.Errorf("body = %v, want grace_period 720h0m0s", r.body)
				}
			}},
		{name: "usage/bad grace-period", args: []string{"keys", "rotate", "key_1", "--grace-period", "soon"}, wantCode: 2, wantErr: []string{"1h or 30d"}},
		{name: "usage/negative grace-period", args: []string{"keys", "rotate", "key_1", "--grace-period", "-1h"}, wantCode: 2, wantErr: []string{"non-negative"}},
		{name: "usage/grace-period days overflow", args: []string{"keys", "rotate", "key_1", "--grace-period", "213504d"}, wantCode: 2, wantErr: []string{"100 years"}},
		{name: "rotate/sends a random Idempotency-Key", args: []string{"keys", "rotate", "key_1"}, wantOut: []string{"key_next"},
			check: func(t *testing.T, r recorded) {
				if got := r.header.Get("Idempotency-Key"); len(got) < 20 {
					t.Errorf("Idempotency-Key = %q, want a random key per invocation", got)
				}
			}},
		{name: "rotate/--idempotency-key", args: []string{"keys", "rotate", "key_1", "--idempotency-key", "idem-r"}, wantOut: []string{"key_next"},
			check: func(t *testing.T, r recorded) {
				if got := r.header.Get("Idempotency-Key"); got != "idem-r" {
					t.Errorf("Idempotency-Key = %q, want idem-r", got)
				}
			}},
		{name: "revoke/--idempotency-key", args: []string{"keys", "revoke", "key_1", "--idempotency-key", "idem-v"}, wantOut: []string{"revoked"},
			check: func(t *testing.T, r recorded) {
				if got := r.header.Get("Idempotency-Key"); got != "idem-v" {
					t.Errorf("Idempotency-Key = %q, want idem-v", got)
				}
			}},
		{name: "delete/ok", args: []string{"keys", "delete", "key_revoked"}, wantOut: []string{"Deleted key key_revoked."}},
		{name: "delete/not revoked is refused", args: []string{"keys", "delete", "key_1"}, wantCode: 3, wantErr: []string{"409 key_not_revoked"}},
		{name: "verify/valid from stdin", args: []string{"keys", "verify", "-", "--scope", "orders:read"}, stdin: goodKey + "\n", wantOut: []string{"valid: VALID", "key_1"},
			check: func(t *testing.T, r recorded) {
				if r.body["key"] != goodKey || !reflect.DeepEqual(r.body["scopes"], []any{"orders:read"}) {
					t.Errorf("body = %v", r.body)
				}
			}},
		{name: "verify/invalid exits 1", args: []string{"keys", "verify", "default_BAD"}, wantCode: 1, wantOut: []string{"invalid: NOT_FOUND"}},
		{name: "verify/invalid json exits 1", args: []string{"keys", "verify", "default_BAD", "--json"}, wantCode: 1, wantOut: []string{`"code": "NOT_FOUND"`}},
		{name: "verify/scope query", args: []string{"keys", "verify", goodKey, "--scope-query", "a AND b"},
			check: func(t *testing.T, r recorded) {
				if r.body["scope_query"] != "a AND b" {
					t.Errorf("body = %v", r.body)
				}
			}},
		{name: "verify/empty stdin", args: []string{"keys", "verify", "-"}, stdin: "", wantCode: 2, wantErr: []string{"empty key"}},
		{name: "keyspaces/list", args: []string{"keyspaces", "list"}, wantOut: []string{"NAME     PREFIX   DEFAULT_TTL  MAX_TTL  PERMANENT  SCOPES", "default  default  720h         -        yes        -"}},
		{name: "keyspaces/create", args: []string{"keyspaces", "create", "acme", "--prefix", "acme_live", "--max-ttl", "8760h", "--allow-permanent=false"},
			wantOut: []string{"Name:", "acme_live"},
			check: func(t *testing.T, r recorded) {
				want := map[string]any{"name": "acme", "prefix": "acme_live", "max_ttl": "8760h", "allow_permanent": false}
				if !reflect.DeepEqual(r.body, want) {
					t.Errorf("body = %v, want %v", r.body, want)
				}
			}},
		{name: "users/list", args: []string{"users", "list"}, wantOut: []string{"alice  Alice  active  admin"}},
		{name: "apps/disable", args: []string{"apps", "disable", "ci"}, wantOut: []string{"disabled"},
			check: func(t *testing.T, r recorded) {
				if r.path != "/v1/apps/ci" || r.body["disabled"] != true {
					t.Errorf("%s %v", r.path, r.body)
				}
			}},
		{name: "audit/list", args: []string{"audit", "list", "--action", "key.revoke"}, wantOut: []string{"2026-01-02T03:04:05Z  key:root  key.revoke  key:key_1  success"}},
		{name: "failure/5xx exits 4", args: []string{"keys", "get", "key_503"}, wantCode: 4, wantErr: []string{"latchkey: 503 unavailable: storage unavailable (request id req-1)"}},
		{name: "failure/network exits 4", args: []string{"keys", "verify", "x", "--url", "http://127.0.0.1:1"}, wantCode: 4, wantErr: []string{"connect"}},
		{name: "version", args: []string{"version"}, wantOut: []string{"latchkey dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, srv, tt.env, tt.stdin, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout does not contain %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not contain %q:\n%s", s, r.stderr)
				}
			}
			if strings.Contains(r.stdout+r.stderr, testToken) {
				t.Error("output contains the management token")
			}
			if tt.check != nil {
				tt.check(t, srv.lastRequest())
			}
		})
	}
}

func TestListAllJSON(t *testing.T) {
	srv := newFakeServer(t)
	r := runCLI(t, srv, nil, "", "keys", "list", "--all", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var l struct {
		Items      []map[string]any `json:"items"`
		NextCursor *string          `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 3 || l.NextCursor != nil {
		t.Errorf("got %d items, next_cursor %v", len(l.Items), l.NextCursor)
	}
}

func TestTokenFile(t *testing.T) {
	srv := newFakeServer(t)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, srv, map[string]string{"LATCHKEY_TOKEN": "", "LATCHKEY_TOKEN_FILE": file}, "", "keys", "get", "key_1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}

// TestTokenAndTokenFileRefused: the client commands refuse LATCHKEY_TOKEN
// together with LATCHKEY_TOKEN_FILE (exit 2), as serve and proxy do,
// instead of quietly preferring one.
func TestTokenAndTokenFileRefused(t *testing.T) {
	srv := newFakeServer(t)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, srv, map[string]string{"LATCHKEY_TOKEN": testToken, "LATCHKEY_TOKEN_FILE": file}, "", "keys", "get", "key_1")
	if r.code != exitUsage || !strings.Contains(r.stderr, "LATCHKEY_TOKEN or LATCHKEY_TOKEN_FILE, not both") {
		t.Fatalf("exit %d, stderr %q; want %d and a message naming both variables", r.code, r.stderr, exitUsage)
	}
}

func TestRun(t *testing.T) {
	var out, errb strings.Builder
	if code := run([]string{"version"}, &out, &errb, func(string) string { return "" }); code != 0 || !strings.HasPrefix(out.String(), "latchkey dev") {
		t.Errorf("run version = %d, %q, %q", code, out.String(), errb.String())
	}
}
