package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"testing"
)

// BenchmarkProxyOverhead compares one GET on loopback straight to an
// upstream with the same GET through the gateway (bearer credential,
// cached verifier, a route rate limit, identity and rate-limit headers).
// The difference of the two ns/op is the gateway's latency overhead; a bare
// httputil.ReverseProxy with the same transport shows how much of it is
// the extra hop itself.
func BenchmarkProxyOverhead(b *testing.B) {
	up := newUpstream(b, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	})
	routes, err := Parse([]byte(`
routes:
  - path: /orders
    methods: [GET]
    scopes: [orders:read]
    rate_limits: [{name: requests, limit: 1000000000, window: 1s}]
`))
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Options{Upstream: mustURL(b, up.URL), Routes: routes, Verifier: newFakeVerifier()})
	if err != nil {
		b.Fatal(err)
	}
	gwSrv := httptest.NewServer(h)
	defer gwSrv.Close()
	rp := httputil.NewSingleHostReverseProxy(mustURL(b, up.URL))
	rp.Transport = NewTransport(0)
	bareSrv := httptest.NewServer(rp)
	defer bareSrv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	run := func(b *testing.B, url string, auth bool) {
		req, _ := http.NewRequest("GET", url+"/orders/1", nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+tokReader)
		}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { run(b, up.URL, false) })
	b.Run("bare_reverse_proxy", func(b *testing.B) { run(b, bareSrv.URL, true) })
	b.Run("gateway", func(b *testing.B) { run(b, gwSrv.URL, true) })
}
