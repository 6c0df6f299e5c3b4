package main

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/verify"
)

// TestREL07_KillNineDuringRotation runs the real binary with a signing-key
// schedule compressed to seconds (a key signs for 3 s and is published 1 s
// before), so scheduled rotations happen all the time, while clients
// exchange API keys for JWTs and an operator rotates on demand in a loop.
// The process is SIGKILLed 50–400 ms into that load, at whatever point of
// a rotation it happens to be, and restarted. Then every JWT acknowledged
// before any crash must still verify against the JWKS of the restarted
// server (JWT-15 under the crash harness), and the restarted server must
// sign with a key its JWKS publishes.
//
// LATCHKEY_CRASH_ITERATIONS raises the default 10 iterations.
func TestREL07_KillNineDuringRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("crash loop; skipped with -short")
	}
	iterations := 10
	if v := os.Getenv("LATCHKEY_CRASH_ITERATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("LATCHKEY_CRASH_ITERATIONS=%q: want a positive number", v)
		}
		iterations = n
	}
	const issuer = "https://latchkey.test"
	dir, root := t.TempDir(), newRootKey()
	env := []string{"LATCHKEY_ISSUER=" + issuer, "LATCHKEY_SIGNING_KEY_LEAD=1s",
		"LATCHKEY_SIGNING_KEY_PERIOD=3s", "LATCHKEY_TOKEN_TTL=1h"}
	p := startBinary(t, dir, root, env...)
	c := p.client(t, root)
	if _, err := c.CreateKeyspace(t.Context(), api.KeyspaceRequest{Name: "orders"}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateKey(t.Context(), api.CreateKeyRequest{Keyspace: "orders", Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		tokens  []string
		rotated int
	)
	for it := range iterations {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		cl := p.client(t, root)
		for range 2 {
			wg.Go(func() {
				for ctx.Err() == nil {
					tr, err := cl.ExchangeToken(ctx, key.Secret, api.TokenRequest{})
					if err != nil {
						return
					}
					mu.Lock()
					tokens = append(tokens, tr.AccessToken)
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				alg := []string{"EdDSA", "ES256", "RS256"}[rand.IntN(3)]
				if _, err := cl.RotateSigningKey(ctx, api.RotateSigningKeyRequest{Alg: alg}); err != nil {
					return
				}
				mu.Lock()
				rotated++
				mu.Unlock()
			}
		})
		time.Sleep(time.Duration(50+rand.IntN(351)) * time.Millisecond)
		p.kill(t)
		cancel()
		wg.Wait()

		p = startBinary(t, dir, root, env...)
		v, err := verify.NewJWT(verify.JWTOptions{JWKSURL: p.URL + "/.well-known/jwks.json", Issuer: issuer, Audience: "orders"})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		all := append([]string(nil), tokens...)
		mu.Unlock()
		for i, tok := range all {
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Fatalf("iteration %d: acknowledged token %d of %d does not verify after kill -9 and restart: %v", it, i, len(all), err)
			}
		}
		tr, err := p.client(t, root).ExchangeToken(t.Context(), key.Secret, api.TokenRequest{})
		if err != nil {
			t.Fatalf("iteration %d: exchange after restart: %v\nstderr:\n%s", it, err, p.stderr)
		}
		if _, err := v.Verify(t.Context(), tr.AccessToken); err != nil {
			t.Fatalf("iteration %d: the restarted server signs with a key its JWKS lacks: %v", it, err)
		}
		mu.Lock()
		tokens = append(tokens, tr.AccessToken)
		mu.Unlock()
	}
	if code := p.terminate(t); code != 0 {
		t.Errorf("latchkey serve exited %d after SIGTERM", code)
	}
	t.Logf("%d kill -9 iterations: %d JWTs verified after restarts, %d on-demand rotations acknowledged", iterations, len(tokens), rotated)
}
