package signer

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestGenerate(t *testing.T) {
	for _, alg := range []string{"", EdDSA, ES256, RS256} {
		t.Run("alg "+alg, func(t *testing.T) {
			k := testKey(t, alg, t0)
			want := alg
			if want == "" {
				want = EdDSA
			}
			if k.Alg != want {
				t.Fatalf("Alg = %s, want %s", k.Alg, want)
			}
			kid, err := Thumbprint(k.Private.Public())
			if err != nil || kid != k.ID {
				t.Fatalf("kid = %s, thumbprint = %s (%v)", k.ID, kid, err)
			}
			if err := ValidateImported(k); err != nil {
				t.Fatal(err)
			}
			if alg == RS256 && k.Private.(*rsa.PrivateKey).N.BitLen() < 2048 {
				t.Fatal("RSA key below 2048 bits")
			}
		})
	}
	t.Run("schedule", func(t *testing.T) {
		k := freshKey(t, "", t0)
		if !k.NotBefore.Equal(t0.Add(JWKSCacheTTL)) || !k.SignUntil.After(k.NotBefore) ||
			k.RetireAt.Sub(k.SignUntil) < MaxTokenTTL+DefaultLeeway {
			t.Fatalf("schedule %v / %v / %v", k.NotBefore, k.SignUntil, k.RetireAt)
		}
	})
}

func TestSealOpen(t *testing.T) {
	var mk [32]byte
	copy(mk[:], "0123456789abcdef0123456789abcdef")
	for _, alg := range []string{EdDSA, ES256, RS256} {
		k := testKey(t, alg, t0)
		t.Run("round trip/"+alg, func(t *testing.T) {
			sealed, err := Seal(mk, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Open(mk, sealed)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != k.ID || got.Alg != k.Alg || !got.NotBefore.Equal(k.NotBefore) ||
				!got.SignUntil.Equal(k.SignUntil) || !got.RetireAt.Equal(k.RetireAt) {
				t.Fatalf("metadata differs: %+v", got)
			}
			type equaler interface {
				Equal(x crypto.PrivateKey) bool
			}
			if !got.Private.(equaler).Equal(k.Private) {
				t.Fatal("private key differs")
			}
			again, _ := Seal(mk, k)
			if bytes.Equal(again, sealed) {
				t.Fatal("two seals are identical: nonce not random")
			}
		})
	}
	k := testKey(t, EdDSA, t0)
	sealed, err := Seal(mk, k)
	if err != nil {
		t.Fatal(err)
	}
	seed := k.Private.(ed25519.PrivateKey).Seed()
	if bytes.Contains(sealed, seed) || bytes.Contains(sealed, []byte(base64.StdEncoding.EncodeToString(seed))) {
		t.Fatal("sealed blob holds the key in clear")
	}
	wrong := mk
	wrong[0] ^= 1
	cases := map[string]func() ([]byte, [32]byte){
		"wrong master key": func() ([]byte, [32]byte) { return sealed, wrong },
		"empty":            func() ([]byte, [32]byte) { return nil, mk },
		"truncated":        func() ([]byte, [32]byte) { return sealed[:len(sealed)-1], mk },
		"bad magic":        func() ([]byte, [32]byte) { return append([]byte("X"), sealed[1:]...), mk },
		"kid length overflow": func() ([]byte, [32]byte) {
			b := bytes.Clone(sealed)
			b[len(sealMagic)], b[len(sealMagic)+1] = 0xff, 0xff
			return b, mk
		},
	}
	for i := range sealed {
		cases["flipped byte "+strings.Repeat("0", 3-len(itoa(i)))+itoa(i)] = func() ([]byte, [32]byte) {
			b := bytes.Clone(sealed)
			b[i] ^= 0x80
			return b, mk
		}
	}
	for name, mkCase := range cases {
		t.Run("error/"+name, func(t *testing.T) {
			b, key := mkCase()
			if _, err := Open(key, b); !errors.Is(err, ErrSealed) {
				t.Fatalf("Open = %v, want ErrSealed", err)
			}
		})
	}
	t.Run("kid swap is detected (kid is additional data)", func(t *testing.T) {
		other := *k
		other.ID = strings.Repeat("Z", len(k.ID))
		b := bytes.Clone(sealed)
		copy(b[len(sealMagic)+2:], other.ID)
		if _, err := Open(mk, b); !errors.Is(err, ErrSealed) {
			t.Fatalf("Open = %v, want ErrSealed", err)
		}
	})
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestRingSigning(t *testing.T) {
	a := testKey(t, EdDSA, t0)
	b := freshKey(t, ES256, t0)
	b.NotBefore, b.SignUntil, b.RetireAt = t0.Add(time.Minute), t0.Add(2*time.Hour), t0.Add(4*time.Hour)
	r := mustRing(t, a, b)
	cases := []struct {
		name string
		at   time.Time
		want string
		err  bool
	}{
		{"before any key", t0.Add(-2 * time.Hour), "", true},
		{"only the old key", t0, a.ID, false},
		{"newest wins", t0.Add(time.Minute), b.ID, false},
		{"old key stopped", t0.Add(90 * time.Minute), b.ID, false},
		{"all stopped", t0.Add(2 * time.Hour), "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := r.Signing(tc.at)
			if tc.err {
				if !errors.Is(err, ErrNoSigningKey) {
					t.Fatalf("err = %v, want ErrNoSigningKey", err)
				}
				if _, err := Issue(r, validClaims(tc.at), tc.at); err == nil {
					t.Fatal("Issue succeeded without a signing key")
				}
				return
			}
			if err != nil || k.ID != tc.want {
				t.Fatalf("Signing = %v, %v; want %s", k, err, tc.want)
			}
		})
	}
	t.Run("remove", func(t *testing.T) {
		r := mustRing(t, a)
		r.Remove(a.ID)
		if _, err := r.Signing(t0); err == nil {
			t.Fatal("removed key still signs")
		}
	})
}

func TestJWKSShape(t *testing.T) {
	r := mustRing(t, testKey(t, EdDSA, t0), testKey(t, ES256, t0), testKey(t, RS256, t0))
	assertPublicJWKS(t, r, t0)
	b, _ := r.JWKS(t0)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"OKP": {"crv", "x"}, "EC": {"crv", "x", "y"}, "RSA": {"n", "e"}}
	if len(set.Keys) != 3 {
		t.Fatalf("%d keys, want 3", len(set.Keys))
	}
	for _, k := range set.Keys {
		for _, m := range want[k["kty"]] {
			if k[m] == "" {
				t.Errorf("%s key lacks %s", k["kty"], m)
			}
		}
	}
	if b, _ := r.JWKS(t0.Add(24 * time.Hour)); !bytes.Equal(b, []byte(`{"keys":[]}`)) {
		t.Fatalf("JWKS after retirement = %s", b)
	}
}
