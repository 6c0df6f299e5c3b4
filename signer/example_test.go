package signer_test

import (
	"fmt"
	"time"

	"github.com/latchkey/latchkey/signer"
)

func ExampleIssue() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	// A fresh key is published at once and signs after one JWKS cache TTL.
	key, err := signer.Generate(signer.EdDSA, now)
	if err != nil {
		panic(err)
	}
	ring, err := signer.NewRing(key)
	if err != nil {
		panic(err)
	}
	now = key.NotBefore

	token, err := signer.Issue(ring, signer.AccessClaims{
		Issuer:   "https://latchkey.example",
		Subject:  "svc-billing",
		Audience: []string{"payments"},
		Expiry:   now.Add(5 * time.Minute),
		Scope:    []string{"invoices:read", "invoices:write"},
		KeyID:    "key_01",
	}, now)
	if err != nil {
		panic(err)
	}

	v := &signer.Verifier{
		Keys:     ring,
		Issuer:   "https://latchkey.example",
		Audience: "payments",
		Now:      func() time.Time { return now.Add(time.Minute) },
	}
	claims, err := v.Verify(token)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject, claims.Scope, claims.KeyID)

	_, err = v.Verify(token + "x")
	fmt.Println(err)
	// Output:
	// svc-billing [invoices:read invoices:write] key_01
	// signer: invalid token: bad signature
}
