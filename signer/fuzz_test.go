package signer

import (
	"strings"
	"testing"
)

func FuzzVerify(f *testing.F) {
	k := testKey(f, EdDSA, t0)
	r := mustRing(f, k)
	v := testVerifier(r, t0)
	good := mustIssue(f, r, validClaims(t0), t0)
	parts := strings.Split(good, ".")
	seeds := []string{
		good,
		"",
		".",
		"..",
		"...",
		good + ".",
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		"." + parts[1] + "." + parts[2],
		b64(`{"alg":"none"}`) + "." + parts[1] + ".",
		b64(`{"alg":"EdDSA","alg":"none","kid":"`+k.ID+`","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"../../etc/passwd","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"`+k.ID+`","typ":"at+jwt","jku":"http://x"}`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"HS256","kid":"`+k.ID+`","typ":"at+jwt"}`) + "." + parts[1] + "." + parts[2],
		b64(`[]`) + "." + parts[1] + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"`+k.ID+`","typ":"at+jwt"}`) + "." + b64(`{"exp":"x"}`) + "." + parts[2],
		b64(`{"alg":"EdDSA","kid":"`+k.ID+`","typ":"at+jwt"}`) + "." + b64(strings.Repeat("[", 100)) + "." + parts[2],
		good + "==",
		strings.ReplaceAll(good, "-", "+"),
		"eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA",
		`{"payload":"` + parts[1] + `","signatures":[]}`,
		strings.Repeat(".", 9000),
		"\xff\xfe.\x00.\x80",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(tok)
		if (c == nil) == (err == nil) {
			t.Fatalf("Verify returned claims %v and error %v", c, err)
		}
		if err == nil && tok != good {
			// Any other accepted token would be a forgery of our key.
			t.Fatalf("Verify accepted a token that was not issued: %q", tok)
		}
	})
}
