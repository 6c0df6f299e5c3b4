package signer_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/latchkey/latchkey/signer"
)

// BenchmarkJWT measures issuing and verifying one access token per
// algorithm, each beside its baseline in the same run: the bare signature
// primitive (crypto/ed25519, crypto/ecdsa, crypto/rsa) over a payload of the
// same size. The ratio is what JOSE, claims and checks add.
func BenchmarkJWT(b *testing.B) {
	now := time.Now()
	for _, alg := range []string{signer.EdDSA, signer.ES256, signer.RS256} {
		k, err := signer.Generate(alg, now.Add(-signer.JWKSCacheTTL))
		if err != nil {
			b.Fatal(err)
		}
		ring, err := signer.NewRing(k)
		if err != nil {
			b.Fatal(err)
		}
		claims := signer.AccessClaims{Issuer: "https://auth.example.com", Subject: "user:alice",
			Audience: []string{"orders"}, Expiry: now.Add(5 * time.Minute),
			Scope: []string{"orders:read", "orders:write"}, ClientID: "key_06h0e4xr62qhmmvm684wrgwnam", KeyID: "key_06h0e4xr62qhmmvm684wrgwnam"}
		tok, err := signer.Issue(ring, claims, now)
		if err != nil {
			b.Fatal(err)
		}
		v := signer.Verifier{Keys: ring, Issuer: claims.Issuer, Audience: "orders", Now: func() time.Time { return now }}
		msg := []byte(tok[:len(tok)/2])
		sig, verifyRaw := rawSign(b, k.Private, msg)

		b.Run(alg+"/issue", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := signer.Issue(ring, claims, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/baseline_sign", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rawSign(b, k.Private, msg)
			}
		})
		b.Run(alg+"/verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/baseline_verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !verifyRaw(msg, sig) {
					b.Fatal("bad signature")
				}
			}
		})
	}
}

// rawSign signs msg with the bare primitive and returns a verifier for it.
func rawSign(b *testing.B, priv crypto.Signer, msg []byte) ([]byte, func(msg, sig []byte) bool) {
	switch p := priv.(type) {
	case ed25519.PrivateKey:
		pub := p.Public().(ed25519.PublicKey)
		return ed25519.Sign(p, msg), func(m, s []byte) bool { return ed25519.Verify(pub, m, s) }
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(msg)
		sig, err := ecdsa.SignASN1(rand.Reader, p, h[:])
		if err != nil {
			b.Fatal(err)
		}
		return sig, func(m, s []byte) bool { h := sha256.Sum256(m); return ecdsa.VerifyASN1(&p.PublicKey, h[:], s) }
	case *rsa.PrivateKey:
		h := sha256.Sum256(msg)
		sig, err := rsa.SignPKCS1v15(nil, p, crypto.SHA256, h[:])
		if err != nil {
			b.Fatal(err)
		}
		return sig, func(m, s []byte) bool {
			h := sha256.Sum256(m)
			return rsa.VerifyPKCS1v15(&p.PublicKey, crypto.SHA256, h[:], s) == nil
		}
	}
	b.Fatalf("unexpected key type %T", priv)
	return nil, nil
}
