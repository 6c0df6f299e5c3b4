package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestProxy_SlowBodiesCutOff: clients that trickle a request body are cut
// off with 408 once it falls behind the minimum rate, and their upstream
// requests end with them — on anonymous routes too (found by a
// penetration test: 20 clients sending a byte every 5 s held 20 upstream
// connections for over a minute). The bounds are short here; the defaults
// are DefaultBodyGrace and DefaultBodyMinRate.
func TestProxy_SlowBodiesCutOff(t *testing.T) {
	g := newGW(t, `routes: [{path: /orders, scopes: [orders:write]}, {path: /, anonymous: true}]`, func(o *Options) {
		o.BodyGrace = 300 * time.Millisecond
		o.BodyMinRate = 1000 // bytes per second: 1 ms per byte after the grace
	})
	var active, max atomic.Int64
	g.up.handler = func(w http.ResponseWriter, r *http.Request) {
		n := active.Add(1)
		defer active.Add(-1)
		for m := max.Load(); n > m && !max.CompareAndSwap(m, n); m = max.Load() {
		}
		_, _ = io.Copy(io.Discard, r.Body)
	}
	const clients, size = 20, 100
	addr := g.Listener.Addr().String()
	start := time.Now()
	var wg sync.WaitGroup
	statuses := make([]string, clients)
	for i := range clients {
		path, auth := "/upload", ""
		if i%2 == 1 {
			path, auth = "/orders", "Authorization: Bearer "+tokWriter+"\r\n"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = trickle(t, addr, path, auth, size, 100*time.Millisecond)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, st := range statuses {
		if !strings.HasPrefix(st, "HTTP/1.1 408") {
			t.Errorf("client %d: %q, want 408", i, st)
		}
	}
	// A trickled body would take size × 100 ms = 10 s; the guard cuts
	// each after ~0.3 s. 5 s leaves room for a loaded machine.
	if elapsed > 5*time.Second {
		t.Errorf("slow clients held on for %v", elapsed)
	}
	for deadline := time.Now().Add(5 * time.Second); active.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d upstream requests still open after the clients were cut off", active.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if max.Load() == 0 {
		t.Error("no slow request reached the upstream: the test tests nothing")
	}
	// A refused request's trickled body is not waited for either.
	start = time.Now()
	statuses = statuses[:5]
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = trickle(t, addr, "/orders", "", size, 100*time.Millisecond)
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if !strings.HasPrefix(st, "HTTP/1.1 401") {
			t.Errorf("refused client %d: %q, want 401", i, st)
		}
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("refused slow clients held on for %v", elapsed)
	}
	// A body that keeps pace passes.
	resp, err := http.Post(g.URL+"/upload", "application/octet-stream", bytes.NewReader(make([]byte, 64<<10)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a prompt body: %v %v", resp, err)
	}
	resp.Body.Close()
}

// trickle sends a request declaring size body bytes and then one byte per
// every, and returns the status line of the answer (or the read error).
func trickle(t *testing.T, addr, path, header string, size int, every time.Duration) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: gw\r\n%sContent-Length: %d\r\n\r\n", path, header, size); err != nil {
		return err.Error()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range size {
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
			time.Sleep(every) // the client's pace, not synchronisation
		}
	}()
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	<-done
	if err != nil {
		return "read: " + err.Error()
	}
	return strings.TrimSpace(line)
}

// TestProxy_MaxBody: a body larger than the route's max_body is refused
// with 413 — declared, before anything else; chunked, as it arrives —
// and never reaches the upstream whole.
func TestProxy_MaxBody(t *testing.T) {
	g := newGW(t, `routes: [{path: /small, anonymous: true, max_body: 1KiB}, {path: /, anonymous: true}]`, nil)
	var whole atomic.Int64
	g.up.handler = func(w http.ResponseWriter, r *http.Request) {
		if n, err := io.Copy(io.Discard, r.Body); err == nil && n > 1024 {
			whole.Add(1)
		}
	}
	post := func(path string, n int, chunked bool) int {
		var body io.Reader = bytes.NewReader(make([]byte, n))
		if chunked {
			body = io.MultiReader(body) // unknown length: sent chunked
		}
		req, _ := http.NewRequest("POST", g.URL+path, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0 // the gateway may close the connection mid-upload
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	before := g.up.hits.Load()
	if st := post("/small", 2048, false); st != 413 || g.up.hits.Load() != before {
		t.Errorf("declared 2 KiB on a 1 KiB route: %d, upstream hits %d", st, g.up.hits.Load()-before)
	}
	if st := post("/small", 64<<10, true); st != 413 && st != 0 {
		t.Errorf("chunked 64 KiB on a 1 KiB route: %d", st)
	}
	if st := post("/small", 1024, false); st != 200 {
		t.Errorf("1 KiB on a 1 KiB route: %d", st)
	}
	if st := post("/big", 11<<20, false); st != 413 {
		t.Errorf("11 MiB over the 10 MiB default: %d", st)
	}
	if whole.Load() != 0 {
		t.Errorf("%d oversized bodies reached the upstream whole", whole.Load())
	}
	for _, bad := range []string{"1 MiB!", "-1", "1TB", "lots"} {
		if _, err := Parse([]byte(`routes: [{path: /a, anonymous: true, max_body: "` + bad + `"}]`)); err == nil {
			t.Errorf("max_body %q accepted", bad)
		}
	}
	for in, want := range map[string]int64{"1MiB": 1 << 20, "512KiB": 512 << 10, "10MB": 10e6, "100": 100, "unlimited": -1} {
		if n, err := parseSize(in); err != nil || n != want {
			t.Errorf("parseSize(%q) = %d, %v", in, n, err)
		}
	}
}
