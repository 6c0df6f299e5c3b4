package httpsig

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// The test-request of RFC 9421 Appendix B.2 and the signature of B.2.5
// (hmac-sha256 with the shared secret test-shared-secret of B.1.4).
const (
	rfcRequest = "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n" +
		"Host: example.com\r\n" +
		"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Digest: sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\r\n" +
		"Content-Length: 18\r\n" +
		"\r\n" +
		`{"hello": "world"}`
	rfcSecretB64      = "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
	rfcB25Input       = `sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`
	rfcB25Signature   = `sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:`
	rfcB25SigValueB64 = "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="
	rfcB25Base        = `"date": Tue, 20 Apr 2021 02:07:55 GMT` + "\n" +
		`"@authority": example.com` + "\n" +
		`"content-type": application/json` + "\n" +
		`"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`
)

func TestSEC_KEY07_RFC9421_B25Vector(t *testing.T) {
	secret, err := base64.StdEncoding.DecodeString(rfcSecretB64)
	if err != nil {
		t.Fatal(err)
	}
	r := serverRequest(t, rfcRequest)

	t.Run("primitive/signature base and MAC", func(t *testing.T) {
		ins, err := ParseSignatureInput(rfcB25Input)
		if err != nil {
			t.Fatalf("ParseSignatureInput: %v", err)
		}
		if len(ins) != 1 || ins[0].Label != "sig-b25" {
			t.Fatalf("inputs = %+v", ins)
		}
		base, err := SignatureBase(r, ins[0])
		if err != nil {
			t.Fatalf("SignatureBase: %v", err)
		}
		if string(base) != rfcB25Base {
			t.Fatalf("signature base:\n%s\nwant:\n%s", base, rfcB25Base)
		}
		sigs, err := ParseSignature(rfcB25Signature)
		if err != nil {
			t.Fatalf("ParseSignature: %v", err)
		}
		got := mac(secret, base)
		if b64 := base64.StdEncoding.EncodeToString(got); b64 != rfcB25SigValueB64 {
			t.Fatalf("MAC = %s, want %s", b64, rfcB25SigValueB64)
		}
		if string(sigs[0].Value) != string(got) {
			t.Fatal("parsed Signature differs from the computed MAC")
		}
	})

	t.Run("primitive/input serializes back to the RFC text", func(t *testing.T) {
		ins, _ := ParseSignatureInput(rfcB25Input)
		if got := ins[0].Label + "=" + ins[0].String(); got != rfcB25Input {
			t.Fatalf("String() = %s, want %s", got, rfcB25Input)
		}
	})

	t.Run("content-digest sha-512 of B.2 body", func(t *testing.T) {
		if err := VerifyBody(r.Header.Get("Content-Digest"), []byte(`{"hello": "world"}`)); err != nil {
			t.Fatalf("VerifyBody: %v", err)
		}
	})

	t.Run("policy refuses the vector", func(t *testing.T) {
		r := serverRequest(t, rfcRequest)
		r.Header.Set("Signature-Input", rfcB25Input)
		r.Header.Set("Signature", rfcB25Signature)
		now := time.Unix(1618884473, 0) // created: the clock is not the reason
		v := &Verifier{
			Keys: func(_ context.Context, keyID string) ([]byte, error) {
				if keyID == "test-shared-secret" {
					return secret, nil
				}
				return nil, ErrUnknownKey
			},
			Nonces: NewMemoryNonceCache(0, fixedClock(now)),
			Now:    fixedClock(now),
		}
		_, err := v.Verify(r)
		if !errors.Is(err, ErrPolicy) {
			t.Fatalf("Verify = %v, want ErrPolicy", err)
		}
		for _, other := range []error{ErrClock, ErrBadSignature, ErrMalformed, ErrUnknownKey} {
			if errors.Is(err, other) {
				t.Fatalf("Verify = %v, must not be %v", err, other)
			}
		}
	})

	t.Run("policy refuses the vector even with the components added, for lacking nonce", func(t *testing.T) {
		ins, _ := ParseSignatureInput(rfcB25Input)
		in := ins[0]
		in.Components = append(in.Components, "@method", "@target-uri", "content-digest")
		err := checkPolicy(serverRequest(t, rfcRequest), in)
		if !errors.Is(err, ErrPolicy) {
			t.Fatalf("checkPolicy = %v, want ErrPolicy", err)
		}
	})
}
