package apitoken

import (
	"bytes"
	"errors"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustNew(t testing.TB, prefix string) Token {
	t.Helper()
	tok, err := New(prefix)
	if err != nil {
		t.Fatalf("New(%q): %v", prefix, err)
	}
	return tok
}

func assertShape(t *testing.T, s string, want Shape) {
	t.Helper()
	if got := Check(s); got != want {
		t.Errorf("Check(%q) = %v, want %v", s, got, want)
	}
	if ref := refCheck(t, s); ref != want {
		t.Errorf("reference Check(%q) = %v, want %v", s, ref, want)
	}
}

func TestNewRoundTrip(t *testing.T) {
	for _, prefix := range []string{
		"a", "lk", "acme", "acme_live", "a_b_c_d", "x9", "a_", "a__b",
		"a" + strings.Repeat("_", MaxPrefixLen-1),
		strings.Repeat("z", MaxPrefixLen),
	} {
		t.Run(prefix, func(t *testing.T) {
			tok := mustNew(t, prefix)
			s := tok.Reveal()
			assertShape(t, s, Valid)
			if want := len(prefix) + 1 + SecretLen + ChecksumLen; len(s) != want {
				t.Errorf("len = %d, want %d", len(s), want)
			}
			if got := tok.Prefix(); got != prefix {
				t.Errorf("Prefix() = %q, want %q", got, prefix)
			}
			if got, want := tok.Start(), s[:len(prefix)+1+4]; got != want {
				t.Errorf("Start() = %q, want %q", got, want)
			}
			if tok.IsZero() {
				t.Error("IsZero() = true for a new token")
			}
		})
	}
}

func TestNewRejectsInvalidPrefix(t *testing.T) {
	for name, prefix := range map[string]string{
		"empty":             "",
		"upper case":        "Acme",
		"leading digit":     "9acme",
		"leading _":         "_acme",
		"dash":              "acme-live",
		"space":             "acme live",
		"newline":           "acme\n",
		"non-ASCII":         "acmé",
		"33 characters":     strings.Repeat("a", MaxPrefixLen+1),
		"whole token":       "acme_live_" + strings.Repeat("A", 49),
		"trailing NUL byte": "acme\x00",
	} {
		t.Run(name, func(t *testing.T) {
			if ValidPrefix(prefix) {
				t.Errorf("ValidPrefix(%q) = true", prefix)
			}
			tok, err := New(prefix)
			if !errors.Is(err, ErrInvalidPrefix) {
				t.Errorf("New(%q) error = %v, want ErrInvalidPrefix", prefix, err)
			}
			if !tok.IsZero() {
				t.Errorf("New(%q) returned a token with an error", prefix)
			}
		})
	}
}

func TestSecretEncodingMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]byte{
		"zero":        make([]byte, 32),
		"one":         append(make([]byte, 31), 1),
		"all ones":    bytes.Repeat([]byte{0xff}, 32),
		"high bit":    append([]byte{0x80}, make([]byte, 31)...),
		"alternating": bytes.Repeat([]byte{0xaa, 0x55}, 16),
	}
	for i := range 20 {
		raw := make([]byte, 32)
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		cases["random "+string(rune('a'+i))] = raw
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			var a [secretBytes]byte
			copy(a[:], raw)
			head := string(appendSecret([]byte("acme_"), &a))
			got := string(appendChecksum([]byte(head), checksum(head)))
			if want := refToken(t, "acme", raw); got != want {
				t.Errorf("token = %q, reference %q", got, want)
			}
			assertShape(t, got, Valid)
		})
	}
}

