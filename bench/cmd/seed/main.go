// Command seed fills a running latchkey with keys for the benchmarks in
// bench/ and writes (a sample of) their plaintexts to a file, one a line,
// mode 0600. It never prints a key.
//
//	seed create -n 1000 -out keys.txt     # POST /v1/keys, concurrent clients
//	seed import -n 1000000 -sample 10000 -out sample.txt
//	                                      # POST /v1/keys/import, 1000 a request
//	seed check -in keys.txt               # verify each key once, count the codes
//	seed load -in keys.txt -c 16          # the same, timed: req/s, p50, p99
//
// The server is $LATCHKEY_URL (default http://127.0.0.1:8080) and the
// management credential $LATCHKEY_TOKEN (keys:write for create and import,
// keys:verify for check): environment, not flags, so it stays out of
// process lists.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/apitoken"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: seed create|import|check|load [flags]")
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "create":
		err = create(args)
	case "import":
		err = importKeys(args)
	case "check":
		err = check(args)
	case "load":
		err = load(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

type client struct {
	base, token string
	http        *http.Client
}

func newClient(conns int) (*client, error) {
	base := strings.TrimRight(os.Getenv("LATCHKEY_URL"), "/")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	tok := os.Getenv("LATCHKEY_TOKEN")
	if tok == "" {
		return nil, errors.New("LATCHKEY_TOKEN is not set")
	}
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second}
	return &client{base: base, token: tok, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}, nil
}

