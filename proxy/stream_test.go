package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pattern is an endless reader of a repeating byte pattern: test data
// without allocating it.
type pattern struct{ i byte }

func (p *pattern) Read(b []byte) (int, error) {
	for k := range b {
		b[k] = p.i
		p.i++
	}
	return len(b), nil
}

func TestProxy_Streams100MB(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MB")
	}
	const size = 100 << 20
	g := newGW(t, `routes: [{path: /upload, methods: [POST], scopes: [orders:write], max_body: unlimited}]`, nil)
	var received atomic.Int64
	g.up.handler = func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			t.Errorf("upstream read: %v", err)
		}
		received.Store(n)
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(w, io.LimitReader(&pattern{}, size))
	}

	// Sample the heap while the bodies flow.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	baseTotal := ms.TotalAlloc
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	})

	req, err := http.NewRequest("POST", g.URL+"/upload", io.LimitReader(&pattern{}, size))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokWriter)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	close(stop)
	wg.Wait()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, read %d bytes: %v", resp.StatusCode, got, err)
	}
	if received.Load() != size || got != size {
		t.Fatalf("upstream received %d bytes, client %d; want %d each", received.Load(), got, size)
	}
	runtime.ReadMemStats(&ms)
	growth := int64(peak) - int64(base)
	t.Logf("heap in use: base %d KiB, peak %d KiB (+%d KiB); allocated during the exchange %d KiB",
		base>>10, peak>>10, growth>>10, (ms.TotalAlloc-baseTotal)>>10)
	if growth > 16<<20 {
		t.Errorf("heap grew by %d MiB while streaming 2×100 MiB: bodies are buffered", growth>>20)
	}
}

func TestProxy_WebSocketPassthrough(t *testing.T) {
	g := newGW(t, `routes: [{path: /ws, scopes: [orders:read]}]`, nil)
	g.up.handler = func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("upstream accept: %v", err)
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo: "), b...)); err != nil {
				return
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(g.URL, "http") + "/ws/chat"

	if _, resp, err := websocket.Dial(ctx, wsURL, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("without credential: %v, %v", resp, err)
	}
	c, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tokReader}},
	})
	if err != nil {
		t.Fatalf("dial through the gateway: %v", err)
	}
	defer c.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 30_000)} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != "echo: "+msg {
			t.Fatalf("echo of %d bytes: got %d bytes", len(msg), len(b))
		}
	}
	h, _ := g.up.last()
	if h.Get("Authorization") != "" || h.Get(HeaderKeyID) != "key_reader" || !strings.EqualFold(h.Get("Upgrade"), "websocket") {
		t.Errorf("upstream upgrade request headers: %v", h)
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
}

func TestProxy_HTTP2Clients(t *testing.T) {
	g := newGW(t, `routes: [{path: /orders, scopes: [orders:read]}]`, nil)
	var upstreamBody atomic.Value
	g.up.handler = func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		upstreamBody.Store(string(b))
		_, _ = io.WriteString(w, "ok over "+r.Proto)
	}
	h, err := New(Options{Upstream: mustURL(t, g.up.URL), Routes: []Route{{Path: "/orders", Scopes: []string{"orders:read"}, Keyspace: "default"}}, Verifier: g.ver})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = true
	tr.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	client := &http.Client{Transport: tr}

	req, _ := http.NewRequest("POST", srv.URL+"/orders", strings.NewReader("payload"))
	req.Header.Set("Authorization", "Bearer "+tokReader)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(b) != "ok over HTTP/1.1" || upstreamBody.Load() != "payload" {
		t.Fatalf("proto %s status %d body %q upstream got %q", resp.Proto, resp.StatusCode, b, upstreamBody.Load())
	}
	if h, _ := g.up.last(); h.Get("X-Forwarded-Proto") != "https" || h.Get("Authorization") != "" {
		t.Errorf("upstream headers %v", h)
	}

	req, _ = http.NewRequest("GET", srv.URL+"/orders", nil)
	resp2, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.ProtoMajor != 2 || resp2.StatusCode != 401 {
		t.Errorf("refusal over HTTP/2: %s %d", resp2.Proto, resp2.StatusCode)
	}
}
