package signer

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// sealMagic starts every sealed key; it versions the format.
const sealMagic = "LKSK1"

// ErrSealed is matched (errors.Is) by every error Open returns for a sealed
// blob that is malformed, tampered with, or sealed under another master key.
var ErrSealed = errors.New("signer: cannot open sealed key")

type sealedKey struct {
	Alg       string    `json:"alg"`
	PKCS8     []byte    `json:"pkcs8"`
	NotBefore time.Time `json:"nbf"`
	SignUntil time.Time `json:"sign_until"`
	RetireAt  time.Time `json:"retire_at"`
}

// Seal encrypts k for storage: AES-256-GCM under masterKey with a random
// nonce, over a JSON document holding the PKCS #8 private key, with the kid
// authenticated as additional data. Layout:
// "LKSK1" | uint16 len(kid) | kid | nonce | ciphertext.
func Seal(masterKey [32]byte, k *Key) ([]byte, error) {
	if err := ValidateImported(k); err != nil {
		return nil, err
	}
	if len(k.ID) > 0xffff {
		return nil, errors.New("signer: seal: kid too long")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("signer: seal: %w", err)
	}
	plain, err := json.Marshal(sealedKey{Alg: k.Alg, PKCS8: der, NotBefore: k.NotBefore, SignUntil: k.SignUntil, RetireAt: k.RetireAt})
	if err != nil {
		return nil, fmt.Errorf("signer: seal: %w", err)
	}
	aead, err := newAEAD(masterKey)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 0, len(sealMagic)+2+len(k.ID))
	head = append(head, sealMagic...)
	head = binary.BigEndian.AppendUint16(head, uint16(len(k.ID)))
	head = append(head, k.ID...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("signer: seal: %w", err)
	}
	out := append(head[:len(head):len(head)], nonce...)
	return aead.Seal(out, nonce, plain, head), nil
}

// Open decrypts a key sealed by Seal and validates it with ValidateImported.
// A wrong master key or any modified byte yields an error matching ErrSealed.
func Open(masterKey [32]byte, sealed []byte) (*Key, error) {
	aead, err := newAEAD(masterKey)
	if err != nil {
		return nil, err
	}
	rest, ok := cutPrefix(sealed, sealMagic)
	if !ok || len(rest) < 2 {
		return nil, ErrSealed
	}
	n := int(binary.BigEndian.Uint16(rest))
	rest = rest[2:]
	if len(rest) < n+aead.NonceSize()+aead.Overhead() {
		return nil, ErrSealed
	}
	kid := string(rest[:n])
	head := sealed[:len(sealMagic)+2+n]
	rest = rest[n:]
	nonce, ct := rest[:aead.NonceSize()], rest[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, ct, head)
	if err != nil {
		return nil, ErrSealed
	}
	var sk sealedKey
	if err := json.Unmarshal(plain, &sk); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(sk.PKCS8)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	k := &Key{ID: kid, Alg: sk.Alg, NotBefore: sk.NotBefore, SignUntil: sk.SignUntil, RetireAt: sk.RetireAt}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: unsupported key type", ErrSealed)
	}
	k.Private = signer
	if err := ValidateImported(k); err != nil {
		return nil, err
	}
	return k, nil
}

func newAEAD(masterKey [32]byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(masterKey[:])
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return aead, nil
}

func cutPrefix(b []byte, prefix string) ([]byte, bool) {
	if len(b) < len(prefix) || string(b[:len(prefix)]) != prefix {
		return nil, false
	}
	return b[len(prefix):], true
}
