package server_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestSEC_KEY01_NoPlaintextInDatabase: after creating 1000 keys over HTTP
// (and verifying, rotating, revoking some; a tenth in a recoverable
// keyspace, whose plaintexts are kept sealed and revealed again), no file
// of the data directory holds any plaintext key or its secret part, but every key's SHA-256
// digest is there, so the test fails if keys were stored some other way
// (or not at all). The API never shows a plaintext again after creation.
func TestSEC_KEY01_NoPlaintextInDatabase(t *testing.T) {
	p := populate(t)
	p.readBack(t)
	if err := p.s.Stop(); err != nil {
		t.Fatal(err)
	}
	idx := newSecretIndex(t, p.secrets)
	if hits := idx.find(p.s.Out.Bytes()); len(hits) != 1 {
		t.Fatalf("the scanner finds %d secrets in the root key announcement, want 1: it is broken", len(hits))
	}
	files := dataFiles(t, p.s.DataDir)
	if _, ok := files["latchkey.db"]; !ok {
		t.Fatalf("no latchkey.db in the data directory; files: %v", mapKeys(files))
	}
	var all []byte
	for name, b := range files {
		all = append(all, b...)
		if hits := idx.find(b); len(hits) > 0 {
			t.Errorf("%s (%d bytes) holds %d secrets, e.g. %v", name, len(b), len(hits), hits[:min(3, len(hits))])
		}
	}
	if n := digestsIn(all, p.digests); n != len(p.digests) {
		t.Errorf("found the SHA-256 digest of %d of %d keys in the data directory", n, len(p.digests))
	}
	if hits := idx.find(p.readRaw); len(hits) > 0 {
		t.Errorf("GET /v1/keys[/{id}] shows %d plaintexts again, e.g. %v", len(hits), hits[:min(3, len(hits))])
	}
}

// TestSEC_AUD02_NoSecretInLogsOrAudit: no key the test generated (nor the
// root key) appears in the application log, the audit log as the API
// returns it, the root-key announcement (other than the root key itself)
// or the database; and error responses never echo a submitted key.
func TestSEC_AUD02_NoSecretInLogsOrAudit(t *testing.T) {
	p := populate(t)
	t.Run("error responses do not echo the key", func(t *testing.T) { p.errorPaths(t) })
	if err := p.s.Stop(); err != nil {
		t.Fatal(err)
	}
	idx := newSecretIndex(t, p.secrets)
	if hits := idx.find(p.s.Out.Bytes()); len(hits) != 1 {
		t.Fatalf("the scanner finds %d secrets in the root key announcement, want 1: it is broken", len(hits))
	}
	logs := p.s.Logs.Bytes()
	if n := bytes.Count(logs, []byte(`"msg":"request"`)); n < scenarioKeys {
		t.Fatalf("the debug log has %d request lines for a workload of more than %d requests: is it captured?", n, scenarioKeys)
	}
	if n := bytes.Count(p.auditRaw, []byte(`"action":"key.create"`)); n < scenarioKeys {
		t.Fatalf("the audit log lists %d key creations, want at least %d", n, scenarioKeys)
	}
	for what, b := range map[string][]byte{
		"application log":           logs,
		"audit log (GET /v1/audit)": p.auditRaw,
	} {
		if hits := idx.find(b); len(hits) > 0 {
			t.Errorf("%s holds %d secrets, e.g. %v", what, len(hits), hits[:min(3, len(hits))])
		}
	}
	if hits := newSecretIndex(t, p.secrets[1:]).find(p.s.Out.Bytes()); len(hits) > 0 {
		t.Errorf("the root key announcement holds %d other secrets", len(hits))
	}
	for name, b := range dataFiles(t, p.s.DataDir) {
		if hits := idx.find(b); len(hits) > 0 {
			t.Errorf("%s holds %d secrets", name, len(hits))
		}
	}
}

