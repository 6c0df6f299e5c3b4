package httpsig

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

// TestErrorsHoldNoSecrets collects the errors of many failed verifications
// and checks that none mentions the secret or a signature value.
func TestErrorsHoldNoSecrets(t *testing.T) {
	wire := signedWire(t, newTestSigner(t), http.MethodPost, testURL, testBody)
	sigB64 := strings.TrimSuffix(strings.TrimPrefix(headerValue(t, wire, "Signature"), "sig1=:"), ":")
	sig, _ := base64.StdEncoding.DecodeString(sigB64)
	forbidden := []string{
		string(testSecret),
		base64.StdEncoding.EncodeToString(testSecret),
		hex.EncodeToString(testSecret),
		sigB64,
		hex.EncodeToString(sig),
		base64.RawURLEncoding.EncodeToString(sig),
	}
	// The MAC the verifier computes for a tampered request.
	tampered := flipAfter(t, wire, "/v1/items", 5)
	r := serverRequest(t, tampered)
	ins, _ := ParseSignatureInput(r.Header.Get("Signature-Input"))
	if b, err := SignatureBase(r, ins[0]); err == nil {
		computed := mac(testSecret, b)
		forbidden = append(forbidden, base64.StdEncoding.EncodeToString(computed), hex.EncodeToString(computed))
	}

	var errs []error
	collect := func(v *Verifier, w string) {
		if _, err := verifyWire(t, v, w); err != nil {
			errs = append(errs, err)
		}
	}
	v := newTestVerifier(t0)
	collect(v, tampered)
	collect(v, flipAfter(t, wire, `"widget"`, 1))
	collect(v, flipAfter(t, wire, "Signature: sig1=:", 17))
	collect(v, flipAfter(t, wire, `keyid="`, 7))
	collect(v, flipAfter(t, wire, ";created=", 9))
	collect(v, replaceHeader(t, wire, "Signature", "sig1=:"+hex.EncodeToString(sig)+":"))
	collect(v, replaceHeader(t, wire, "Signature", "sig1="+sigB64))
	collect(v, replaceHeader(t, wire, "Signature", "sig1=:"+sigB64[:20]))
	collect(v, replaceHeader(t, wire, "Signature-Input", `sig1=("`+sigB64+`")`))
	collect(v, replaceHeader(t, wire, "Signature-Input", `sig1=();keyid="`+string(testSecret)+`"`))
	collect(v, replaceHeader(t, wire, "Content-Digest", "sha-256=:"+sigB64+":"))
	collect(v, wire)
	collect(v, wire) // replay
	wrong := newTestVerifier(t0)
	wrong.Keys = func(context.Context, string) ([]byte, error) { return []byte(strings.Repeat("s", 40)), nil }
	collect(wrong, wire)
	if len(errs) < 12 {
		t.Fatalf("only %d failures collected", len(errs))
	}
	for _, err := range errs {
		msg := err.Error()
		for _, f := range forbidden {
			if strings.Contains(msg, f) {
				t.Errorf("error %q contains a secret or signature", msg)
			}
		}
		if strings.Contains(msg, testKeyID) {
			t.Errorf("error %q echoes the key id", msg)
		}
	}
}
