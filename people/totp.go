package people

import (
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/text/unicode/norm"
)

// TOTP parameters (SPEC §3.5): RFC 6238, 6 digits, 30 s steps, SHA-1 (the
// only algorithm every authenticator app implements), ±1 step of skew.
const (
	TOTPDigits = 6
	TOTPPeriod = 30
	TOTPSkew   = 1
)

// newTOTPKey generates a TOTP seed (160 bits) for account at issuer.
func newTOTPKey(issuer, account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: TOTPPeriod, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
}

// totpCode returns the code of secret (base32) at t.
func totpCode(secret string, t time.Time, digits otp.Digits, alg otp.Algorithm) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: TOTPPeriod, Digits: digits, Algorithm: alg})
}

// errCodeFormat: a code that is not 6 digits after normalisation.
var errCodeFormat = errors.New("a code is 6 digits")

// normalizeCode folds what a person may type around a 6-digit code —
// spaces, dashes, full-width digits (NFKC) — and returns the code, or
// errCodeFormat if what is left is not exactly TOTPDigits ASCII digits.
// The format is checked before any reuse check, so a variant of a used
// code ("+123456", "１２３４５６") is never a second chance.
func normalizeCode(s string) (string, error) {
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if len(s) != TOTPDigits {
		return "", errCodeFormat
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", errCodeFormat
		}
	}
	return s, nil
}

// matchTOTP returns the time step within ±TOTPSkew of now at which code is
// secret's code, comparing in constant time, or -1.
func matchTOTP(secret, code string, now time.Time) int64 {
	step := now.Unix() / TOTPPeriod
	found := int64(-1)
	for d := int64(-TOTPSkew); d <= TOTPSkew; d++ {
		s := step + d
		want, err := totpCode(secret, time.Unix(s*TOTPPeriod, 0), otp.DigitsSix, otp.AlgorithmSHA1)
		if err != nil {
			return -1
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found < 0 {
			found = s
		}
	}
	return found
}
