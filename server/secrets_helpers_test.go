package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/httpsig"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/verify"
)

// scenarioKeys is how many keys the secret-scanning tests create over HTTP.
// 1000 (the KEY-01 row) plus the rotations take about 1.5 s on the 2-core
// CI box with synchronous=FULL commits, so the full number is used.
const scenarioKeys = 1000

// populated is a server, stopped after a realistic workload, and every
// secret that workload produced.
type populated struct {
	s        *testServer
	secrets  []string // every plaintext handed out, including the root key
	digests  [][32]byte
	keyIDs   []string
	revoked  []string // plaintexts of revoked keys
	auditRaw []byte   // every page of GET /v1/audit, as sent
	readRaw  []byte   // responses of key reads (see readBack)
}

// populate creates scenarioKeys keys (some of them management keys used as
// credentials), verifies, rotates and revokes some, reads the audit log and
// the audit log. The caller stops the server.
func populate(t *testing.T) *populated {
	t.Helper()
	s := startServer(t, server.Config{OutIsTerminal: true}) // the announcement shows the root key: the scanner's canary
	ctx := context.Background()
	c := s.client(t, s.Root)
	if _, err := c.CreateUser(ctx, api.CreatePrincipalRequest{ID: "alice", Permissions: []string{"orders:read", "keys:read", "keys:write"}}); err != nil {
		t.Fatal(err)
	}
	on := true // a recoverable keyspace: its keys' plaintexts are kept sealed, never in the clear
	if _, err := c.CreateKeyspace(ctx, api.KeyspaceRequest{Name: "vault", Recoverable: &on}); err != nil {
		t.Fatal(err)
	}
	p := &populated{s: s, secrets: []string{s.Root}}
	mk, err := os.ReadFile(filepath.Join(s.DataDir, server.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	p.secrets = append(p.secrets, strings.TrimSpace(string(mk))) // the master key must appear nowhere either
	var mu sync.Mutex
	add := func(k *api.CreatedKey) {
		mu.Lock()
		defer mu.Unlock()
		p.secrets = append(p.secrets, k.Secret)
		p.keyIDs = append(p.keyIDs, k.ID)
		p.digests = append(p.digests, sha256.Sum256([]byte(k.Secret)))
	}

	start := time.Now()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < scenarioKeys; i += workers {
				req := api.CreateKeyRequest{Name: "k", Scopes: []string{"orders:read"}, Metadata: json.RawMessage(`{"n":1}`)}
				switch {
				case i%100 == 0:
					req = api.CreateKeyRequest{Keyspace: "latchkey", Name: "personal", Owner: &api.Owner{Type: "user", ID: "alice"}, Scopes: []string{"keys:read", "keys:write"}}
				case i%3 == 0:
					req.Owner = &api.Owner{Type: "user", ID: "alice"}
				}
				if i%10 == 5 {
					req.Keyspace = "vault"
				}
				k, err := c.CreateKey(ctx, req)
				if err != nil {
					errs <- err
					return
				}
				add(k)
				switch {
				case i%100 == 0: // use the management key as a credential
					if _, err = s.client(t, k.Secret).Self(ctx); err != nil {
						errs <- err
						return
					}
				case i%10 == 1:
					_, err = c.Verify(ctx, api.VerifyRequest{Key: k.Secret, Scopes: []string{"orders:read"}})
				case i%10 == 2:
					_, err = c.RevokeKey(ctx, k.ID, "test")
					if err == nil {
						mu.Lock()
						p.revoked = append(p.revoked, k.Secret)
						mu.Unlock()
						_, err = c.Verify(ctx, api.VerifyRequest{Key: k.Secret})
					}
				case i%10 == 4: // a key that signs its requests, used once, and a JWT
					sk, err2 := c.CreateKey(ctx, api.CreateKeyRequest{Scopes: []string{"orders:read"}, SigningSecret: true})
					if err2 != nil {
						errs <- err2
						return
					}
					add(sk)
					mu.Lock()
					p.secrets = append(p.secrets, sk.SigningSecret)
					mu.Unlock()
					sg, _ := httpsig.NewSigner(sk.ID, []byte(sk.SigningSecret))
					hr, _ := http.NewRequest("GET", "https://api.example.com/orders", nil)
					sg.Sign(hr, nil)
					var res *api.VerifyResponse
					if res, err = c.Verify(ctx, api.VerifyRequest{Key: sk.Secret, Request: verify.SignedRequestOf(hr, "https://api.example.com")}); err == nil && !res.Valid {
						err = fmt.Errorf("signed verify: %s", res.Code)
					}
					if err == nil {
						var tr *api.TokenResponse
						if tr, err = c.ExchangeToken(ctx, k.Secret, api.TokenRequest{}); err == nil {
							mu.Lock()
							p.secrets = append(p.secrets, tr.AccessToken)
							mu.Unlock()
						}
					}
				case i%10 == 5: // a recoverable key, revealed (and some rotated, the successor revealed)
					err = revealed(ctx, c, k.ID, k.Secret)
					if err == nil && i%20 == 5 {
						var rk *api.RotatedKey
						if rk, err = c.RotateKey(ctx, k.ID, time.Hour); err == nil {
							add(&rk.CreatedKey)
							err = revealed(ctx, c, rk.ID, rk.Secret)
						}
					}
				case i%10 == 3:
					var rk *api.RotatedKey
					if rk, err = c.RotateKey(ctx, k.ID, time.Hour); err == nil {
						add(&rk.CreatedKey)
						_, err = c.Verify(ctx, api.VerifyRequest{Key: rk.Secret})
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("workload: %v", err)
	}
	t.Logf("created %d keys (with rotations) over HTTP in %v", len(p.keyIDs), time.Since(start).Round(time.Millisecond))

	// Webhook signing secrets (sealed with the master key) and an app's
	// client secret (a digest), each rotated once: none may show anywhere.
	secretOf := func(r response, field string) string {
		t.Helper()
		var m map[string]any
		if r.Status/100 != 2 || json.Unmarshal(r.Body, &m) != nil {
			t.Fatalf("%s: %d", field, r.Status)
		}
		v, _ := m[field].(string)
		if v == "" {
			t.Fatalf("no %s in the answer", field)
		}
		return v
	}
	wr := s.doJSON(t, "POST", "/v1/webhooks", s.Root, `{"url":"https://hooks.example/in","events":["key.revoked","key.created"]}`)
	var wh struct {
		ID string `json:"id"`
	}
	json.Unmarshal(wr.Body, &wh) //nolint:errcheck // secretOf checks the answer
	p.secrets = append(p.secrets, secretOf(wr, "secret"),
		secretOf(s.doJSON(t, "POST", "/v1/webhooks/"+wh.ID+"/rotate-secret", s.Root, `{}`), "secret"))
	p.secrets = append(p.secrets, secretOf(s.doJSON(t, "POST", "/v1/apps", s.Root, `{"id":"aud02-app","oauth":{"grant_types":["client_credentials"]}}`), "client_secret"),
		secretOf(s.doJSON(t, "POST", "/v1/apps/aud02-app/secret", s.Root, `{"grace_period":"1h"}`), "client_secret"))
	if k, err := c.CreateKey(ctx, api.CreateKeyRequest{Name: "hooked"}); err != nil {
		t.Fatal(err)
	} else if _, err := c.RevokeKey(ctx, k.ID, "test"); err != nil { // an outbox row for the webhook
		t.Fatal(err)
	} else {
		add(k)
	}

	p.auditRaw = s.rawPages(t, "/v1/audit")
	return p
}

// revealed checks that GET /v1/keys/{id}/secret answers secret.
func revealed(ctx context.Context, c *client.Client, id, secret string) error {
	got, err := c.RevealKey(ctx, id)
	if err == nil && got.Secret != secret {
		err = fmt.Errorf("reveal of %s: not the key's secret", id)
	}
	return err
}

// rawPages returns the raw bodies of every page of a list endpoint.
func (s *testServer) rawPages(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	cursor := ""
	for range 1000 {
		q := url.Values{"limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := s.do(t, "GET", path+"?"+q.Encode(), s.Root, "", nil)
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %.200s", path, r.Status, r.Body)
		}
		all = append(all, r.Body...)
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		if cursor = page.NextCursor; cursor == "" {
			return all
		}
	}
	t.Fatalf("GET %s: listing did not end", path)
	return nil
}

// dataFiles returns the contents of every file in the data directory
// except root.key (whose purpose is to hold the root key), by name.
func dataFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == server.RootKeyFile || d.Name() == server.MasterKeyFile {
			return err
		}
		b, err := os.ReadFile(path)
		files[d.Name()] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// secretIndex finds any of many secrets in a large byte slice in one pass:
// it indexes the 43-character base62 secret part of every token (which the
// full plaintext contains) and looks only at runs of base62 characters in
// the haystack. Secrets not in token form are searched for as they are.
type secretIndex struct {
	parts  map[string]string // secret part -> fingerprint of the token
	others []string
}

func newSecretIndex(t *testing.T, secrets []string) *secretIndex {
	t.Helper()
	idx := &secretIndex{parts: map[string]string{}}
	for _, s := range secrets {
		if isTokenShaped(s) {
			idx.parts[secretPart(t, s)] = fp(s)
		} else {
			idx.others = append(idx.others, s)
		}
	}
	return idx
}

// isTokenShaped reports whether s is <prefix>_<43 base62><6 base62>.
func isTokenShaped(s string) bool {
	n := len(s)
	if n < 51 || s[n-50] != '_' {
		return false
	}
	for i := n - 49; i < n; i++ {
		if !isBase62(s[i]) {
			return false
		}
	}
	return true
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// find returns the fingerprints of the secrets that occur in b.
func (idx *secretIndex) find(b []byte) []string {
	var hits []string
	for i := 0; i < len(b); {
		if !isBase62(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isBase62(b[j]) {
			j++
		}
		for k := i; k+43 <= j; k++ {
			if f, ok := idx.parts[string(b[k:k+43])]; ok {
				hits = append(hits, f)
			}
		}
		i = j
	}
	for _, s := range idx.others {
		if bytes.Contains(b, []byte(s)) {
			hits = append(hits, fp(s))
		}
	}
	return hits
}

// digestsIn counts how many of digests occur as raw bytes in b.
func digestsIn(b []byte, digests [][32]byte) int {
	want := make(map[[32]byte]bool, len(digests))
	for _, d := range digests {
		want[d] = true
	}
	found := map[[32]byte]bool{}
	for i := 0; i+32 <= len(b); i++ {
		if d := [32]byte(b[i : i+32]); want[d] {
			found[d] = true
		}
	}
	return len(found)
}
