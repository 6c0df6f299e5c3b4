package people

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// TestADM01_RFC6238Vectors checks the TOTP computation against RFC 6238
// Appendix B (SHA-1, SHA-256 and SHA-512, each with its own seed) and the
// HOTP one under it against RFC 4226 Appendix D.
func TestADM01_RFC6238Vectors(t *testing.T) {
	seeds := map[otp.Algorithm]string{
		otp.AlgorithmSHA1:   "12345678901234567890",
		otp.AlgorithmSHA256: "12345678901234567890123456789012",
		otp.AlgorithmSHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		t                    int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		for alg, want := range map[otp.Algorithm]string{otp.AlgorithmSHA1: v.sha1, otp.AlgorithmSHA256: v.sha256, otp.AlgorithmSHA512: v.sha512} {
			got, err := totpCode(b32.EncodeToString([]byte(seeds[alg])), time.Unix(v.t, 0).UTC(), otp.DigitsEight, alg)
			if err != nil || got != want {
				t.Errorf("T=%d %v: got %q, %v; want %q", v.t, alg, got, err, want)
			}
		}
	}
	hotpWant := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for i, want := range hotpWant {
		got, err := hotp.GenerateCodeCustom(b32.EncodeToString([]byte(seeds[otp.AlgorithmSHA1])), uint64(i), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil || got != want {
			t.Errorf("HOTP counter %d: got %q, %v; want %q", i, got, err, want)
		}
	}
}

// TestADM02_CodeNormalisation: spaces and full-width digits fold to the
// code; anything else that is not exactly six digits is refused before any
// reuse check (Vault CVE-2025-6015, OpenBao GHSA-f7c3-mhj2-9pvg).
func TestADM02_CodeNormalisation(t *testing.T) {
	ok := map[string]string{"123456": "123456", " 123 456 ": "123456", "１２３４５６": "123456", "123-456": "123456", "１２３ ４５６": "123456"}
	for in, want := range ok {
		if got, err := normalizeCode(in); err != nil || got != want {
			t.Errorf("normalizeCode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "+123456", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123456\x00", "-123456-7", "12345６7"} {
		if got, err := normalizeCode(in); err == nil {
			t.Errorf("normalizeCode(%q) = %q, want an error", in, got)
		}
	}
}

func TestMatchTOTPWindow(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1_700_000_000, 0)
	step := now.Unix() / TOTPPeriod
	for d := int64(-3); d <= 3; d++ {
		code, _ := totpCode(secret, time.Unix((step+d)*TOTPPeriod, 0), otp.DigitsSix, otp.AlgorithmSHA1)
		got := matchTOTP(secret, code, now)
		want := step + d
		if d < -TOTPSkew || d > TOTPSkew {
			want = -1
		}
		if got != want {
			t.Errorf("step %+d: matchTOTP = %d, want %d", d, got, want)
		}
	}
}

// TestADM03_CanonicalUsername: one throttle counter for every spelling.
func TestADM03_CanonicalUsername(t *testing.T) {
	for _, in := range []string{"admin", "Admin", " admin", "admin ", "admin\u200b", "\u200dADMIN", "ａｄｍｉｎ", "ad\u00admin", "admin\t", "Admin\ufeff"} {
		if got := CanonicalUsername(in); got != "admin" {
			t.Errorf("CanonicalUsername(%q) = %q, want admin", in, got)
		}
	}
	if CanonicalUsername("admin2") == "admin" {
		t.Error("admin2 folds into admin")
	}
}

func TestPasswordHash(t *testing.T) {
	p := Argon2Params{Memory: 1024, Time: 1, Threads: 1}
	h := HashPassword("correct horse battery staple", p)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if strings.Contains(h, "horse") {
		t.Fatal("hash contains the password")
	}
	if ok, rehash, err := VerifyPassword(h, "correct horse battery staple", p); !ok || rehash || err != nil {
		t.Fatalf("verify: %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := VerifyPassword(h, "correct horse battery stapl", p); ok {
		t.Fatal("a wrong password verified")
	}
	if ok, rehash, _ := VerifyPassword(h, "correct horse battery staple", DefaultArgon2); !ok || !rehash {
		t.Fatalf("changed parameters: ok=%v rehash=%v, want both", ok, rehash)
	}
	if h2 := HashPassword("correct horse battery staple", p); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=1024,t=1,p=1$$"} {
		if ok, _, err := VerifyPassword(bad, "x", p); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	weak := map[string]string{
		"short1!":                   "at least 12",
		"password1234":              "commonly used",
		"Password1234!":             "commonly used",
		"qwertyqwerty":              "commonly used",
		"aaaaaaaaaaaaaaaa":          "repeated",
		"alice-is-the-best-2026":    "user ID",
		"1234567890123":             "consecutive",
		strings.Repeat("x", 2000):   "longer than",
		"iloveyou" + "iloveyou":     "commonly used",
		"\xff\xfe not utf-8 at all": "UTF-8",
	}
	for pw, want := range weak {
		err := CheckPassword(pw, "alice")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPassword(%.20q) = %v, want an error about %q", pw, err, want)
		}
		if err != nil && len(pw) >= 6 && strings.Contains(err.Error(), pw) {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
	for _, pw := range []string{"correct horse battery staple", "tR7#mQ9!vL2@pX", "Zwölf Äpfel am Baum"} {
		if err := CheckPassword(pw, "alice"); err != nil {
			t.Errorf("CheckPassword(%q) = %v, want nil", pw, err)
		}
	}
}

func TestRecoveryCodeShape(t *testing.T) {
	for _, s := range []string{"abcde-fghjk", "ABCDE FGHJK", "abcdefghjk"} {
		if !looksLikeRecoveryCode(s) {
			t.Errorf("%q does not look like a recovery code", s)
		}
	}
	for _, s := range []string{"123456", "abcde-fghj", "abcde-fghj0", ""} {
		if looksLikeRecoveryCode(s) {
			t.Errorf("%q looks like a recovery code", s)
		}
	}
}

func TestLockFor(t *testing.T) {
	now := time.Unix(0, 0)
	if !lockFor(now, 5, 5).IsZero() {
		t.Fatal("locked within the free allowance")
	}
	if got := lockFor(now, 6, 5).Sub(now); got != time.Second {
		t.Fatalf("first lock %v, want 1s", got)
	}
	if got := lockFor(now, 9, 5).Sub(now); got != 8*time.Second {
		t.Fatalf("fourth lock %v, want 8s (doubling)", got)
	}
	if got := lockFor(now, 500, 5).Sub(now); got != maxLock {
		t.Fatalf("lock %v, want the cap %v", got, maxLock)
	}
}
