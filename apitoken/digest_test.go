package apitoken

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestHash(t *testing.T) {
	for name, s := range map[string]string{
		"empty":  "",
		"token":  "acme_live_0000000000000000000000000000000000000000000000000",
		"long":   strings.Repeat("x", 10_000),
		"binary": "\x00\xff\n",
	} {
		t.Run(name, func(t *testing.T) {
			if got, want := Hash(s), Digest(sha256.Sum256([]byte(s))); got != want {
				t.Errorf("Hash = %v, want %v", got, want)
			}
		})
	}
	t.Run("known answer", func(t *testing.T) {
		const want = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		if got := Hash("").String(); got != want {
			t.Errorf("Hash(\"\") = %s, want %s", got, want)
		}
	})
}

func TestHashDoesNotAllocate(t *testing.T) {
	for _, n := range []int{0, 10, 55, 200, MaxLen, 10_000} {
		s := strings.Repeat("a", n)
		var d Digest
		if allocs := testing.AllocsPerRun(100, func() { d = Hash(s) }); allocs != 0 {
			t.Errorf("Hash of %d bytes allocates %v times", n, allocs)
		}
		if allocs := testing.AllocsPerRun(100, func() { _ = d.Equal(d) }); allocs != 0 {
			t.Errorf("Digest.Equal allocates %v times", allocs)
		}
	}
}

func TestDigestEqual(t *testing.T) {
	a, b := Hash("a"), Hash("b")
	if !a.Equal(a) || a.Equal(b) || a.Equal(Digest{}) {
		t.Errorf("Equal: a==a %v, a==b %v, a==zero %v", a.Equal(a), a.Equal(b), a.Equal(Digest{}))
	}
	if a.IsZero() || !(Digest{}).IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestParseDigest(t *testing.T) {
	d := Hash("acme_live_secret")
	for _, tc := range []struct {
		name string
		in   string
	}{
		{"hex lower", d.String()},
		{"hex upper", strings.ToUpper(d.String())},
		{"base64 std padded", base64.StdEncoding.EncodeToString(d[:])},
		{"base64 url padded", base64.URLEncoding.EncodeToString(d[:])},
		{"base64 std raw", base64.RawStdEncoding.EncodeToString(d[:])},
		{"base64 url raw", base64.RawURLEncoding.EncodeToString(d[:])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDigest(tc.in)
			if err != nil || got != d {
				t.Errorf("ParseDigest(%q) = %v, %v; want %v", tc.in, got, err, d)
			}
		})
	}
	hexd := d.String()
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"hex 63 characters", hexd[:63]},
		{"hex 65 characters", hexd + "0"},
		{"hex with non-hex", "g" + hexd[1:]},
		{"hex with space", " " + hexd[1:]},
		{"base64 of 33 bytes", base64.StdEncoding.EncodeToString(make([]byte, 33))},
		{"base64 with bad char", "*" + base64.StdEncoding.EncodeToString(d[:])[1:]},
		{"base64 non-canonical padding bits", base64.RawStdEncoding.EncodeToString(d[:])[:42] + "B"},
		{"a token", "acme_live_0000000000000000000000000000000000000000000000000"},
	} {
		t.Run("rejects/"+tc.name, func(t *testing.T) {
			if got, err := ParseDigest(tc.in); !errors.Is(err, ErrInvalidDigest) || !got.IsZero() {
				t.Errorf("ParseDigest(%q) = %v, %v; want zero, ErrInvalidDigest", tc.in, got, err)
			}
		})
	}
}

func TestDigestJSON(t *testing.T) {
	type row struct{ D Digest }
	in := row{Hash("x")}
	out, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"D":"` + in.D.String() + `"}`; string(out) != want {
		t.Errorf("json.Marshal = %s, want %s", out, want)
	}
	var back row
	if err := json.Unmarshal(out, &back); err != nil || back != in {
		t.Errorf("json round trip = %v, %v; want %v", back, err, in)
	}
	if err := json.Unmarshal([]byte(`{"D":"nope"}`), &back); !errors.Is(err, ErrInvalidDigest) {
		t.Errorf("json.Unmarshal of bad digest error = %v, want ErrInvalidDigest", err)
	}
}

func FuzzParseDigest(f *testing.F) {
	d := Hash("seed")
	for _, seed := range []string{
		"", d.String(), strings.ToUpper(d.String()),
		base64.StdEncoding.EncodeToString(d[:]), base64.RawURLEncoding.EncodeToString(d[:]),
		strings.Repeat("=", 44), strings.Repeat("-", 43), strings.Repeat("g", 64),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidDigest) || !d.IsZero() {
				t.Fatalf("ParseDigest(%q) = %v, %v", s, d, err)
			}
			return
		}
		if back, err := ParseDigest(d.String()); err != nil || back != d {
			t.Fatalf("ParseDigest(%q).String() does not round-trip: %v, %v", s, back, err)
		}
		if len(s) == hex.EncodedLen(len(d)) {
			if !strings.EqualFold(s, d.String()) {
				t.Fatalf("ParseDigest(%q) = %v, not the same hex", s, d)
			}
			return
		}
		for _, enc := range []*base64.Encoding{
			base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding,
		} {
			if enc.EncodeToString(d[:]) == s {
				return
			}
		}
		t.Fatalf("ParseDigest(%q) = %v, which no base64 encoding writes as the input", s, d)
	})
}

func BenchmarkHash(b *testing.B) {
	s := mustNew(b, "acme_live").Reveal()
	b.ReportAllocs()
	for b.Loop() {
		_ = Hash(s)
	}
}
