package httpsig

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testURL = "http://api.example.com/v1/items?limit=10&sort=name"
const testBody = `{"name":"widget"}`

func TestVerifyAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, method, url, body string
		opts                    []SignerOption
	}{
		{"GET with query", http.MethodGet, testURL, "", nil},
		{"GET without query", http.MethodGet, "http://api.example.com/", "", nil},
		{"POST with body", http.MethodPost, testURL, testBody, nil},
		{"POST empty body gets a digest", http.MethodPost, testURL, "", nil},
		{"DELETE with body", http.MethodDelete, testURL, testBody, nil},
		{"escaped path", http.MethodGet, "http://api.example.com/a%2Fb/c%20d?x=%3D", "", nil},
		{"default port", http.MethodGet, "http://API.example.com:80/x", "", nil},
		{"without @target-uri", http.MethodPut, testURL, testBody, []SignerOption{WithoutTargetURI()}},
		{"other label", http.MethodGet, testURL, "", []SignerOption{WithLabel("latchkey")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire := signedWire(t, newTestSigner(t, tc.opts...), tc.method, tc.url, tc.body)
			res, err := verifyWire(t, newTestVerifier(t0), wire)
			wantErr(t, err, nil)
			if res.KeyID != testKeyID {
				t.Fatalf("KeyID = %q", res.KeyID)
			}
			if (tc.body != "" || needsDigest(tc.method)) != (res.Body != nil) {
				t.Fatalf("Body check present = %v", res.Body != nil)
			}
		})
	}
}

func TestExpires(t *testing.T) {
	for _, tc := range []struct {
		name    string
		expires time.Time
		want    error
	}{
		{"in the future", t0.Add(time.Second), nil},
		{"now", t0, nil},
		{"past", t0.Add(-time.Second), ErrExpired},
		{"before created", t0.Add(-time.Hour), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created := t0
			if tc.want == ErrExpired {
				created = t0.Add(-10 * time.Second)
			}
			r := handSigned(t, created, tc.expires)
			_, err := newTestVerifier(t0).Verify(r)
			wantErr(t, err, tc.want)
		})
	}
}

// handSigned builds a GET request signed with the given created and expires.

func handSigned(t *testing.T, created, expires time.Time) *http.Request {
	t.Helper()
	r := serverRequest(t, "GET /x?y=1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
	in := SignatureInput{Label: "sig1", Components: []string{"@method", "@path", "@query"},
		Params: Params{Created: created, Expires: expires, Nonce: "n-" + created.String() + expires.String(), KeyID: testKeyID}}
	base, err := SignatureBase(r, in)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Signature-Input", "sig1="+in.String())
	r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(mac(testSecret, base))+":")
	return r
}

func TestVerifyPolicy(t *testing.T) {
	base := "POST /v1/items?a=1 HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 2\r\nContent-Digest: " +
		ContentDigest([]byte("{}")) + "\r\n\r\n{}"
	for _, tc := range []struct {
		name       string
		components []string
		params     Params
		want       error
	}{
		{"complete", []string{"@method", "@path", "@query", "content-digest"}, Params{Nonce: "n1"}, nil},
		{"@target-uri instead of @path and @query", []string{"@method", "@target-uri", "content-digest"}, Params{Nonce: "n2"}, nil},
		{"no @method", []string{"@target-uri", "content-digest"}, Params{Nonce: "n"}, ErrPolicy},
		{"@path without @query", []string{"@method", "@path", "content-digest"}, Params{Nonce: "n"}, ErrPolicy},
		{"body without content-digest", []string{"@method", "@target-uri"}, Params{Nonce: "n"}, ErrPolicy},
		{"no nonce", []string{"@method", "@target-uri", "content-digest"}, Params{}, ErrPolicy},
		{"other alg", []string{"@method", "@target-uri", "content-digest"}, Params{Nonce: "n", Alg: "ed25519"}, ErrPolicy},
		{"explicit alg", []string{"@method", "@target-uri", "content-digest"}, Params{Nonce: "n3", Alg: AlgHMACSHA256}, nil},
		{"no created", []string{"@method", "@target-uri", "content-digest"}, Params{Nonce: "n", Created: time.Time{}}, ErrPolicy},
		{"no keyid", []string{"@method", "@target-uri", "content-digest"}, Params{Nonce: "n", KeyID: "-"}, ErrPolicy},
		{"covered field absent", []string{"@method", "@target-uri", "content-digest", "x-absent"}, Params{Nonce: "n"}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := serverRequest(t, base)
			p := tc.params
			if tc.name != "no created" {
				p.Created = t0
			}
			switch p.KeyID {
			case "-":
				p.KeyID = ""
			default:
				p.KeyID = testKeyID
			}
			in := SignatureInput{Label: "sig1", Components: tc.components, Params: p}
			r.Header.Set("Signature-Input", "sig1="+in.String())
			sig := make([]byte, 32)
			if b, err := SignatureBase(r, in); err == nil {
				sig = mac(testSecret, b)
			}
			r.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
			_, err := newTestVerifier(t0).Verify(r)
			wantErr(t, err, tc.want)
		})
	}
}

