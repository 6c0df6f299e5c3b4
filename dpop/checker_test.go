package dpop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// memReplay is a ReplayFunc over a map.
type memReplay struct {
	mu   sync.Mutex
	seen map[string]time.Time
	err  error
}

func (m *memReplay) use(_ context.Context, jkt, id string, exp time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	if _, ok := m.seen[jkt+id]; ok {
		return false, nil
	}
	m.seen[jkt+id] = exp
	return true, nil
}

func checkerProof(t *testing.T, k *ecdsa.PrivateKey, jti, nonce string) string {
	c := good()
	c["jti"] = jti
	if nonce != "" {
		c["nonce"] = nonce
	}
	return proof(t, k, jose.ES256, "dpop+jwt", c, true)
}

const checkerURL = "https://server.example.com/token"

// TestChecker_ReplayAndStore: a proof is accepted once per URL; a
// replay store that fails refuses the proof (fail closed); a proof of a
// key other than the one asked for is refused before it is recorded.
func TestChecker_ReplayAndStore(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	m := &memReplay{seen: map[string]time.Time{}}
	c := &Checker{Replay: m.use, Now: func() time.Time { return now }}
	p := checkerProof(t, k, "a", "")
	got, err := c.Check(context.Background(), Request{Proof: p, Method: "POST", URL: checkerURL})
	if err != nil {
		t.Fatal(err)
	}
	if exp := m.seen[got.JKT+ReplayID("a", checkerURL)]; !exp.After(now.Add(DefaultMaxAge - time.Second)) {
		t.Errorf("record expires %v, want after the iat window", exp)
	}
	if _, err := c.Check(context.Background(), Request{Proof: p, Method: "POST", URL: checkerURL + "?x=1"}); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("replay (the query is no other URL): %v", err)
	}
	if _, err := c.Check(context.Background(), Request{Proof: checkerProof(t, k, "b", ""), Method: "POST", URL: checkerURL, JKT: "other"}); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("another key: %v", err)
	}
	if _, ok := m.seen[got.JKT+ReplayID("b", checkerURL)]; ok {
		t.Error("a proof of another key was recorded")
	}
	m.err = errors.New("database down")
	if _, err := c.Check(context.Background(), Request{Proof: checkerProof(t, k, "c", ""), Method: "POST", URL: checkerURL}); err == nil || errors.Is(err, ErrInvalidProof) {
		t.Errorf("store failure: %v, want the store's error", err)
	}
	if _, err := (&Checker{}).Check(context.Background(), Request{Proof: checkerProof(t, k, "d", ""), Method: "POST", URL: checkerURL}); err == nil {
		t.Error("a checker without a replay store accepted a proof")
	}
}

// TestChecker_Nonces: nonces of the current and the previous slot are
// accepted, older ones and foreign ones (another key) are not; a proof
// refused for its nonce is not recorded, so the retry may reuse its jti.
func TestChecker_Nonces(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	at := now
	m := &memReplay{seen: map[string]time.Time{}}
	c := &Checker{Replay: m.use, NonceKey: []byte("k1"), RequireNonce: true, Now: func() time.Time { return at }}
	foreign := (&Checker{NonceKey: []byte("k2"), Now: c.Now}).Nonce()
	n := c.Nonce()
	if n == "" || n == foreign {
		t.Fatalf("nonce %q, foreign %q", n, foreign)
	}
	check := func(jti, nonce string) error {
		c.MaxAge = time.Hour // proofs stay fresh while the test moves the clock
		_, err := c.Check(context.Background(), Request{Proof: checkerProof(t, k, jti, nonce), Method: "POST", URL: checkerURL})
		return err
	}
	if err := check("1", ""); !errors.Is(err, ErrUseNonce) {
		t.Errorf("no nonce: %v", err)
	}
	if err := check("1", foreign); !errors.Is(err, ErrUseNonce) {
		t.Errorf("foreign nonce: %v", err)
	}
	if err := check("1", n); err != nil {
		t.Errorf("the nonce (jti 1 again after the refusals): %v", err)
	}
	at = at.Add(NonceSlot)
	if err := check("2", n); err != nil {
		t.Errorf("previous slot: %v", err)
	}
	at = at.Add(NonceSlot)
	if err := check("3", n); !errors.Is(err, ErrUseNonce) {
		t.Errorf("two slots old: %v", err)
	}
}
