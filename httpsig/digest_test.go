package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestContentDigest(t *testing.T) {
	// RFC 9530 §2 example: {"hello": "world"} with sha-256.
	const want = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
	body := []byte(`{"hello": "world"}`)
	if got := ContentDigest(body); got != want {
		t.Fatalf("ContentDigest = %s, want %s", got, want)
	}
	d := NewDigester()
	io.Copy(d, iotest.OneByteReader(strings.NewReader(string(body))))
	if got := d.Header(); got != want {
		t.Fatalf("Digester.Header = %s", got)
	}
	d.Reset()
	if d.Header() != ContentDigest(nil) || d.Size() != 32 || d.BlockSize() != 64 {
		t.Fatal("Reset/Size/BlockSize")
	}
}

func TestCheckContentDigest(t *testing.T) {
	body := []byte(`{"hello": "world"}`)
	s256 := sha256.Sum256(body)
	s512 := sha512.Sum512(body)
	b256 := base64.StdEncoding.EncodeToString(s256[:])
	b512 := base64.StdEncoding.EncodeToString(s512[:])
	other := sha256.Sum256([]byte("other"))
	for _, tc := range []struct {
		name, field string
		sum         []byte
		want        error
	}{
		{"sha-256", "sha-256=:" + b256 + ":", s256[:], nil},
		{"sha-512", "sha-512=:" + b512 + ":", s512[:], nil},
		{"both, check 256", "sha-512=:" + b512 + ":, sha-256=:" + b256 + ":", s256[:], nil},
		{"unknown ignored", "md5=:AAAA:, sha-256=:" + b256 + ":, unixsum=?1", s256[:], nil},
		{"mismatch", "sha-256=:" + b256 + ":", other[:], ErrDigest},
		{"no entry for the sum's algorithm", "sha-512=:" + b512 + ":", s256[:], ErrDigest},
		{"only unknown", "md5=:AAAA:", s256[:], ErrMalformed},
		{"wrong length", "sha-256=:" + b512 + ":", s256[:], ErrMalformed},
		{"not bytes", `sha-256="` + b256 + `"`, s256[:], ErrMalformed},
		{"duplicate", "sha-256=:" + b256 + ":, sha-256=:" + b256 + ":", s256[:], ErrMalformed},
		{"hex", "sha-256=:" + hexString(s256[:]) + ":", s256[:], ErrMalformed},
		{"empty", "", s256[:], ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, CheckContentDigest(tc.field, tc.sum), tc.want)
		})
	}
}

func TestBodyCheckChecksEveryAlgorithm(t *testing.T) {
	body := []byte(testBody)
	s512 := sha512.Sum512([]byte("a different body"))
	field := ContentDigest(body) + ", sha-512=:" + base64.StdEncoding.EncodeToString(s512[:]) + ":"
	wantErr(t, VerifyBody(field, body), ErrDigest)
	wantErr(t, VerifyBody(ContentDigest(body), body), nil)
	wantErr(t, VerifyBody("nonsense", body), ErrMalformed)
}

func TestBodyCheckWrap(t *testing.T) {
	body := strings.Repeat("0123456789", 100)
	good := ContentDigest([]byte(body))
	bad := ContentDigest([]byte(body + "!"))
	readers := map[string]func(io.Reader) io.Reader{
		"plain":      func(r io.Reader) io.Reader { return r },
		"one byte":   iotest.OneByteReader,
		"half":       iotest.HalfReader,
		"data + EOF": iotest.DataErrReader,
	}
	for name, mk := range readers {
		t.Run(name+"/match", func(t *testing.T) {
			c, _ := NewBodyCheck(good)
			if err := iotest.TestReader(c.Wrap(io.NopCloser(mk(strings.NewReader(body)))), []byte(body)); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(name+"/match, 1-byte reads", func(t *testing.T) {
			c, _ := NewBodyCheck(good)
			got, err := io.ReadAll(iotest.OneByteReader(c.Wrap(io.NopCloser(mk(strings.NewReader(body))))))
			if err != nil || string(got) != body {
				t.Fatalf("got %d bytes, %v", len(got), err)
			}
		})
		t.Run(name+"/mismatch holds back the end", func(t *testing.T) {
			c, _ := NewBodyCheck(bad)
			got, err := io.ReadAll(c.Wrap(io.NopCloser(mk(strings.NewReader(body)))))
			wantErr(t, err, ErrDigest)
			if len(got) != len(body)-1 {
				t.Fatalf("got %d bytes, want all but the last", len(got))
			}
		})
	}
	t.Run("empty body", func(t *testing.T) {
		c, _ := NewBodyCheck(ContentDigest(nil))
		got, err := io.ReadAll(c.Wrap(io.NopCloser(strings.NewReader(""))))
		if err != nil || len(got) != 0 {
			t.Fatalf("%q %v", got, err)
		}
	})
	t.Run("read error passes through", func(t *testing.T) {
		boom := errors.New("boom")
		c, _ := NewBodyCheck(good)
		_, err := io.ReadAll(c.Wrap(io.NopCloser(iotest.ErrReader(boom))))
		wantErr(t, err, boom)
	})
	t.Run("no progress", func(t *testing.T) {
		c, _ := NewBodyCheck(good)
		_, err := c.Wrap(io.NopCloser(zeroReader{})).Read(make([]byte, 8))
		wantErr(t, err, io.ErrNoProgress)
	})
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }
