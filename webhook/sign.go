package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every webhook signing secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// Secret is a webhook signing secret, "whsec_" and the base64 of 32
// random bytes. It never prints itself.
type Secret struct{ s string }

// NewSecret returns a new random secret.
func NewSecret() Secret {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return Secret{SecretPrefix + base64.StdEncoding.EncodeToString(b[:])}
}

// Reveal returns the secret itself, to show it once.
func (s Secret) Reveal() string { return s.s }

// String hides the secret.
func (s Secret) String() string { return SecretPrefix + "…" }

// Key returns the HMAC key: the base64 part, decoded.
func (s Secret) Key() ([]byte, error) { return SecretKey(s.s) }

// SecretKey decodes the HMAC key of a "whsec_…" secret.
func SecretKey(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(k) == 0 {
		return nil, errors.New("webhook secret is not whsec_ and base64")
	}
	return k, nil
}

// Signature returns one Standard Webhooks signature, "v1," and the base64
// of HMAC-SHA256(key, id "." timestamp "." body).
func Signature(key []byte, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignatureHeader returns the webhook-signature header: one signature per
// key, separated by spaces (during a rotation's grace both secrets sign).
func SignatureHeader(keys [][]byte, id string, ts time.Time, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Signature(k, id, ts, body)
	}
	return strings.Join(sigs, " ")
}
