package signer

import (
	"crypto/ed25519"
	"encoding/base64"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// RFC 8037 Appendix A.1–A.5 (Ed25519).
const (
	rfc8037D          = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	rfc8037X          = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037Thumbprint = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	rfc8037JWS        = "eyJhbGciOiJFZERTQSJ9." +
		"RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc." +
		"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	rfc8037Payload = "Example of Ed25519 signing"
)

func rfc8037Key(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	seed, err := base64.RawURLEncoding.DecodeString(rfc8037D)
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	x, _ := base64.RawURLEncoding.DecodeString(rfc8037X)
	if !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(x)) {
		t.Fatal("RFC 8037 A.1/A.2: d does not derive x")
	}
	return priv
}

func TestRFC8037_A3_Thumbprint(t *testing.T) {
	priv := rfc8037Key(t)
	got, err := Thumbprint(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	if got != rfc8037Thumbprint {
		t.Fatalf("thumbprint = %s, want %s", got, rfc8037Thumbprint)
	}
}

func TestRFC8037_A4_Ed25519Signature(t *testing.T) {
	priv := rfc8037Key(t)
	t.Run("verifies with go-jose", func(t *testing.T) {
		obj, err := jose.ParseSignedCompact(rfc8037JWS, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		payload, err := obj.Verify(priv.Public())
		if err != nil {
			t.Fatalf("A.4 vector does not verify: %v", err)
		}
		if string(payload) != rfc8037Payload {
			t.Fatalf("payload = %q", payload)
		}
	})
	t.Run("go-jose signing reproduces it", func(t *testing.T) {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv}, nil)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s.Sign([]byte(rfc8037Payload))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := obj.CompactSerialize()
		if got != rfc8037JWS {
			t.Fatalf("signature differs:\n got %s\nwant %s", got, rfc8037JWS)
		}
	})
	t.Run("one flipped bit fails", func(t *testing.T) {
		bad := rfc8037JWS[:len(rfc8037JWS)-2] + "Ag"
		if bad == rfc8037JWS {
			bad = rfc8037JWS[:len(rfc8037JWS)-2] + "Aw"
		}
		obj, err := jose.ParseSignedCompact(bad, []jose.SignatureAlgorithm{jose.EdDSA})
		if err == nil {
			if _, err := obj.Verify(priv.Public()); err == nil {
				t.Fatal("tampered signature verified")
			}
		}
	})
	t.Run("rejected by Verify: not an access token", func(t *testing.T) {
		k := &Key{ID: rfc8037Thumbprint, Alg: EdDSA, Private: priv, NotBefore: t0, SignUntil: t0.Add(1), RetireAt: t0.Add(2)}
		wantReject(t, testVerifier(mustRing(t, k), t0), rfc8037JWS)
	})
}
