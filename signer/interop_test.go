package signer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwksPublicKeys decodes a JWKS by hand (not with go-jose), so that the
// interop test shares no code with the issuing side.
func jwksPublicKeys(t *testing.T, raw []byte) map[string]crypto.PublicKey {
	t.Helper()
	var set struct {
		Keys []struct {
			Kty, Crv, X, Y, N, E, Kid, Alg, Use string
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("JWKS member %q: %v", s, err)
		}
		return b
	}
	out := map[string]crypto.PublicKey{}
	for _, k := range set.Keys {
		switch k.Kty {
		case "OKP":
			out[k.Kid] = ed25519.PublicKey(dec(k.X))
		case "EC":
			// Uncompressed point: 0x04 || X || Y, each 32 bytes for P-256.
			x, y := dec(k.X), dec(k.Y)
			point := append(append([]byte{4}, make([]byte, 32-len(x))...), x...)
			point = append(append(point, make([]byte, 32-len(y))...), y...)
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
			if err != nil {
				t.Fatalf("EC key %s: %v", k.Kid, err)
			}
			out[k.Kid] = pub
		case "RSA":
			out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(dec(k.N)), E: int(new(big.Int).SetBytes(dec(k.E)).Int64())}
		default:
			t.Fatalf("unexpected kty %q", k.Kty)
		}
	}
	return out
}

func TestInterop_GolangJWT(t *testing.T) {
	for _, alg := range []string{EdDSA, ES256, RS256} {
		t.Run(alg, func(t *testing.T) {
			r := mustRing(t, testKey(t, alg, t0))
			claims := validClaims(t0)
			claims.Audience = []string{"other", testAudience}
			claims.ConfirmationJKT = "jkt-1"
			tok := mustIssue(t, r, claims, t0)
			jwks, err := r.JWKS(t0)
			if err != nil {
				t.Fatal(err)
			}
			keys := jwksPublicKeys(t, jwks)

			parser := jwt.NewParser(
				jwt.WithValidMethods([]string{alg}),
				jwt.WithIssuer(testIssuer),
				jwt.WithAudience(testAudience),
				jwt.WithExpirationRequired(),
				jwt.WithIssuedAt(),
				jwt.WithLeeway(30*time.Second),
				jwt.WithTimeFunc(func() time.Time { return t0.Add(time.Minute) }),
			)
			var got jwt.MapClaims
			parsed, err := parser.ParseWithClaims(tok, &got, func(tk *jwt.Token) (any, error) {
				kid, _ := tk.Header["kid"].(string)
				return keys[kid], nil
			})
			if err != nil || !parsed.Valid {
				t.Fatalf("golang-jwt rejected a latchkey token: %v", err)
			}
			if parsed.Header["typ"] != TokenType || len(parsed.Header) != 3 {
				t.Fatalf("header = %v, want exactly alg, kid, typ at+jwt", parsed.Header)
			}
			if got["sub"] != "principal-1" || got["scope"] != "read write" || got["client_id"] != "cli" ||
				got["key_id"] != "key-1" || got["cnf"].(map[string]any)["jkt"] != "jkt-1" {
				t.Fatalf("claims = %v", got)
			}
			if jti, _ := got["jti"].(string); len(jti) != 22 { // 16 bytes, base64url
				t.Fatalf("jti = %q, want 128 random bits", jti)
			}
			if _, err := parser.ParseWithClaims(flipSignature(t, tok), &jwt.MapClaims{}, func(*jwt.Token) (any, error) {
				return keys[r.mustSigningID(t)], nil
			}); err == nil {
				t.Fatal("golang-jwt accepted a tampered token")
			}
		})
	}
}

func (r *Ring) mustSigningID(t *testing.T) string {
	t.Helper()
	k, err := r.Signing(t0)
	if err != nil {
		t.Fatal(err)
	}
	return k.ID
}

// flipSignature returns tok with one bit of its signature flipped.
func flipSignature(t *testing.T, tok string) string {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 1
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}
