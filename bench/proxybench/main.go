// Command proxybench is the gateway under test of bench/proxy.sh (with
// -bare: a plain httputil.ReverseProxy, the cost of the extra hop): the
// proxy package's handler in front of an upstream, with a verifier that
// accepts every bearer credential (so the figures measure the gateway,
// not a latchkey server), one route requiring a scope, a route rate limit
// too large to refuse, and a JSON access log written to io.Discard.
//
//	go run ./bench/proxybench -addr 127.0.0.1:18082 -upstream http://127.0.0.1:18081
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/proxy"
	"github.com/latchkey/latchkey/verify"
)

// routes is the route file of the benchmark.
const routes = `
routes:
  - path: /
    methods: [GET, POST]
    scopes: [orders:read]
    keyspace: default
    rate_limits: [{name: requests, limit: 1000000000, window: 1s}]
`

// anyToken is a verifier that accepts every credential.
type anyToken struct{ id verify.Identity }

func (v *anyToken) Check(context.Context, string, []string) (*verify.Identity, error) {
	return &v.id, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:18081", "upstream URL")
	accessLog := flag.Bool("accesslog", true, "write the JSON access log (to io.Discard)")
	bare := flag.Bool("bare", false, "serve a bare httputil.ReverseProxy (same transport, no latchkey logic): the cost of the hop itself")
	flag.Parse()

	u, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	rs, err := proxy.Parse([]byte(routes))
	if err != nil {
		log.Fatal(err)
	}
	opts := proxy.Options{
		Upstream: u,
		Routes:   rs,
		Verifier: &anyToken{id: verify.Identity{KeyID: "key_bench", Subject: "user:bench", Scopes: []string{"orders:read"}, Keyspace: "default"}},
	}
	if *accessLog {
		opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	var h http.Handler
	if *bare {
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.Transport = proxy.NewTransport(0)
		h = rp
	} else if h, err = proxy.New(opts); err != nil {
		log.Fatal(err)
	}
	// The same server timeouts as latchkey's and the baseline's.
	srv := &http.Server{
		Addr:              *addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
