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
