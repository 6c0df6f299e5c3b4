package httpsig

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

var inputSeeds = []string{
	rfcB25Input,
	`sig1=("@method" "@target-uri" "@path" "@query" "content-digest");created=1750000000;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="key-7f3a";alg="hmac-sha256"`,
	`a=(), b=("date");expires=5;tag="t\"\\"`,
	`a=("@query-param";name="x")`,
	`a=();created=1.5`,
	`a=("x" "x")`,
	"a=(\"@path\"\t\"@query\")",
	`a=();created=-0`,
	`*=(), a=?1, b=:AAAA:, c=tok/en:x`,
	`a=(:AAAA: 1 ?0 tok "s");p;q=1`,
}

// FuzzParseSignatureInput checks that the parser never panics, that every
// error is ErrMalformed, and that what parses serializes to a field that
// parses to the same thing.
func FuzzParseSignatureInput(f *testing.F) {
	for _, s := range inputSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		ins, err := ParseSignatureInput(field)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(ins) == 0 || len(ins) > maxMembers {
			t.Fatalf("%d members", len(ins))
		}
		parts := make([]string, len(ins))
		for i, in := range ins {
			if len(in.Components) > maxComponents {
				t.Fatalf("%d components", len(in.Components))
			}
			parts[i] = in.Label + "=" + in.String()
		}
		again, err := ParseSignatureInput(strings.Join(parts, ", "))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", strings.Join(parts, ", "), err)
		}
		for i := range ins {
			a, b := ins[i], again[i]
			if a.Label != b.Label || !slices.Equal(a.Components, b.Components) || a.Params != b.Params || a.String() != b.String() {
				t.Fatalf("round trip changed member %d: %+v != %+v", i, a, b)
			}
		}
	})
}

// FuzzParseSignature checks the Signature dictionary parser the same way.
func FuzzParseSignature(f *testing.F) {
	for _, s := range []string{
		rfcB25Signature,
		"sig1=:AAAA:, sig2=::",
		"sig1=:-_-_:",
		"sig1=:AAA=:",
		"sig1=:AAAA:;p=1",
		"sig1=:AA\r\nAA:",
		"sig1=deadbeef",
		"sig1=(:AAAA:)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		sigs, err := ParseSignature(field)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		parts := make([]string, len(sigs))
		for i, s := range sigs {
			parts[i] = s.Label + "=:" + base64.StdEncoding.EncodeToString(s.Value) + ":"
		}
		again, err := ParseSignature(strings.Join(parts, ", "))
		if err != nil || len(again) != len(sigs) {
			t.Fatalf("re-parse: %v", err)
		}
		for i := range sigs {
			if again[i].Label != sigs[i].Label || !bytes.Equal(again[i].Value, sigs[i].Value) {
				t.Fatalf("round trip changed member %d", i)
			}
		}
	})
}

// FuzzContentDigest checks the Content-Digest parser and BodyCheck.
func FuzzContentDigest(f *testing.F) {
	f.Add("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", []byte(`{"hello": "world"}`))
	f.Add("sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, md5=?1", []byte(`{"hello": "world"}`))
	f.Add("md5=:AAAA:", []byte{})
	f.Fuzz(func(t *testing.T, field string, body []byte) {
		err := VerifyBody(field, body)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDigest) {
			t.Fatalf("error %v is neither ErrMalformed nor ErrDigest", err)
		}
		if VerifyBody(ContentDigest(body), body) != nil {
			t.Fatal("own digest does not verify")
		}
	})
}

// FuzzVerify feeds arbitrary signature fields to a Verifier; it must not
// panic and must not accept.
func FuzzVerify(f *testing.F) {
	for _, s := range inputSeeds {
		f.Add(s, "sig1=:"+strings.Repeat("A", 43)+"=:")
	}
	f.Fuzz(func(t *testing.T, in, sig string) {
		r := serverRequest(t, "POST /v1/items?a=1 HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 2\r\n\r\n{}")
		r.Header.Set("Signature-Input", in)
		r.Header.Set("Signature", sig)
		if _, err := newTestVerifier(t0).Verify(r); err == nil {
			t.Fatal("verified a forged signature")
		}
	})
}
