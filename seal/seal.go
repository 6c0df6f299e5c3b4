// Package seal encrypts small secrets at rest (AES-256-GCM) with the master
// key, binding each one to a context (for example the ID of the key it
// belongs to) so that a sealed value copied to another record does not
// open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

const magic = "LKS1"

// ErrOpen is returned when a sealed value does not open: the master key is
// wrong, the value was altered, or it belongs to another context.
var ErrOpen = errors.New("seal: cannot open sealed value")

// Box seals and opens with one master key. The zero Box is unusable.
type Box struct{ aead cipher.AEAD }

// New returns a Box for the 32-byte master key.
func New(masterKey [32]byte) (*Box, error) {
	block, err := aes.NewCipher(masterKey[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain for context: "LKS1" | nonce | ciphertext+tag, with
// context as associated data.
func (b *Box) Seal(plain []byte, context string) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand, Go 1.24+)
	out := append([]byte(magic), nonce...)
	return b.aead.Seal(out, nonce, plain, []byte(context)), nil
}

// Open decrypts a value Seal produced for the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	n := len(magic) + b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() || string(sealed[:len(magic)]) != magic {
		return nil, ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[len(magic):n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
