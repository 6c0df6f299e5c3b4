package httpsig

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// verifyingServer answers "<keyid> <method> <path> <body>" to requests that
// verify, and 401 with the error otherwise.
func verifyingServer(t *testing.T, tls bool) (*httptest.Server, *[]string) {
	t.Helper()
	v := &Verifier{Keys: testKeys, Nonces: NewMemoryNonceCache(0, nil)}
	var mu sync.Mutex
	var log []string
	h := http.NewServeMux()
	h.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		if _, err := v.Verify(r); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/v1/new?moved=1", http.StatusTemporaryRedirect)
	})
	h.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		res, err := v.Verify(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var body []byte
		if res.Body != nil {
			if body, err = io.ReadAll(res.Body.Wrap(r.Body)); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
		}
		line := fmt.Sprintf("%s %s %s %s", res.KeyID, r.Method, r.URL.RequestURI(), body)
		mu.Lock()
		log = append(log, line)
		mu.Unlock()
		io.WriteString(w, line)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv, &log
}

// opaqueReader hides the concrete type so NewRequest sets no GetBody.
type opaqueReader struct{ io.Reader }

func TestTransportRoundTrip(t *testing.T) {
	for _, tls := range []bool{false, true} {
		srv, _ := verifyingServer(t, tls)
		s, err := NewSigner(testKeyID, testSecret) // real clock and randomness
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Transport: s.Transport(srv.Client().Transport)}
		for _, tc := range []struct {
			name, method, path string
			body               io.Reader
			want               string
		}{
			{"GET", http.MethodGet, "/v1/items?limit=10", nil, "GET /v1/items?limit=10 "},
			{"POST with GetBody", http.MethodPost, "/v1/items", strings.NewReader(testBody), "POST /v1/items " + testBody},
			{"POST without GetBody", http.MethodPost, "/v1/items?x=%20", opaqueReader{strings.NewReader(testBody)}, "POST /v1/items?x=%20 " + testBody},
			{"PATCH empty", http.MethodPatch, "/v1/items/1", nil, "PATCH /v1/items/1 "},
			{"307 redirect re-signs", http.MethodPost, "/old", bytes.NewReader([]byte(testBody)), "POST /v1/new?moved=1 " + testBody},
		} {
			t.Run(fmt.Sprintf("tls=%v/%s", tls, tc.name), func(t *testing.T) {
				req, err := http.NewRequest(tc.method, srv.URL+tc.path, tc.body)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				got, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK || string(got) != testKeyID+" "+tc.want {
					t.Fatalf("%s %q", resp.Status, got)
				}
				if req.Header.Get("Signature") != "" {
					t.Fatal("Transport modified the caller's request")
				}
			})
		}
	}
}

func TestTransportWrongSecretIsRefused(t *testing.T) {
	srv, log := verifyingServer(t, false)
	s, err := NewSigner(testKeyID, bytes.Repeat([]byte("x"), 32))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: s.Transport(nil)}
	resp, err := client.Post(srv.URL+"/v1/items", "application/json", strings.NewReader(testBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(*log) != 0 {
		t.Fatalf("status %s, handled %v", resp.Status, *log)
	}
}

type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func TestTransportClosesBodyOnError(t *testing.T) {
	s := newTestSigner(t)
	body := &closeTracker{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, "/relative", body) // not absolute: Sign fails
	if _, err := s.Transport(nil).RoundTrip(req); err == nil {
		t.Fatal("signed a relative URL")
	}
	if !body.closed {
		t.Fatal("request body not closed")
	}
}

func TestSignerOptionsAndValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keyID  string
		secret []byte
		opts   []SignerOption
	}{
		{"empty key id", "", testSecret, nil},
		{"control in key id", "a\nb", testSecret, nil},
		{"short secret", testKeyID, testSecret[:31], nil},
		{"bad label", testKeyID, testSecret, []SignerOption{WithLabel("Sig")}},
		{"nil clock", testKeyID, testSecret, []SignerOption{WithClock(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSigner(tc.keyID, tc.secret, tc.opts...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	s := newTestSigner(t, WithRand(bytes.NewReader(make([]byte, 16))))
	req, _ := http.NewRequest(http.MethodGet, testURL, nil)
	if err := s.Sign(req, nil); err != nil {
		t.Fatal(err)
	}
	want := `sig1=("@method" "@target-uri" "@path" "@query");created=1750000000;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="key-7f3a";alg="hmac-sha256"`
	if got := req.Header.Get("Signature-Input"); got != want {
		t.Fatalf("Signature-Input = %s\nwant %s", got, want)
	}
	if err := s.Sign(req, nil); err == nil {
		t.Fatal("signed with an exhausted random source")
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, s); out != "httpsig.Signer(keyid="+testKeyID+")" {
			t.Fatalf("%s prints the secret: %s", f, out)
		}
	}
}

func TestSignDigest(t *testing.T) {
	s := newTestSigner(t)
	d := NewDigester()
	io.Copy(d, strings.NewReader(testBody))
	req, _ := http.NewRequest(http.MethodPost, testURL, strings.NewReader(testBody))
	if err := s.SignDigest(req, d.Header()); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Content-Digest"); got != ContentDigest([]byte(testBody)) {
		t.Fatalf("Content-Digest = %s", got)
	}
	if !strings.Contains(req.Header.Get("Signature-Input"), `"content-digest"`) {
		t.Fatal("content-digest not covered")
	}
	if err := s.SignDigest(req, "sha-256=abc"); err == nil {
		t.Fatal("accepted a malformed digest")
	}
}
