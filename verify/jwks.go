package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
)

// maxJWKSSize bounds the JWKS document read from the issuer.
const maxJWKSSize = 1 << 20

// minRSABits is the smallest RSA modulus accepted from a JWKS.
const minRSABits = 2048

// privateMembers are the JWK members that only private or symmetric keys
// carry (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// fetchJWKS downloads the key set at url and returns its usable public
// keys by kid.
func fetchJWKS(ctx context.Context, hc *http.Client, url string) (map[string]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: %s answered %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("jwks: read: %w", err)
	}
	if len(body) > maxJWKSSize {
		return nil, errors.New("jwks: document too large")
	}
	return parseJWKS(body)
}

// parseJWKS returns the keys of a JWKS document that are usable for
// verification: public asymmetric keys with a kid and an alg that suits
// the key. Keys carrying private members, symmetric keys, keys with use
// other than "sig", duplicated kids and keys go-jose cannot parse are
// dropped, so one bad key does not disable the others.
func parseJWKS(body []byte) (map[string]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	keys := make(map[string]jose.JSONWebKey, len(doc.Keys))
	dup := make(map[string]bool)
	for _, raw := range doc.Keys {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			continue
		}
		if hasPrivate(members) {
			continue
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if k.KeyID == "" || !k.IsPublic() || (k.Use != "" && k.Use != "sig") || !keyFitsAlg(k.Key, k.Algorithm) {
			continue
		}
		if _, ok := keys[k.KeyID]; ok || dup[k.KeyID] {
			// An ambiguous kid is trusted for neither key.
			delete(keys, k.KeyID)
			dup[k.KeyID] = true
			continue
		}
		keys[k.KeyID] = k
	}
	return keys, nil
}

func hasPrivate(members map[string]json.RawMessage) bool {
	for _, m := range privateMembers {
		if _, ok := members[m]; ok {
			return true
		}
	}
	return false
}

// keyFitsAlg reports whether the public key can verify signatures of alg:
// the key↔algorithm binding that stops an attacker from choosing how a
// key is used.
func keyFitsAlg(key any, alg string) bool {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return alg == string(jose.EdDSA) && len(k) == ed25519.PublicKeySize
	case *ecdsa.PublicKey:
		switch alg {
		case string(jose.ES256):
			return k.Curve == elliptic.P256()
		case string(jose.ES384):
			return k.Curve == elliptic.P384()
		case string(jose.ES512):
			return k.Curve == elliptic.P521()
		}
	case *rsa.PublicKey:
		switch alg {
		case string(jose.RS256), string(jose.RS384), string(jose.RS512),
			string(jose.PS256), string(jose.PS384), string(jose.PS512):
			return k.N.BitLen() >= minRSABits && k.E > 1
		}
	}
	return false
}
