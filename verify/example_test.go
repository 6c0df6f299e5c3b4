package verify_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/verify"
)

// A service that accepts opaque API keys asks latchkey about each one;
// valid answers are cached for a few seconds.
func ExampleNewOpaque() {
	c, err := client.New("https://latchkey.internal:8080", os.Getenv("LATCHKEY_VERIFY_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	v := verify.NewOpaque(c, verify.OpaqueOptions{Keyspace: "payments", CacheTTL: 5 * time.Second})

	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := verify.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s (key %s)\n", id.Subject, id.KeyID)
	})
	mw := verify.Middleware(v, verify.MiddlewareOptions{Scopes: []string{"orders:read"}})
	http.Handle("/orders", mw(orders))
}

// A service that accepts latchkey's short-lived JWTs checks them offline
// against the published JWKS.
func ExampleNewJWT() {
	v, err := verify.NewJWT(verify.JWTOptions{
		JWKSURL:  "https://latchkey.example.com/.well-known/jwks.json",
		Issuer:   "https://latchkey.example.com",
		Audience: "payments",
	})
	if err != nil {
		log.Fatal(err)
	}
	refunds := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims := verify.FromContext(r.Context()).Claims
		fmt.Fprintf(w, "refund by %s, token %s\n", claims.Subject, claims.JTI)
	})
	http.Handle("/refunds", verify.Middleware(v, verify.MiddlewareOptions{Scopes: []string{"billing:refund"}})(refunds))
}

// JWTs are verified offline, so on their own they stay valid until they
// expire even if their API key is revoked. Following latchkey's revocation
// feed closes that gap to a second or two.
func ExampleNewRevocations() {
	c, err := client.New("https://latchkey.example.com", os.Getenv("LATCHKEY_VERIFY_TOKEN")) // scope keys:verify
	if err != nil {
		log.Fatal(err)
	}
	rev := verify.NewRevocations(c, verify.RevocationsOptions{
		MaxStale: time.Minute, // refuse (503) rather than trust a feed silent for a minute
		OnError:  func(err error) { log.Printf("revocation feed: %v", err) },
	})
	rev.Start(context.Background())
	v, err := verify.NewJWT(verify.JWTOptions{
		JWKSURL:     "https://latchkey.example.com/.well-known/jwks.json",
		Issuer:      "https://latchkey.example.com",
		Audience:    "payments",
		Revocations: rev,
	})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/payments", verify.Middleware(v, verify.MiddlewareOptions{})(http.NotFoundHandler()))
}
