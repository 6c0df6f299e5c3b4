package httpsig

// The KEY-07 checklist tests of SECURITY.md: tampering, clock window,
// replay and wrong encodings each fail with the right error.

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSEC_KEY07_TamperedComponent(t *testing.T) {
	wire := signedWire(t, newTestSigner(t), http.MethodPost, testURL, testBody)
	if _, err := verifyWire(t, newTestVerifier(t0), wire); err != nil {
		t.Fatalf("untampered request: %v", err)
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, wire string) string
		want   error
	}{
		{"method", func(t *testing.T, w string) string { return flip(w, 0) }, ErrBadSignature},
		{"path", func(t *testing.T, w string) string { return flipAfter(t, w, "/v1/items", 5) }, ErrBadSignature},
		{"query", func(t *testing.T, w string) string { return flipAfter(t, w, "limit=10", 7) }, ErrBadSignature},
		{"host", func(t *testing.T, w string) string { return flipAfter(t, w, "Host: api", 6) }, ErrBadSignature},
		{"body", func(t *testing.T, w string) string { return flipAfter(t, w, `"widget"`, 1) }, ErrDigest},
		{"content-digest header", func(t *testing.T, w string) string { return flipAfter(t, w, "sha-256=:", 9) }, ErrBadSignature},
		{"created", func(t *testing.T, w string) string { return flipAfter(t, w, ";nonce=", -1) }, ErrBadSignature},
		{"created far", func(t *testing.T, w string) string { return flipAfter(t, w, ";created=", 9) }, ErrClock},
		{"nonce", func(t *testing.T, w string) string { return flipAfter(t, w, `nonce="`, 7) }, ErrBadSignature},
		{"keyid", func(t *testing.T, w string) string { return flipAfter(t, w, `keyid="`, 7) }, ErrUnknownKey},
		{"alg", func(t *testing.T, w string) string { return flipAfter(t, w, `alg="hmac`, 5) }, ErrPolicy},
		{"covered component list", func(t *testing.T, w string) string {
			return strings.Replace(w, `"@path" "@query" `, `"@query" "@path" `, 1)
		}, ErrBadSignature},
		{"signature value", func(t *testing.T, w string) string { return flipAfter(t, w, "Signature: sig1=:", 17) }, ErrBadSignature},
		{"label", func(t *testing.T, w string) string {
			return strings.Replace(w, "Signature: sig1=", "Signature: sig2=", 1)
		}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tampered := tc.tamper(t, wire)
			if tampered == wire {
				t.Fatal("tamper did not change the message")
			}
			_, err := verifyWire(t, newTestVerifier(t0), tampered)
			wantErr(t, err, tc.want)
		})
	}
}

func TestSEC_KEY07_ClockWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset time.Duration // signer clock minus verifier clock
		want   error
	}{
		{"now", 0, nil},
		{"created 300 s ago", -300 * time.Second, nil},
		{"created 300 s ahead", 300 * time.Second, nil},
		{"created 301 s ago", -301 * time.Second, ErrClock},
		{"created 301 s ahead", 301 * time.Second, ErrClock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSigner(t, WithClock(fixedClock(t0.Add(tc.offset))))
			wire := signedWire(t, s, http.MethodGet, testURL, "")
			_, err := verifyWire(t, newTestVerifier(t0), wire)
			wantErr(t, err, tc.want)
		})
	}
}

func TestSEC_KEY07_Replay(t *testing.T) {
	v := newTestVerifier(t0)
	s := newTestSigner(t)
	wire := signedWire(t, s, http.MethodPost, testURL, testBody)

	// A forgery carrying the same nonce must not use it up.
	forged := flipAfter(t, wire, "Signature: sig1=:", 17)
	_, err := verifyWire(t, v, forged)
	wantErr(t, err, ErrBadSignature)

	_, err = verifyWire(t, v, wire)
	wantErr(t, err, nil)
	_, err = verifyWire(t, v, wire)
	wantErr(t, err, ErrReplay)

	// The same request signed again has a different nonce.
	again := signedWire(t, s, http.MethodPost, testURL, testBody)
	if headerValue(t, again, "Signature-Input") == headerValue(t, wire, "Signature-Input") {
		t.Fatal("two signatures share a nonce")
	}
	_, err = verifyWire(t, v, again)
	wantErr(t, err, nil)

	// keyid is covered: the signature cannot be moved to another key
	// (which would have a nonce namespace of its own).
	other := &Verifier{Keys: func(context.Context, string) ([]byte, error) { return testSecret, nil },
		Nonces: v.Nonces, Now: v.Now}
	otherWire := strings.ReplaceAll(wire, testKeyID, "key-other")
	_, err = verifyWire(t, other, otherWire)
	wantErr(t, err, ErrBadSignature) // keyid is covered by @signature-params
}

func TestSEC_KEY07_WrongEncoding(t *testing.T) {
	// Find a signature whose base64 has '+' or '/', so base64url differs.
	var wire string
	var sig []byte
	for i := 0; ; i++ {
		s := newTestSigner(t, WithRand(strings.NewReader(strings.Repeat(string(rune('a'+i)), 16))))
		wire = signedWire(t, s, http.MethodGet, testURL, "")
		b64 := strings.TrimSuffix(strings.TrimPrefix(headerValue(t, wire, "Signature"), "sig1=:"), ":")
		if strings.ContainsAny(b64, "+/") {
			sig, _ = base64.StdEncoding.DecodeString(b64)
			break
		}
	}
	std := base64.StdEncoding.EncodeToString(sig)
	noncanonical := []byte(std)
	last := strings.IndexByte(std, '=') - 1 // carries 2 padding bits
	noncanonical[last] = flip(std, last)[last]
	for _, tc := range []struct {
		name, value string
		want        error
	}{
		{"correct", "sig1=:" + std + ":", nil},
		{"hex", "sig1=:" + hexString(sig) + ":", ErrMalformed},
		{"bare hex", "sig1=" + hexString(sig), ErrMalformed},
		{"base64url", "sig1=:" + base64.URLEncoding.EncodeToString(sig) + ":", ErrMalformed},
		{"base64url unpadded", "sig1=:" + base64.RawURLEncoding.EncodeToString(sig) + ":", ErrMalformed},
		{"unpadded", "sig1=:" + base64.RawStdEncoding.EncodeToString(sig) + ":", ErrMalformed},
		{"missing colons", "sig1=" + std, ErrMalformed},
		{"missing closing colon", "sig1=:" + std, ErrMalformed},
		{"quoted string", `sig1="` + std + `"`, ErrMalformed},
		{"non-zero padding bits", "sig1=:" + string(noncanonical) + ":", ErrMalformed},
		{"space inside", "sig1=:" + std[:10] + " " + std[10:] + ":", ErrMalformed},
		{"truncated", "sig1=:" + base64.StdEncoding.EncodeToString(sig[:31]) + ":", ErrMalformed},
		{"parameterized", "sig1=:" + std + ":;x=1", ErrMalformed},
		{"empty", "", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifyWire(t, newTestVerifier(t0), replaceHeader(t, wire, "Signature", tc.value))
			wantErr(t, err, tc.want)
		})
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
