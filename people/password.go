package people

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of password hashes.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultArgon2 are OWASP's recommended argon2id parameters (Password
// Storage Cheat Sheet: m=19 MiB, t=2, p=1).
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	hashLen = 32
	// MinPasswordLength is the shortest password accepted, in characters.
	MinPasswordLength = 12
	// MaxPasswordLength bounds a password in bytes (argon2 would take
	// anything; a megabyte-long "password" is an attack on the server).
	MaxPasswordLength = 1024
)

var b64 = base64.RawStdEncoding

// HashPassword returns the PHC string of password under p:
// $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>.
func HashPassword(password string, p Argon2Params) string {
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand, Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, hashLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

var errBadHash = errors.New("not an argon2id PHC string")

// parseHash splits a PHC string into its parameters, salt and key.
func parseHash(phc string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 1<<22 || p.Time > 64 {
		return p, nil, nil, errBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches the PHC string phc, in
// time independent of where they differ, and whether the hash should be
// recomputed because its parameters are not want.
func VerifyPassword(phc, password string, want Argon2Params) (ok, rehash bool, err error) {
	p, salt, key, err := parseHash(phc)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, ok && p != want, nil
}

//go:embed common-passwords.txt.gz
var commonGz []byte

var common = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic("people: embedded password list: " + err.Error())
	}
	m := make(map[string]struct{}, 30000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			m[w] = struct{}{}
		}
	}
	return m
})

// WeakPasswordError says why a password was refused. Its message is safe to
// show: it never repeats the password.
type WeakPasswordError struct{ Reason string }

func (e *WeakPasswordError) Error() string { return e.Reason }

// CheckPassword returns a *WeakPasswordError if password may not be used by
// user userID: shorter than MinPasswordLength characters, longer than
// MaxPasswordLength bytes, not valid UTF-8, made of one repeated character,
// containing the user ID, or one of the 30,000 most common passwords of
// public breach corpora (the list zxcvbn ships) — also with digits and
// symbols added before or after it ("Password1234!"), or repeated
// ("qwertyqwerty").
func CheckPassword(password, userID string) error {
	if !utf8.ValidString(password) {
		return &WeakPasswordError{"the password is not valid UTF-8"}
	}
	if len(password) > MaxPasswordLength {
		return &WeakPasswordError{fmt.Sprintf("the password is longer than %d bytes", MaxPasswordLength)}
	}
	if n := utf8.RuneCountInString(password); n < MinPasswordLength {
		return &WeakPasswordError{fmt.Sprintf("the password must be at least %d characters long (it has %d)", MinPasswordLength, n)}
	}
	lower := strings.ToLower(password)
	if r, _ := utf8.DecodeRuneInString(lower); strings.Trim(lower, string(r)) == "" {
		return &WeakPasswordError{"the password is one character repeated"}
	}
	if isSequence(lower) {
		return &WeakPasswordError{"the password is a run of consecutive characters (like 1234… or abcd…)"}
	}
	if id := strings.ToLower(userID); len(id) >= 3 && strings.Contains(lower, id) {
		return &WeakPasswordError{"the password must not contain the user ID"}
	}
	list := common()
	if _, hit := list[lower]; hit {
		return &WeakPasswordError{"this password is on a list of commonly used (breached) passwords"}
	}
	for p := 1; p <= len(lower)/2; p++ {
		if len(lower)%p == 0 && strings.Repeat(lower[:p], len(lower)/p) == lower {
			if _, hit := list[lower[:p]]; hit {
				return &WeakPasswordError{"the password is a commonly used password repeated"}
			}
		}
	}
	core := strings.TrimFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) })
	if _, hit := list[core]; hit && len(core) >= 4 {
		return &WeakPasswordError{"this password is a commonly used (breached) password with digits or symbols added"}
	}
	return nil
}

// isSequence reports whether s ascends or descends one character at a time
// ("123456789012", "abcdefghijkl", "987654321098"; digits wrap around).
func isSequence(s string) bool {
	rs := []rune(s)
	step := func(a, b rune) rune {
		if a == '9' && b == '0' {
			return 1
		}
		if a == '0' && b == '9' {
			return -1
		}
		return b - a
	}
	if len(rs) < 2 {
		return false
	}
	d := step(rs[0], rs[1])
	if d != 1 && d != -1 {
		return false
	}
	for i := 2; i < len(rs); i++ {
		if step(rs[i-1], rs[i]) != d {
			return false
		}
	}
	return true
}