func TestCheck(t *testing.T) {
	valid := refToken(t, "acme_live", bytes.Repeat([]byte{7}, 32))
	body := valid[len("acme_live_"):]
	rng := rand.New(rand.NewPCG(3, 4))
	randomASCII := make([]byte, 40)
	for i := range randomASCII {
		randomASCII[i] = byte('!' + rng.IntN('~'-'!'+1))
	}
	for _, tc := range []struct {
		name string
		s    string
		want Shape
	}{
		{"valid/known token", valid, Valid},
		{"valid/shortest prefix", refToken(t, "a", make([]byte, 32)), Valid},
		{"valid/prefix with trailing underscore", refToken(t, "a_", make([]byte, 32)), Valid},
		{"bad checksum/last char", valid[:len(valid)-1] + "x", BadChecksum},
		{"bad checksum/checksum all zero", valid[:len(valid)-ChecksumLen] + "000000", BadChecksum},
		{"bad checksum/checksum all z", valid[:len(valid)-ChecksumLen] + "zzzzzz", BadChecksum},
		{"bad checksum/other prefix", "acme_test_" + body, BadChecksum},
		{"malformed/empty", "", Malformed},
		{"malformed/space", " ", Malformed},
		{"malformed/too long", strings.Repeat("a", MaxLen+1), Malformed},
		{"malformed/trailing newline", valid + "\n", Malformed},
		{"malformed/leading tab", "\t" + valid, Malformed},
		{"malformed/inner space", "acme_live_ " + body, Malformed},
		{"malformed/NUL", valid[:10] + "\x00" + valid[11:], Malformed},
		{"malformed/DEL", "abc\x7f", Malformed},
		{"malformed/non-ASCII", "tök_" + body, Malformed},
		{"foreign/MaxLen characters", strings.Repeat("a", MaxLen), Foreign},
		{"foreign/sk_live_abc", "sk_live_abc", Foreign},
		{"foreign/40 random ASCII", string(randomASCII), Foreign},
		{"foreign/no underscore", body, Foreign},
		{"foreign/GitHub PAT", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", Foreign},
		{"foreign/JWT", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln", Foreign},
		{"foreign/upper-case prefix", "ACME_LIVE_" + body, Foreign},
		{"foreign/empty prefix", "_" + body, Foreign},
		{"foreign/prefix too long", strings.Repeat("a", MaxPrefixLen+1) + "_" + body, Foreign},
		{"foreign/body too short", valid[:len(valid)-1], Foreign},
		{"foreign/body too long", valid + "0", Foreign},
		{"foreign/non-base62 body", valid[:len(valid)-1] + "-", Foreign},
		{"foreign/trailing underscore", valid + "_", Foreign},
	} {
		t.Run(tc.name, func(t *testing.T) { assertShape(t, tc.s, tc.want) })
	}
}

// TestTyposNeverValid changes, deletes and swaps every character of a few
// tokens: CRC32 catches every single-character error, so none may be Valid.
func TestTyposNeverValid(t *testing.T) {
	var replacements []byte
	for c := byte(' '); c <= '~'; c++ {
		replacements = append(replacements, c)
	}
	replacements = append(replacements, 0, '\n', 0x80, 0xff)
	for _, prefix := range []string{"a", "acme_live", "lk_root_"} {
		t.Run(prefix, func(t *testing.T) {
			s := mustNew(t, prefix).Reveal()
			check := func(kind string, i int, m string) {
				t.Helper()
				got := Check(m)
				if got == Valid {
					t.Fatalf("%s at %d: Check(%q) = valid", kind, i, m)
				}
				if want := refCheck(t, m); got != want {
					t.Fatalf("%s at %d: Check(%q) = %v, reference %v", kind, i, m, got, want)
				}
				_, isDigit := digit(m[i])
				if kind == "change" && i > len(prefix) && isDigit && got != BadChecksum {
					t.Fatalf("base62 change at %d: Check(%q) = %v, want bad checksum", i, m, got)
				}
			}
			for i := range len(s) {
				for _, c := range replacements {
					if c != s[i] {
						check("change", i, s[:i]+string([]byte{c})+s[i+1:])
					}
				}
				check("delete", min(i, len(s)-2), s[:i]+s[i+1:])
				if i+1 < len(s) && s[i] != s[i+1] {
					check("swap", i, s[:i]+s[i+1:i+2]+s[i:i+1]+s[i+2:])
				}
			}
		})
	}
}

func TestSEC_AS12_TokenEntropyNoDuplicates(t *testing.T) {
	const n = 100_000
	seen := make(map[string]struct{}, n)
	var ones [8 * secretBytes]int // per bit position, over all secrets
	limit := new(big.Int).Lsh(big.NewInt(1), 8*secretBytes)
	for range n {
		tok := mustNew(t, "acme")
		_, secret, ok := split(tok.Reveal())
		if !ok {
			t.Fatalf("New returned %v-shaped token", Check(tok.Reveal()))
		}
		if _, dup := seen[secret]; dup {
			t.Fatalf("duplicate secret after %d tokens", len(seen))
		}
		seen[secret] = struct{}{}
		v := refDecode(secret)
		if v.Cmp(limit) >= 0 {
			t.Fatalf("secret %q decodes to more than 32 bytes", secret)
		}
		raw := v.FillBytes(make([]byte, secretBytes))
		for i := range ones {
			ones[i] += int(raw[i/8] >> (7 - i%8) & 1)
		}
	}
	// Each of the 256 bits must be set about half the time; 0.01 is over
	// six standard deviations at n = 100000.
	for i, c := range ones {
		if f := float64(c) / n; f < 0.49 || f > 0.51 {
			t.Errorf("secret bit %d set in %.4f of tokens, want about 0.5", i, f)
		}
	}
}

func TestCheckDoesNotAllocate(t *testing.T) {
	valid := mustNew(t, "acme_live").Reveal()
	for name, s := range map[string]string{
		"valid":        valid,
		"bad checksum": valid[:len(valid)-1] + "0",
		"foreign":      "sk_live_abc",
		"malformed":    valid + " ",
		"too long":     strings.Repeat("a", MaxLen+1),
	} {
		t.Run(name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { _ = Check(s) }); n != 0 {
				t.Errorf("Check allocates %v times", n)
			}
		})
	}
}

func TestShapeString(t *testing.T) {
	for s, want := range map[Shape]string{
		Malformed: "malformed", Foreign: "foreign", BadChecksum: "bad checksum",
		Valid: "valid", Shape(9): "apitoken.Shape(9)",
	} {
		if got := s.String(); got != want {
			t.Errorf("Shape(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	s := mustNew(b, "acme_live").Reveal()
	b.ReportAllocs()
	for b.Loop() {
		if Check(s) != Valid {
			b.Fatal("not valid")
		}
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mustNew(b, "acme_live")
	}
}
