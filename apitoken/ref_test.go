package apitoken

import (
	"hash/crc32"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// A slow, obviously-correct reference implementation of the format, written
// independently of the production code (math/big, regexp, crc32.ChecksumIEEE)
// for the tests and fuzzers to compare against. math/big's own base 62 puts
// lower case before upper case, so it cannot be used directly.

const refAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var (
	refPrintable = regexp.MustCompile(`^[\x21-\x7e]+$`)
	refFormat    = regexp.MustCompile(`^([a-z][a-z0-9_]{0,31})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})$`)
)

// refEncode writes n as exactly width base62 digits.
func refEncode(t testing.TB, n *big.Int, width int) string {
	t.Helper()
	n = new(big.Int).Set(n)
	base, rem := big.NewInt(62), new(big.Int)
	out := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, rem)
		out[i] = refAlphabet[rem.Int64()]
	}
	if n.Sign() != 0 {
		t.Fatalf("refEncode: number does not fit in %d digits", width)
	}
	return string(out)
}

// refDecode reads base62 digits.
func refDecode(s string) *big.Int {
	n, base := new(big.Int), big.NewInt(62)
	for i := 0; i < len(s); i++ {
		n.Mul(n, base)
		n.Add(n, big.NewInt(int64(strings.IndexByte(refAlphabet, s[i]))))
	}
	return n
}

// refChecksum is the checksum digits for "<prefix>_<secret>".
func refChecksum(t testing.TB, head string) string {
	t.Helper()
	return refEncode(t, big.NewInt(int64(crc32.ChecksumIEEE([]byte(head)))), ChecksumLen)
}

// refToken builds a token from a prefix and the 32 secret bytes.
func refToken(t testing.TB, prefix string, raw []byte) string {
	t.Helper()
	head := prefix + "_" + refEncode(t, new(big.Int).SetBytes(raw), SecretLen)
	return head + refChecksum(t, head)
}

// refCheck is Check the slow way.
func refCheck(t testing.TB, s string) Shape {
	t.Helper()
	if len(s) == 0 || len(s) > MaxLen || !refPrintable.MatchString(s) {
		return Malformed
	}
	m := refFormat.FindStringSubmatch(s)
	if m == nil {
		return Foreign
	}
	if m[3] != refChecksum(t, m[1]+"_"+m[2]) {
		return BadChecksum
	}
	return Valid
}

func FuzzCheck(f *testing.F) {
	zero, ones := make([]byte, 32), []byte(strings.Repeat("\xff", 32))
	valid := refToken(f, "acme_live", ones)
	for _, seed := range []string{
		"", " ", "a", "_", "a_", "_a",
		valid,
		refToken(f, "a", zero),
		refToken(f, "lk_", []byte("0123456789abcdef0123456789abcdef")),
		valid[:len(valid)-1] + "A",
		strings.ToUpper(valid),
		valid + "\n",
		"sk_live_abc",
		"ghp_16C7e42F292c6912E7710c838347Ae178B4a",
		"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln",
		strings.Repeat("a", MaxLen),
		strings.Repeat("a", MaxLen+1),
		"acme_" + strings.Repeat("z", SecretLen+ChecksumLen),
		"tök_" + strings.Repeat("0", SecretLen+ChecksumLen),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Check(s)
		if want := refCheck(t, s); got != want {
			t.Fatalf("Check(%q) = %v, reference says %v", s, got, want)
		}
		if got == Valid {
			head := s[:len(s)-ChecksumLen]
			if sum := string(appendChecksum(nil, crc32.ChecksumIEEE([]byte(head)))); sum != s[len(head):] {
				t.Fatalf("Check(%q) = valid, but recomputed checksum is %q", s, sum)
			}
		}
		tok := FromString(s)
		start := tok.Start()
		if !strings.HasPrefix(s, start) {
			t.Fatalf("Start() = %q is not a prefix of %q", start, s)
		}
		if p := tok.Prefix(); p != "" && len(start) != len(p)+1+4 {
			t.Fatalf("Start() = %q shows more than prefix %q and 4 characters", start, p)
		}
		if tok.Prefix() == "" && len(start) > 4 {
			t.Fatalf("Start() = %q shows more than 4 characters of a foreign token", start)
		}
	})
}