func TestVerifyLabelsAndCounts(t *testing.T) {
	wire := signedWire(t, newTestSigner(t), http.MethodGet, testURL, "")
	in := headerValue(t, wire, "Signature-Input")
	sig := headerValue(t, wire, "Signature")
	second := func(h string) string { return h + ", " + strings.Replace(h, "sig1=", "sig2=", 1) }
	for _, tc := range []struct {
		name     string
		in, sig  string
		label    string
		max      int
		want     error
		wantFrom string
	}{
		{"one signature", in, sig, "", 0, nil, "sig1"},
		{"two signatures, default max", second(in), second(sig), "", 0, ErrPolicy, ""},
		{"two signatures allowed", second(in), second(sig), "", 2, nil, "sig1"},
		{"label chosen", second(in), second(sig), "sig2", 2, nil, "sig2"},
		{"label absent", in, sig, "other", 0, ErrMissing, ""},
		{"labels differ", second(in), sig + ", sig3=:AAAA:", "", 2, ErrMalformed, ""},
		{"count differs", second(in), sig, "", 2, ErrMalformed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := replaceHeader(t, replaceHeader(t, wire, "Signature-Input", tc.in), "Signature", tc.sig)
			v := newTestVerifier(t0)
			v.Label, v.MaxSignatures = tc.label, tc.max
			res, err := verifyWire(t, v, w)
			wantErr(t, err, tc.want)
			if err == nil && res.Label != tc.wantFrom {
				t.Fatalf("verified %q, want %q", res.Label, tc.wantFrom)
			}
		})
	}
}

func TestVerifyMissing(t *testing.T) {
	wire := signedWire(t, newTestSigner(t), http.MethodGet, testURL, "")
	for _, name := range []string{"Signature", "Signature-Input"} {
		t.Run(name, func(t *testing.T) {
			r := serverRequest(t, wire)
			r.Header.Del(name)
			_, err := newTestVerifier(t0).Verify(r)
			wantErr(t, err, ErrMissing)
		})
	}
}

func TestVerifyKeyLookupErrors(t *testing.T) {
	wire := signedWire(t, newTestSigner(t), http.MethodGet, testURL, "")
	errDown := errors.New("store down")
	for _, tc := range []struct {
		name   string
		lookup KeyLookup
		want   error
	}{
		{"store error passes through", func(context.Context, string) ([]byte, error) { return nil, errDown }, errDown},
		{"nil secret is unknown", func(context.Context, string) ([]byte, error) { return nil, nil }, ErrUnknownKey},
		{"short secret refused", func(context.Context, string) ([]byte, error) { return []byte("short"), nil }, nil},
		{"wrong secret", func(context.Context, string) ([]byte, error) { return []byte(strings.Repeat("k", 32)), nil }, ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t0)
			v.Keys = tc.lookup
			_, err := verifyWire(t, v, wire)
			if err == nil {
				t.Fatal("verified")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyNeedsKeysAndNonces(t *testing.T) {
	wire := signedWire(t, newTestSigner(t), http.MethodGet, testURL, "")
	if _, err := (&Verifier{Keys: testKeys}).Verify(serverRequest(t, wire)); err == nil {
		t.Fatal("verified without a nonce cache")
	}
}

func TestVerifyOrigin(t *testing.T) {
	// A client signs https://; the server sees plain HTTP behind a proxy.
	wire := signedWire(t, newTestSigner(t), http.MethodGet, "https://api.example.com/x?y=1", "")
	_, err := verifyWire(t, newTestVerifier(t0), wire)
	wantErr(t, err, ErrBadSignature)

	v := newTestVerifier(t0)
	v.Origin = func(r *http.Request) (string, string) { return "https", r.Host }
	_, err = verifyWire(t, v, wire)
	wantErr(t, err, nil)
}

func TestVerifyStreamedBodyIsHeldBack(t *testing.T) {
	wire := signedWire(t, newTestSigner(t), http.MethodPost, testURL, testBody)
	r := serverRequest(t, flipAfter(t, wire, `"widget"`, 1))
	res, err := newTestVerifier(t0).Verify(r)
	wantErr(t, err, nil)
	got, err := io.ReadAll(res.Body.Wrap(r.Body))
	wantErr(t, err, ErrDigest)
	if len(got) >= len(testBody) {
		t.Fatalf("consumer received the whole tampered body (%d bytes)", len(got))
	}
}
