package httpsig_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/latchkey/latchkey/httpsig"
)

// A client signs every request it sends by wrapping its transport.
func ExampleSigner_Transport() {
	secret := []byte("a shared secret of at least 32 bytes")

	// The server: verify, then read the body through the digest check.
	v := &httpsig.Verifier{
		Keys: func(_ context.Context, keyID string) ([]byte, error) {
			if keyID == "key-1" {
				return secret, nil
			}
			return nil, httpsig.ErrUnknownKey
		},
		Nonces: httpsig.NewMemoryNonceCache(0, nil),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := v.Verify(r)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body := []byte{}
		if res.Body != nil {
			if body, err = io.ReadAll(res.Body.Wrap(r.Body)); err != nil {
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		fmt.Fprintf(w, "%s sent %s", res.KeyID, body)
	}))
	defer srv.Close()

	// The client.
	signer, err := httpsig.NewSigner("key-1", secret)
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: signer.Transport(nil)}
	resp, err := client.Post(srv.URL+"/v1/items?dry_run=1", "application/json", strings.NewReader(`{"name":"widget"}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status)
	fmt.Println(string(b))
	// Output:
	// 200 OK
	// key-1 sent {"name":"widget"}
}

// Sign adds Content-Digest, Signature-Input and Signature to one request.
func ExampleSigner_Sign() {
	signer, err := httpsig.NewSigner("key-1", []byte("a shared secret of at least 32 bytes"),
		httpsig.WithClock(func() time.Time { return time.Unix(1750000000, 0) }),
		httpsig.WithRand(bytes.NewReader(make([]byte, 16))), // for a stable example only
	)
	if err != nil {
		log.Fatal(err)
	}
	body := []byte(`{"hello": "world"}`)
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.com/v1/items", bytes.NewReader(body))
	if err := signer.Sign(req, body); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Content-Digest:", req.Header.Get("Content-Digest"))
	fmt.Println("Signature-Input:", req.Header.Get("Signature-Input"))
	// Output:
	// Content-Digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:
	// Signature-Input: sig1=("@method" "@target-uri" "@path" "@query" "content-digest");created=1750000000;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="key-1";alg="hmac-sha256"
}
