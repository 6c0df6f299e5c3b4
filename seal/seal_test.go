package seal

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New([32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("lkss_secret-value")
	s, err := b.Seal(plain, "key_1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(s, plain) {
		t.Fatal("sealed value contains the plaintext")
	}
	if got, err := b.Open(s, "key_1"); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open: %q %v", got, err)
	}
	s2, _ := b.Seal(plain, "key_1")
	if bytes.Equal(s, s2) {
		t.Error("two seals of one value are equal: nonce reused")
	}
	other, _ := New([32]byte{2})
	flipped := append([]byte(nil), s...)
	flipped[len(flipped)-1] ^= 1
	for name, f := range map[string]func() ([]byte, error){
		"other context":    func() ([]byte, error) { return b.Open(s, "key_2") },
		"other master key": func() ([]byte, error) { return other.Open(s, "key_1") },
		"altered":          func() ([]byte, error) { return b.Open(flipped, "key_1") },
		"truncated":        func() ([]byte, error) { return b.Open(s[:10], "key_1") },
		"empty":            func() ([]byte, error) { return b.Open(nil, "key_1") },
	} {
		if _, err := f(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: %v, want ErrOpen", name, err)
		}
	}
}
