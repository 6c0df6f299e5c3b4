package signer

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the size of the master key: an AES-256 key.
const MasterKeySize = 32

// ParseMasterKey decodes a master key written as 64 hexadecimal digits or
// as standard or URL-safe base64 (padded or not) of 32 bytes. The error
// never repeats the input.
func ParseMasterKey(s string) ([MasterKeySize]byte, error) {
	var k [MasterKeySize]byte
	s = strings.TrimSpace(s)
	var b []byte
	var err error
	switch {
	case len(s) == 2*MasterKeySize:
		b, err = hex.DecodeString(s)
	default:
		enc := base64.StdEncoding
		if strings.ContainsAny(s, "-_") {
			enc = base64.URLEncoding
		}
		if !strings.HasSuffix(s, "=") {
			enc = enc.WithPadding(base64.NoPadding)
		}
		b, err = enc.DecodeString(s)
	}
	if err != nil || len(b) != MasterKeySize {
		return k, errors.New("master key must be 32 bytes written as 64 hex digits or base64")
	}
	copy(k[:], b)
	return k, nil
}

// NewMasterKey returns a random master key.
func NewMasterKey() [MasterKeySize]byte {
	var k [MasterKeySize]byte
	rand.Read(k[:]) // never fails (crypto/rand, Go 1.24+)
	return k
}

// EncodeMasterKey writes k as base64, the form ParseMasterKey reads.
func EncodeMasterKey(k [MasterKeySize]byte) string {
	return base64.StdEncoding.EncodeToString(k[:])
}

// LoadOrCreateMasterKey reads the master key at path, or creates one there
// (mode 0600, written and synced before it is used) when the file does not
// exist. created reports the latter, so the caller can warn loudly that the
// file must be backed up.
func LoadOrCreateMasterKey(path string) (k [MasterKeySize]byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err = ParseMasterKey(string(b))
		if err != nil {
			return k, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return k, false, fmt.Errorf("read master key: %w", err)
	}
	k = NewMasterKey()
	if err := writeFileSync(path, []byte(EncodeMasterKey(k)+"\n")); err != nil {
		return k, false, fmt.Errorf("write master key: %w", err)
	}
	return k, true, nil
}

// writeFileSync creates path exclusively with mode 0600 and syncs the file
// and its directory, so a crash never leaves keys sealed with a master key
// that was not written.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
