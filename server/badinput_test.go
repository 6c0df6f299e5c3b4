package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// TestE2E_BadInputNever500 sends malformed and invalid requests over raw
// HTTP. Each must get the expected 4xx as an application/problem+json
// document with a code and a detail, and none may create anything.
func TestE2E_BadInputNever500(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	c := s.client(t, s.Root)
	existing, err := c.CreateKey(ctx, api.CreateKeyRequest{Name: "target"})
	if err != nil {
		t.Fatal(err)
	}
	kid := existing.ID
	long := strings.Repeat("a", 4000)
	huge := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	deep := `{"metadata":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`

	const jsonCT = "application/json"
	tests := []struct {
		name         string
		method, path string
		ctype, body  string
		want         int
	}{
		{"400/malformed JSON", "POST", "/v1/keys", jsonCT, `{"name":`, 400},
		{"400/not an object", "POST", "/v1/keys", jsonCT, `["name"]`, 400},
		{"400/unknown field", "POST", "/v1/keys", jsonCT, `{"name":"x","nope":1}`, 400},
		{"400/scopes is a string", "POST", "/v1/keys", jsonCT, `{"scopes":"x"}`, 400},
		{"400/remaining is a string", "POST", "/v1/keys", jsonCT, `{"remaining":"a"}`, 400},
		{"400/remaining overflows", "POST", "/v1/keys", jsonCT, `{"remaining":1e100}`, 400},
		{"400/trailing garbage", "POST", "/v1/keys", jsonCT, `{"name":"x"} xyz`, 400},
		{"400/two objects", "POST", "/v1/keys", jsonCT, `{"name":"x"}{"name":"y"}`, 400},
		{"400/empty body", "POST", "/v1/keys", jsonCT, ``, 400},
		{"400/nesting too deep", "POST", "/v1/keys", jsonCT, deep, 400},
		{"413/2 MiB body", "POST", "/v1/keys", jsonCT, huge, 413},
		{"400/bad duration", "POST", "/v1/keys", jsonCT, `{"expires_in":"forever"}`, 400},
		{"422/negative duration", "POST", "/v1/keys", jsonCT, `{"expires_in":"-5h"}`, 422},
		{"400/zero duration", "POST", "/v1/keys", jsonCT, `{"expires_in":"0s"}`, 400},
		{"422/expires_in days overflow", "POST", "/v1/keys", jsonCT, `{"expires_in":"213504d"}`, 422},
		{"422/expires_in beyond 100 years", "POST", "/v1/keys", jsonCT, `{"expires_in":"36501d"}`, 422},
		{"422/keyspace max_ttl days overflow", "POST", "/v1/keyspaces", jsonCT, `{"name":"ovf","prefix":"ovf","max_ttl":"213505d"}`, 422},
		{"422/keyspace default_ttl hours overflow", "POST", "/v1/keyspaces", jsonCT, `{"name":"ovf","prefix":"ovf","default_ttl":"9999999999999h"}`, 422},
		{"422/metadata with a lone surrogate", "POST", "/v1/keys", jsonCT, `{"metadata":{"a":"\udc00"}}`, 422},
		{"422/metadata with raw invalid UTF-8", "POST", "/v1/keys", jsonCT, "{\"metadata\":{\"a\":\"\xff\"}}", 422},
		{"422/name with a lone surrogate", "POST", "/v1/keys", jsonCT, `{"name":"\ud800"}`, 422},
		{"422/expires_at in the past", "POST", "/v1/keys", jsonCT, `{"expires_at":"2001-01-01T00:00:00Z"}`, 422},
		{"400/expires_at not a time", "POST", "/v1/keys", jsonCT, `{"expires_at":"tomorrow"}`, 400},
		{"422/bad scope", "POST", "/v1/keys", jsonCT, `{"scopes":["has space"]}`, 422},
		{"422/negative remaining", "POST", "/v1/keys", jsonCT, `{"remaining":-1}`, 422},
		{"422/name too long", "POST", "/v1/keys", jsonCT, `{"name":"` + strings.Repeat("n", 201) + `"}`, 422},
		{"422/unknown keyspace", "POST", "/v1/keys", jsonCT, `{"keyspace":"nope"}`, 422},
		{"422/invalid owner type", "POST", "/v1/keys", jsonCT, `{"owner":{"type":"robot","id":"r2"}}`, 422},
		{"422/owner does not exist", "POST", "/v1/keys", jsonCT, `{"owner":{"type":"user","id":"ghost"}}`, 422},
		{"422/metadata is an array", "POST", "/v1/keys", jsonCT, `{"metadata":[1,2]}`, 422},
		{"422/metadata is a string", "POST", "/v1/keys", jsonCT, `{"metadata":"x"}`, 422},
		{"415/wrong content type", "POST", "/v1/keys", "text/plain", `{"name":"x"}`, 415},
		{"415/unparsable content type", "POST", "/v1/keys", "application/", `{"name":"x"}`, 415},
		{"400/verify without key", "POST", "/v1/keys/verify", jsonCT, `{}`, 400},
		{"400/verify bad scope", "POST", "/v1/keys/verify", jsonCT, `{"key":"lk_x","scopes":["a b"]}`, 400},
		{"400/verify bad scope_query", "POST", "/v1/keys/verify", jsonCT, `{"key":"lk_x","scope_query":"a AND ("}`, 400},
		{"400/verify scope_query with NOT", "POST", "/v1/keys/verify", jsonCT, `{"key":"lk_x","scope_query":"NOT a"}`, 400},
		{"400/verify request with a relative target_uri", "POST", "/v1/keys/verify", jsonCT, `{"key":"lk_x","request":{"method":"GET","target_uri":"/orders","headers":{}}}`, 400},
		{"400/verify request without method", "POST", "/v1/keys/verify", jsonCT, `{"key":"lk_x","request":{"method":"","target_uri":"https://a.example/","headers":{}}}`, 400},
		{"400/verify request with a bad content-length", "POST", "/v1/keys/verify", jsonCT, `{"key":"lk_x","request":{"method":"POST","target_uri":"https://a.example/","headers":{"signature-input":["x"],"content-length":["-5"]}}}`, 400},
		{"400/verify request with an unknown field", "POST", "/v1/keys/verify", jsonCT, `{"key":"lk_x","request":{"method":"GET","target_uri":"https://a.example/","headers":{},"body":"x"}}`, 400},
		{"400/token with a non-duration expires_in", "POST", "/v1/tokens", jsonCT, `{"expires_in":"soon"}`, 400},
		{"400/token with a fractional expires_in", "POST", "/v1/tokens", jsonCT, `{"expires_in":1.5}`, 400},
		{"422/key with a negative numeric expires_in", "POST", "/v1/keys", jsonCT, `{"expires_in":-5}`, 422},
		{"400/key with a boolean expires_in", "POST", "/v1/keys", jsonCT, `{"expires_in":true}`, 400},
		{"400/revocations with a bad cursor", "GET", "/v1/revocations?since=abc", "", ``, 400},
		{"400/rotate signing key with an unknown alg", "POST", "/v1/signing-keys/rotate", jsonCT, `{"alg":"HS256"}`, 400},
		{"400/list huge limit", "GET", "/v1/keys?limit=100000", "", "", 400},
		{"400/list limit overflows int", "GET", "/v1/keys?limit=99999999999999999999999", "", "", 400},
		{"400/list negative limit", "GET", "/v1/keys?limit=-1", "", "", 400},
		{"400/list zero limit", "GET", "/v1/keys?limit=0", "", "", 400},
		{"422/list bad state", "GET", "/v1/keys?state=zombie", "", "", 422},
		{"422/list bad owner_type", "GET", "/v1/keys?owner_type=robot", "", "", 422},
		{"404/get id with NUL", "GET", "/v1/keys/%00", "", "", 404},
		{"404/get very long id", "GET", "/v1/keys/" + long, "", "", 404},
		{"404/get id with encoded slash", "GET", "/v1/keys/a%2Fb", "", "", 404},
		{"404/get id with unicode", "GET", "/v1/keys/%E2%80%AE%F0%9F%94%91", "", "", 404},
		{"404/patch id with NUL", "PATCH", "/v1/keys/%00", jsonCT, `{"name":"x"}`, 404},
		{"404/delete very long id", "DELETE", "/v1/keys/" + long, "", "", 404},
		{"404/revoke very long id", "POST", "/v1/keys/" + long + "/revoke", jsonCT, `{}`, 404},
		{"400/patch expires_at yesterday", "PATCH", "/v1/keys/" + kid, jsonCT, `{"expires_at":"yesterday"}`, 400},
		{"400/patch remaining not a number", "PATCH", "/v1/keys/" + kid, jsonCT, `{"remaining":"lots"}`, 400},
		{"422/patch expires_at in the past", "PATCH", "/v1/keys/" + kid, jsonCT, `{"expires_at":"2001-01-01T00:00:00Z"}`, 422},
		{"422/rotate negative grace", "POST", "/v1/keys/" + kid + "/rotate", jsonCT, `{"grace_period":"-1h"}`, 422},
		{"422/rotate grace too long", "POST", "/v1/keys/" + kid + "/rotate", jsonCT, `{"grace_period":"9999h"}`, 422},
		{"400/renew with a body field", "POST", "/v1/keys/" + kid + "/renew", jsonCT, `{"ttl":"1h"}`, 400},
		{"400/user without id", "POST", "/v1/users", jsonCT, `{"name":"x"}`, 400},
		{"422/user with bad id", "POST", "/v1/users", jsonCT, `{"id":"-bad id"}`, 422},
		{"422/user with bad permission", "POST", "/v1/users", jsonCT, `{"id":"u1","permissions":["a b"]}`, 422},
		{"422/keyspace with bad name", "POST", "/v1/keyspaces", jsonCT, `{"name":"Bad Name"}`, 422},
		{"400/keyspace with bad ttl", "POST", "/v1/keyspaces", jsonCT, `{"name":"ok","default_ttl":"soon"}`, 400},
		{"404/unknown route", "GET", "/v1/nope", "", "", 404},
		{"404/unknown root path", "GET", "/wp-admin.php", "", "", 404},
		{"405/wrong method", "PUT", "/v1/keys", jsonCT, `{}`, 405},
		{"405/delete on the collection", "DELETE", "/v1/keys", "", "", 405},
	}
	keysBefore := s.countKeys(t)
	users, err := c.Users(ctx, client.ListOptions{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			r := s.do(t, tt.method, tt.path, s.Root, tt.ctype, body)
			if r.Status >= 500 {
				t.Fatalf("server error %d: %.300s", r.Status, r.Body)
			}
			wantProblem(t, r, tt.want)
			if tt.want == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
	if n := s.countKeys(t); n != keysBefore {
		t.Errorf("bad requests changed the number of keys: %d, then %d", keysBefore, n)
	}
	after, err := c.Users(ctx, client.ListOptions{Limit: 500})
	if err != nil || len(after.Items) != len(users.Items) {
		t.Errorf("bad requests changed the number of users: %d, then %d (%v)", len(users.Items), len(after.Items), err)
	}
	k, err := c.Key(ctx, kid)
	if err != nil || k.State != "active" || k.Name != "target" || k.ExpiresAt != nil || k.RotatedTo != "" || k.Remaining != nil {
		t.Errorf("bad requests changed key %s: %+v %v", kid, k, err)
	}
	if n := strings.Count(s.Logs.String(), `"level":"ERROR"`); n != 0 {
		t.Errorf("bad requests logged %d errors", n)
	}
}
