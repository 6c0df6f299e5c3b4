package httpsig

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// t0 is the fixed "now" of most tests.
var t0 = time.Unix(1_750_000_000, 0)

const testKeyID = "key-7f3a"

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func testKeys(ctx context.Context, keyID string) ([]byte, error) {
	if keyID == testKeyID {
		return testSecret, nil
	}
	return nil, ErrUnknownKey
}

func newTestVerifier(now time.Time) *Verifier {
	return &Verifier{
		Keys:   testKeys,
		Nonces: NewMemoryNonceCache(0, fixedClock(now)),
		Now:    fixedClock(now),
	}
}

func newTestSigner(t testing.TB, opts ...SignerOption) *Signer {
	t.Helper()
	s, err := NewSigner(testKeyID, testSecret, append([]SignerOption{WithClock(fixedClock(t0))}, opts...)...)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

// signedWire signs a client request and returns it as it goes on the wire.
func signedWire(t testing.TB, s *Signer, method, url, body string) string {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	if err := s.Sign(req, []byte(body)); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.String()
}

// serverRequest parses wire as a server would.
func serverRequest(t testing.TB, wire string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(wire)))
	if err != nil {
		t.Fatalf("ReadRequest: %v", err)
	}
	return r
}

// verifyWire verifies wire and, when the body is covered, reads and checks
// the body through BodyCheck.Wrap.
func verifyWire(t testing.TB, v *Verifier, wire string) (*Result, error) {
	t.Helper()
	r := serverRequest(t, wire)
	res, err := v.Verify(r)
	if err != nil {
		return nil, err
	}
	if res.Body != nil {
		if _, err := io.ReadAll(res.Body.Wrap(r.Body)); err != nil {
			return res, err
		}
	}
	return res, nil
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

// flip changes the byte at i to another byte of the same class, so that the
// message still parses.
func flip(s string, i int) string {
	b := []byte(s)
	switch c := b[i]; {
	case '0' <= c && c <= '9':
		b[i] = '0' + (c-'0'+1)%10
	case 'a' <= c && c <= 'z':
		b[i] = 'a' + (c-'a'+1)%26
	case 'A' <= c && c <= 'Z':
		b[i] = 'A' + (c-'A'+1)%26
	default:
		b[i] = 'x'
	}
	return string(b)
}

// flipAfter flips the byte delta bytes after the first occurrence of marker.
func flipAfter(t *testing.T, s, marker string, delta int) string {
	t.Helper()
	i := strings.Index(s, marker)
	if i < 0 {
		t.Fatalf("marker %q not in message:\n%s", marker, s)
	}
	return flip(s, i+delta)
}

// replaceHeader replaces the value of header name (canonical) in wire.
func replaceHeader(t *testing.T, wire, name, value string) string {
	t.Helper()
	lines := strings.Split(wire, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, name+": ") {
			lines[i] = name + ": " + value
			return strings.Join(lines, "\r\n")
		}
		if l == "" {
			break
		}
	}
	t.Fatalf("header %s not in message", name)
	return ""
}

func headerValue(t *testing.T, wire, name string) string {
	t.Helper()
	return serverRequest(t, wire).Header.Get(name)
}
