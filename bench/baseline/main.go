// Command baseline is the yardstick of latchkey's HTTP benchmarks: a bare
// net/http server with one handler that answers every GET and POST with a
// fixed JSON body shaped like a VALID answer of POST /v1/keys/verify. It
// reads and discards the request body, as a real handler must, and does
// nothing else. bench/http.sh loads it with the same load generator and the
// same connections as latchkey, in the same run, and reports latchkey's
// figures as a ratio to it.
//
//	go run ./bench/baseline -addr 127.0.0.1:18081 [-body file.json]
package main

import (
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

// validBody has the size and shape of latchkey's answer for a VALID key with
// an owner, an expiry and metadata (bench/http.sh creates its keys that way).
const validBody = `{"valid":true,"code":"VALID","key_id":"key_06h0e5z8y6h50aegvpmd17vg7w","keyspace":"default","name":"bench-0001","owner":{"type":"user","id":"bench"},"scopes":["orders:read"],"expires_at":"2026-12-23T06:28:57Z","metadata":{"plan":"pro"}}`

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	bodyFile := flag.String("body", "", "file whose content is the response body (default: a built-in VALID verify answer)")
	flag.Parse()

	body := []byte(validBody)
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			log.Fatal(err)
		}
		body = b
	}
	length := strconv.Itoa(len(body))

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	})
	// The same server timeouts as latchkey's, so both pay for them alike.
	srv := &http.Server{
		Addr:              *addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
