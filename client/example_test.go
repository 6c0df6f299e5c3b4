package client_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

// This example creates a key for an app, verifies it and revokes it. It
// needs a running server, so it is compiled but not run.
func Example() {
	ctx := context.Background()
	c, err := client.New(os.Getenv("LATCHKEY_URL"), os.Getenv("LATCHKEY_TOKEN"),
		client.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		log.Fatal(err)
	}

	// The same idempotency key on a retry returns the first key instead of
	// creating a second one.
	created, err := c.CreateKey(ctx, api.CreateKeyRequest{
		Keyspace:  "default",
		Name:      "billing sync",
		Owner:     &api.Owner{Type: "app", ID: "billing"},
		Scopes:    []string{"orders:read", "invoices:write"},
		ExpiresIn: "720h",
	}, client.WithIdempotencyKey(rand.Text()))
	if err != nil {
		log.Fatal(err)
	}
	secret := created.Secret // shown this once: hand it to the app now

	res, err := c.Verify(ctx, api.VerifyRequest{Key: secret, ScopeQuery: "orders:read AND invoices:write"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Valid, res.Code)

	// Make it permanent, then revoke it.
	if _, err := c.UpdateKey(ctx, created.ID, api.UpdateKeyRequest{ExpiresAt: client.NullExpiry()}); err != nil {
		log.Fatal(err)
	}
	if _, err := c.RevokeKey(ctx, created.ID, "example finished"); err != nil {
		log.Fatal(err)
	}
	if _, err := c.Key(ctx, "no-such-key"); client.IsNotFound(err) {
		fmt.Println("not found:", client.CodeOf(err))
	}
}

// Listing follows NextCursor until it is empty.
func ExampleClient_ListKeys() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("LATCHKEY_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	opts := client.KeyListOptions{Keyspace: "default", State: "active", Limit: 100}
	for {
		page, err := c.ListKeys(ctx, opts)
		if err != nil {
			log.Fatal(err)
		}
		for _, k := range page.Items {
			fmt.Println(k.ID, k.Name, k.Start)
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
}

// An administrator gives a user a password and a TOTP second factor. The
// enrolment's secret and the recovery codes are shown this once.
func ExampleClient_EnrollTOTP() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8080", os.Getenv("LATCHKEY_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.SetPassword(ctx, "alice", os.Getenv("NEW_PASSWORD")); client.CodeOf(err) == "weak_password" {
		log.Fatal(err) // the message says why; it never contains the password
	} else if err != nil {
		log.Fatal(err)
	}
	e, err := c.EnrollTOTP(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("scan:", e.OTPAuthURI) // pending until confirmed

	var code string
	fmt.Scanln(&code) // a code of the authenticator app
	rc, err := c.ConfirmTOTP(ctx, "alice", code)
	if client.CodeOf(err) == "invalid_code" {
		log.Fatal("wrong code; try the next one")
	} else if err != nil {
		log.Fatal(err)
	}
	for _, rcode := range rc.RecoveryCodes {
		fmt.Println(rcode)
	}
}
