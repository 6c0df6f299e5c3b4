package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

const testToken = "lk_root_SECRETSECRETSECRET"

// seen is what the fake server recorded of one request.
type seen struct {
	method, path, query string
	header              http.Header
	body                string
}

// fake starts a server that records each request and answers with status
// and body. It returns a client of it and the recorded request.
func fake(t *testing.T, status int, body string) (*client.Client, *seen) {
	t.Helper()
	var s seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s = seen{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: string(b)}
		ct := "application/json"
		if status >= 400 {
			ct = "application/problem+json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL+"/", testToken, client.WithUserAgent("test-agent"))
	if err != nil {
		t.Fatal(err)
	}
	return c, &s
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		status    int
		resp      string
		call      func(*client.Client) error
		method    string
		path      string
		query     string
		body      string // "" means no body
		idemKey   string // "*": a random key of the client's
		wantNoTok bool
	}{
		{"create key", 201, `{"id":"k1","key":"lk_x"}`, func(c *client.Client) error {
			_, err := c.CreateKey(ctx, api.CreateKeyRequest{Keyspace: "default", Scopes: []string{"a"}}, client.WithIdempotencyKey("idem-1"))
			return err
		}, "POST", "/v1/keys", "", `{"keyspace":"default","scopes":["a"]}`, "idem-1", false},
		{"list keys with filters", 200, `{"items":[]}`, func(c *client.Client) error {
			_, err := c.ListKeys(ctx, client.KeyListOptions{Keyspace: "ks", OwnerType: "user", OwnerID: "u 1", State: "active", Limit: 5, Cursor: "c&d"})
			return err
		}, "GET", "/v1/keys", "cursor=c%26d&keyspace=ks&limit=5&owner_id=u+1&owner_type=user&state=active", "", "", false},
		{"list keys no filters", 200, `{"items":[]}`, func(c *client.Client) error {
			_, err := c.ListKeys(ctx, client.KeyListOptions{})
			return err
		}, "GET", "/v1/keys", "", "", "", false},
		{"get key escapes id", 200, `{"id":"a/b"}`, func(c *client.Client) error {
			_, err := c.Key(ctx, "a/b ?#")
			return err
		}, "GET", "/v1/keys/a%2Fb%20%3F%23", "", "", "", false},
		{"update key nullable fields", 200, `{}`, func(c *client.Client) error {
			_, err := c.UpdateKey(ctx, "k1", api.UpdateKeyRequest{Name: new("n"), ExpiresAt: client.NullExpiry(), Remaining: client.Remaining(7)})
			return err
		}, "PATCH", "/v1/keys/k1", "", `{"name":"n","expires_at":null,"remaining":7}`, "", false},
		{"update key expires at", 200, `{}`, func(c *client.Client) error {
			at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
			_, err := c.UpdateKey(ctx, "k1", api.UpdateKeyRequest{ExpiresAt: client.ExpiresAt(at), Remaining: client.NullRemaining()})
			return err
		}, "PATCH", "/v1/keys/k1", "", `{"expires_at":"2030-01-02T02:04:05Z","remaining":null}`, "", false},
		{"revoke key", 200, `{}`, func(c *client.Client) error {
			_, err := c.RevokeKey(ctx, "k1", "leaked")
			return err
		}, "POST", "/v1/keys/k1/revoke", "", `{"reason":"leaked"}`, "*", false},
		{"rotate key", 201, `{"id":"k2","previous":{"id":"k1"}}`, func(c *client.Client) error {
			_, err := c.RotateKey(ctx, "k1", 90*time.Minute)
			return err
		}, "POST", "/v1/keys/k1/rotate", "", `{"grace_period":"1h30m0s"}`, "*", false},
		{"rotate key default grace", 201, `{}`, func(c *client.Client) error {
			_, err := c.RotateKey(ctx, "k1", 0)
			return err
		}, "POST", "/v1/keys/k1/rotate", "", `{}`, "*", false},
		{"renew key", 200, `{}`, func(c *client.Client) error {
			_, err := c.RenewKey(ctx, "k1")
			return err
		}, "POST", "/v1/keys/k1/renew", "", `{}`, "*", false},
		{"delete key", 204, ``, func(c *client.Client) error {
			return c.DeleteKey(ctx, "k1")
		}, "DELETE", "/v1/keys/k1", "", "", "", false},
		{"verify", 200, `{"valid":false,"code":"EXPIRED"}`, func(c *client.Client) error {
			_, err := c.Verify(ctx, api.VerifyRequest{Key: "lk_abc", ScopeQuery: "a AND b"})
			return err
		}, "POST", "/v1/keys/verify", "", `{"key":"lk_abc","scope_query":"a AND b"}`, "", false},
		{"self", 200, `{"key_id":"k"}`, func(c *client.Client) error {
			_, err := c.Self(ctx)
			return err
		}, "GET", "/v1/self", "", "", "", false},
		{"create keyspace", 201, `{}`, func(c *client.Client) error {
			_, err := c.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "acme", Prefix: new("acme_live")})
			return err
		}, "POST", "/v1/keyspaces", "", `{"name":"acme","prefix":"acme_live"}`, "", false},
		{"list keyspaces", 200, `{"items":[]}`, func(c *client.Client) error {
			_, err := c.Keyspaces(ctx)
			return err
		}, "GET", "/v1/keyspaces", "", "", "", false},
		{"get keyspace", 200, `{}`, func(c *client.Client) error {
			_, err := c.Keyspace(ctx, "ac/me")
			return err
		}, "GET", "/v1/keyspaces/ac%2Fme", "", "", "", false},
		{"update keyspace", 200, `{}`, func(c *client.Client) error {
			_, err := c.UpdateKeyspace(ctx, "acme", api.KeyspaceRequest{AllowPermanent: new(false)})
			return err
		}, "PATCH", "/v1/keyspaces/acme", "", `{"allow_permanent":false}`, "", false},
		{"create user", 201, `{}`, func(c *client.Client) error {
			_, err := c.CreateUser(ctx, api.CreatePrincipalRequest{ID: "alice"})
			return err
		}, "POST", "/v1/users", "", `{"id":"alice"}`, "", false},
		{"list users", 200, `{"items":[]}`, func(c *client.Client) error {
			_, err := c.Users(ctx, client.ListOptions{Limit: 2, Cursor: "x"})
			return err
		}, "GET", "/v1/users", "cursor=x&limit=2", "", "", false},
		{"get user", 200, `{}`, func(c *client.Client) error {
			_, err := c.User(ctx, "alice")
			return err
		}, "GET", "/v1/users/alice", "", "", "", false},
		{"disable user", 200, `{}`, func(c *client.Client) error {
			_, err := c.UpdateUser(ctx, "alice", api.UpdatePrincipalRequest{Disabled: new(true)})
			return err
		}, "PATCH", "/v1/users/alice", "", `{"disabled":true}`, "", false},
		{"create app", 201, `{}`, func(c *client.Client) error {
			_, err := c.CreateApp(ctx, api.CreatePrincipalRequest{ID: "ci", Permissions: []string{"x"}})
			return err
		}, "POST", "/v1/apps", "", `{"id":"ci","permissions":["x"]}`, "", false},
		{"list apps", 200, `{"items":[]}`, func(c *client.Client) error {
			_, err := c.Apps(ctx, client.ListOptions{})
			return err
		}, "GET", "/v1/apps", "", "", "", false},
		{"get app", 200, `{}`, func(c *client.Client) error {
			_, err := c.App(ctx, "ci")
			return err
		}, "GET", "/v1/apps/ci", "", "", "", false},
		{"update app", 200, `{}`, func(c *client.Client) error {
			_, err := c.UpdateApp(ctx, "ci", api.UpdatePrincipalRequest{Name: new("CI")})
			return err
		}, "PATCH", "/v1/apps/ci", "", `{"name":"CI"}`, "", false},
		{"audit", 200, `{"items":[]}`, func(c *client.Client) error {
			_, err := c.Audit(ctx, client.AuditListOptions{Action: "key.revoke", TargetID: "k1", Actor: "a", Limit: 10})
			return err
		}, "GET", "/v1/audit", "action=key.revoke&actor=a&limit=10&target_id=k1", "", "", false},
		{"health sends no token", 200, `ok`, func(c *client.Client) error {
			return c.Health(ctx)
		}, "GET", "/healthz", "", "", "", true},
		{"ready sends no token", 200, `{"status":"ok"}`, func(c *client.Client) error {
			return c.Ready(ctx)
		}, "GET", "/readyz", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := fake(t, tt.status, tt.resp)
			if err := tt.call(c); err != nil {
				t.Fatalf("call: %v", err)
			}
			if s.method != tt.method || s.path != tt.path || s.query != tt.query {
				t.Errorf("request = %s %s?%s, want %s %s?%s", s.method, s.path, s.query, tt.method, tt.path, tt.query)
			}
			if s.body != tt.body {
				t.Errorf("body = %s, want %s", s.body, tt.body)
			}
			wantCT := ""
			if tt.body != "" {
				wantCT = "application/json"
			}
			if got := s.header.Get("Content-Type"); got != wantCT {
				t.Errorf("Content-Type = %q, want %q", got, wantCT)
			}
			wantAuth := "Bearer " + testToken
			if tt.wantNoTok {
				wantAuth = ""
			}
			if got := s.header.Get("Authorization"); got != wantAuth {
				t.Errorf("Authorization = %q, want %q", got, wantAuth)
			}
			if got := s.header.Get("Idempotency-Key"); tt.idemKey == "*" {
				if len(got) < 20 {
					t.Errorf("Idempotency-Key = %q, want a random key of the client's", got)
				}
			} else if got != tt.idemKey {
				t.Errorf("Idempotency-Key = %q, want %q", got, tt.idemKey)
			}
			if got := s.header.Get("User-Agent"); got != "test-agent" {
				t.Errorf("User-Agent = %q", got)
			}
		})
	}
}

func TestDecodesResponse(t *testing.T) {
	c, _ := fake(t, 201, `{"id":"k2","keyspace":"default","start":"lk_ab","scopes":["a"],"state":"active","key":"lk_abcdef","previous":{"id":"k1","state":"active"},"unknown_future_field":1}`)
	r, err := c.RotateKey(context.Background(), "k1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "k2" || r.Secret != "lk_abcdef" || r.Previous.ID != "k1" || r.Scopes[0] != "a" {
		t.Errorf("decoded %+v", r)
	}
}

func TestBasePathPrefix(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.EscapedPath()
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL+"/latchkey/", "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Key(context.Background(), "a b"); err != nil {
		t.Fatal(err)
	}
	if path != "/latchkey/v1/keys/a%20b" {
		t.Errorf("path = %q", path)
	}
}

func TestEmptyIDIsRefusedLocally(t *testing.T) {
	c, s := fake(t, 200, `{}`)
	if _, err := c.Key(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "empty key id") {
		t.Errorf("err = %v", err)
	}
	if err := c.DeleteKey(context.Background(), ""); err == nil {
		t.Error("DeleteKey(\"\") succeeded")
	}
	if s.method != "" {
		t.Errorf("a request was sent: %s %s", s.method, s.path)
	}
}