// post sends v as JSON and decodes a 2xx answer into out.
func (c *client) post(path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// parallel runs fn(i) for i in [0, n) on conns goroutines and returns the
// first error.
func parallel(n, conns int, fn func(i int) error) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func writeLines(path string, lines []string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// create makes n keys over POST /v1/keys.
func create(args []string) error {
	fs := flag.NewFlagSet("create", flag.ExitOnError)
	n := fs.Int("n", 1000, "number of keys")
	conns := fs.Int("c", 8, "concurrent clients")
	out := fs.String("out", "keys.txt", "file for the plaintexts")
	keyspace := fs.String("keyspace", "default", "keyspace")
	owner := fs.String("owner", "", "owner as type:id (e.g. user:bench); empty for none")
	scopes := fs.String("scopes", "orders:read", "comma-separated scopes")
	expiresIn := fs.String("expires-in", "720h", "lifetime; empty for the keyspace default")
	metadata := fs.String("metadata", `{"plan":"pro"}`, "metadata JSON; empty for none")
	_ = fs.Parse(args)

	c, err := newClient(*conns)
	if err != nil {
		return err
	}
	req := api.CreateKeyRequest{Keyspace: *keyspace, Scopes: strings.Split(*scopes, ","), ExpiresIn: api.Lifetime(*expiresIn)}
	if *metadata != "" {
		req.Metadata = json.RawMessage(*metadata)
	}
	if *owner != "" {
		typ, id, ok := strings.Cut(*owner, ":")
		if !ok {
			return fmt.Errorf("-owner %q: want type:id", *owner)
		}
		req.Owner = &api.Owner{Type: typ, ID: id}
	}
	keys := make([]string, *n)
	start := time.Now()
	err = parallel(*n, *conns, func(i int) error {
		r := req
		r.Name = fmt.Sprintf("bench-%07d", i)
		var ck api.CreatedKey
		if err := c.post("/v1/keys", r, &ck); err != nil {
			return err
		}
		keys[i] = ck.Secret
		return nil
	})
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "seed: created %d keys in %.2fs (%.0f/s, %d clients)\n", *n, el.Seconds(), float64(*n)/el.Seconds(), *conns)
	return writeLines(*out, keys)
}

// importKeys generates n plaintexts in latchkey's own format, imports their
// digests over POST /v1/keys/import and keeps a uniform random sample.
func importKeys(args []string) error {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	n := fs.Int("n", 1_000_000, "number of keys")
	batch := fs.Int("batch", 1000, "keys per request (the server takes at most 1000)")
	conns := fs.Int("c", 2, "concurrent requests")
	sample := fs.Int("sample", 10_000, "plaintexts to keep (uniform random sample)")
	out := fs.String("out", "sample.txt", "file for the sampled plaintexts")
	keyspace := fs.String("keyspace", "default", "keyspace")
	prefix := fs.String("prefix", "lk", "token prefix of the keyspace")
	scopes := fs.String("scopes", "orders:read", "comma-separated scopes")
	_ = fs.Parse(args)

	c, err := newClient(*conns)
	if err != nil {
		return err
	}
	nb := (*n + *batch - 1) / *batch
	// Which key indexes to keep: a uniform sample without replacement.
	keep := make(map[int]int, *sample)
	for j, idx := range rand.Perm(*n)[:min(*sample, *n)] {
		keep[idx] = j
	}
	kept := make([]string, min(*sample, *n))
	sc := strings.Split(*scopes, ",")
	var done atomic.Int64
	start := time.Now()
	last := start
	var mu sync.Mutex
	err = parallel(nb, *conns, func(b int) error {
		lo, hi := b**batch, min((b+1)**batch, *n)
		req := api.ImportKeysRequest{Keyspace: *keyspace, Keys: make([]api.ImportKey, 0, hi-lo)}
		for i := lo; i < hi; i++ {
			t, err := apitoken.New(*prefix)
			if err != nil {
				return err
			}
			d := sha256.Sum256([]byte(t.Reveal()))
			req.Keys = append(req.Keys, api.ImportKey{Hash: hex.EncodeToString(d[:]), Name: "imp-" + strconv.Itoa(i), Scopes: sc})
			if j, ok := keep[i]; ok {
				kept[j] = t.Reveal()
			}
		}
		var res api.ImportKeysResponse
		if err := c.post("/v1/keys/import", req, &res); err != nil {
			return err
		}
		if res.Imported != hi-lo {
			return fmt.Errorf("batch %d: imported %d of %d", b, res.Imported, hi-lo)
		}
		d := done.Add(int64(hi - lo))
		mu.Lock()
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "seed: %d/%d imported (%.0f/s)\n", d, *n, float64(d)/time.Since(start).Seconds())
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "seed: imported %d keys in %.1fs (%.0f keys/s, %d per request, %d concurrent)\n", *n, el.Seconds(), float64(*n)/el.Seconds(), *batch, *conns)
	fmt.Printf("import_seconds=%.1f import_rate=%.0f\n", el.Seconds(), float64(*n)/el.Seconds())
	return writeLines(*out, kept)
}

// check verifies every key of a file once and prints the count per code.
func check(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	in := fs.String("in", "keys.txt", "file of plaintexts")
	conns := fs.Int("c", 4, "concurrent clients")
	scopes := fs.String("scopes", "orders:read", "required scopes")
	want := fs.String("want", "VALID", "fail unless every key gets this code")
	_ = fs.Parse(args)

	c, err := newClient(*conns)
	if err != nil {
		return err
	}
	keys, err := readLines(*in)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	codes := map[string]int{}
	err = parallel(len(keys), *conns, func(i int) error {
		var vr api.VerifyResponse
		if err := c.post("/v1/keys/verify", api.VerifyRequest{Key: keys[i], Scopes: strings.Split(*scopes, ",")}, &vr); err != nil {
			return err
		}
		mu.Lock()
		codes[vr.Code]++
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	names := make([]string, 0, len(codes))
	for k := range codes {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", k, codes[k]))
	}
	fmt.Fprintf(os.Stderr, "seed: checked %d keys: %s\n", len(keys), strings.Join(parts, " "))
	if *want != "" && codes[*want] != len(keys) {
		return fmt.Errorf("%d of %d keys are not %s", len(keys)-codes[*want], len(keys), *want)
	}
	return nil
}

// load sends one POST /v1/keys/verify for each key of a file, exactly once,
// over c keep-alive connections (a closed loop, like wrk), checks every
// answer is VALID, and prints a BENCH_RESULT line in wrk.lua's format. It
// exists because wrk always runs for a fixed time and so cannot measure a
// single cache-cold pass.
func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	in := fs.String("in", "keys.txt", "file of plaintexts")
	conns := fs.Int("c", 16, "connections")
	scopes := fs.String("scopes", `["orders:read"]`, "required scopes as a JSON array")
	_ = fs.Parse(args)

	c, err := newClient(*conns)
	if err != nil {
		return err
	}
	c.http.Transport.(*http.Transport).MaxConnsPerHost = *conns
	keys, err := readLines(*in)
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(keys))
	for i, k := range keys {
		bodies[i] = []byte(`{"key":"` + k + `","scopes":` + *scopes + `}`)
	}
	lat := make([]time.Duration, len(keys))
	var non2xx, invalid, sockErr atomic.Int64
	valid := []byte(`"code":"VALID"`)
	start := time.Now()
	_ = parallel(len(keys), *conns, func(i int) error {
		req, _ := http.NewRequest(http.MethodPost, c.base+"/v1/keys/verify", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		t := time.Now()
		resp, err := c.http.Do(req)
		if err != nil {
			sockErr.Add(1)
			lat[i] = time.Since(t)
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat[i] = time.Since(t)
		switch {
		case err != nil:
			sockErr.Add(1)
		case resp.StatusCode/100 != 2:
			non2xx.Add(1)
		case !bytes.Contains(b, valid):
			invalid.Add(1)
		}
		return nil
	})
	el := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) int64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p/100*float64(len(lat))))].Microseconds()
	}
	fmt.Printf("BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d invalid=%d\n",
		len(keys), el.Microseconds(), float64(len(keys))/el.Seconds(), pct(50), pct(90), pct(99), pct(100), non2xx.Load(), sockErr.Load(), invalid.Load())
	if n := invalid.Load() + non2xx.Load() + sockErr.Load(); n > 0 {
		return fmt.Errorf("%d of %d verifications were not a VALID 200", n, len(keys))
	}
	return nil
}