// readBack reads every key through the API (list and a sample of gets), to
// check that no read shows a plaintext again.
func (p *populated) readBack(t *testing.T) {
	t.Helper()
	p.readRaw = p.s.rawPages(t, "/v1/keys")
	for i := 0; i < len(p.keyIDs); i += 50 {
		r := p.s.do(t, "GET", "/v1/keys/"+p.keyIDs[i], p.s.Root, "", nil)
		if r.Status != 200 {
			t.Fatalf("GET key %s: %d", p.keyIDs[i], r.Status)
		}
		p.readRaw = append(p.readRaw, r.Body...)
	}
}

// errorPaths sends a real key where it does not belong and checks that no
// answer contains it, whole or its secret part.
func (p *populated) errorPaths(t *testing.T) {
	// An API key from the middle of the workload (the list also holds the
	// master key, signing secrets and JWTs).
	real := ""
	for _, c := range p.secrets[len(p.secrets)/2:] {
		if isTokenShaped(c) && !strings.HasPrefix(c, "lkss_") {
			real = c
			break
		}
	}
	part := secretPart(t, real)
	n := len(real)
	lastDigit := strings.IndexByte(base62, real[n-1])
	badChecksum := real[:n-1] + string(base62[(lastDigit+1)%62])
	quoted, _ := json.Marshal(real)
	tests := []struct {
		name, method, path, tok, body string
		want                          int
	}{
		{"verify with a bad checksum", "POST", "/v1/keys/verify", p.s.Root, `{"key":"` + badChecksum + `"}`, 200},
		{"verify with an unknown field", "POST", "/v1/keys/verify", p.s.Root, `{"key":` + string(quoted) + `,"bogus":1}`, 400},
		{"verify with a truncated body", "POST", "/v1/keys/verify", p.s.Root, `{"key":` + string(quoted), 400},
		{"verify with the key unquoted", "POST", "/v1/keys/verify", p.s.Root, `{"key":` + real + `}`, 400},
		{"verify with the key in an array", "POST", "/v1/keys/verify", p.s.Root, `{"key":[` + string(quoted) + `]}`, 400},
		{"verify with trailing data", "POST", "/v1/keys/verify", p.s.Root, `{"key":"x"} ` + real, 400},
		{"key as the key id of a get", "GET", "/v1/keys/" + real, p.s.Root, ``, 404},
		{"key as the key id of a revoke", "POST", "/v1/keys/" + real + "/revoke", p.s.Root, `{}`, 404},
		{"key as a path", "GET", "/v1/" + real, p.s.Root, ``, 404},
		{"key as a field name", "POST", "/v1/keys", p.s.Root, `{` + string(quoted) + `:1}`, 400},
		{"key as a duration", "POST", "/v1/keys", p.s.Root, `{"expires_in":` + string(quoted) + `}`, 400},
		{"key as a scope", "POST", "/v1/keys", p.s.Root, `{"scopes":[` + string(quoted) + `]}`, 422},
		{"key in a scope query", "POST", "/v1/keys/verify", p.s.Root, `{"key":"x","scope_query":"a AND ` + real + `"}`, 400},
		{"key as the owner id", "POST", "/v1/keys", p.s.Root, `{"owner":{"type":"user","id":` + string(quoted) + `}}`, 422},
		{"key as the keyspace", "POST", "/v1/keys", p.s.Root, `{"keyspace":` + string(quoted) + `}`, 422},
		{"bad-checksum key as the bearer", "GET", "/v1/self", badChecksum, ``, 401},
		{"revoked key as the bearer", "GET", "/v1/self", p.revoked[0], ``, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.s.doJSON(t, tt.method, tt.path, tt.tok, tt.body)
			if r.Status != tt.want {
				t.Errorf("status %d, want %d", r.Status, tt.want)
			}
			if echoes(r.Body, part) {
				t.Errorf("the response echoes (part of) the submitted key %s", fp(real))
			}
			for _, vs := range r.Header {
				for _, v := range vs {
					if echoes([]byte(v), part) {
						t.Errorf("a response header echoes the submitted key %s", fp(real))
					}
				}
			}
		})
	}
}

// echoes reports whether b contains 16 or more consecutive characters of
// a token's secret part: a truncated echo leaks too.
func echoes(b []byte, part string) bool {
	for i := 0; i+16 <= len(part); i++ {
		if bytes.Contains(b, []byte(part[i:i+16])) {
			return true
		}
	}
	return false
}

func mapKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
