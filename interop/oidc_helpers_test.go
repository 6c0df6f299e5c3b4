package interop_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// OpenID Connect: alice's profile as the ID token and userinfo must tell
// it (name from the user, the rest from the user's metadata).
const (
	aliceName  = "Alice Smith"
	aliceEmail = "alice@example.com"
)

// setAliceProfile gives alice her name, email (verified) and
// preferred_username over the API.
func (l *latchkey) setAliceProfile(t *testing.T) {
	t.Helper()
	l.root(t, http.MethodPatch, "/v1/users/"+alice, `{"name":"`+aliceName+`","email":"`+aliceEmail+
		`","email_verified":true,"preferred_username":"`+alice+`"}`, http.StatusOK)
}

// atHash is OIDC Core §3.1.3.6's at_hash of accessToken for an ID token
// signed with alg: the left half of the hash its alg names, base64url;
// EdDSA's is SHA-512 (as OpenID's EdDSA profile, go-oidc and
// oauth4webapi's c_hash and s_hash have it).
func atHash(t *testing.T, alg, accessToken string) string {
	t.Helper()
	var h hash.Hash
	switch alg {
	case "RS256", "ES256", "PS256":
		h = sha256.New()
	case "RS384", "ES384", "PS384":
		h = sha512.New384()
	case "RS512", "ES512", "PS512", "EdDSA", "Ed25519":
		h = sha512.New()
	default:
		t.Fatalf("at_hash: no hash for alg %q", alg)
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// silentAuthorize opens authURL (a prompt=none request) as the browser
// would and returns the first redirect that leaves latchkey, failing the
// test if latchkey shows a page (sign-in, consent) or sends the browser to
// /login on the way: prompt=none must not interact.
func (b *formBrowser) silentAuthorize(authURL string) *url.URL {
	b.t.Helper()
	next := authURL
	for range 4 {
		if !strings.HasPrefix(next, b.base+"/") {
			u, err := url.Parse(next)
			if err != nil {
				b.t.Fatal(err)
			}
			return u
		}
		if strings.HasPrefix(next, b.base+"/login") {
			b.t.Fatalf("prompt=none sent the browser to %s", next)
		}
		p := b.send(http.MethodGet, next, nil)
		if p.Status == http.StatusOK {
			b.t.Fatalf("prompt=none: GET %s showed a page: %.400s", next, p.Body)
		}
		next = b.location(p)
	}
	b.t.Fatalf("prompt=none authorization %s did not come back to the client", authURL)
	return nil
}

// claimString is claim name of claims as a string ("" if absent).
func claimString(claims map[string]any, name string) string {
	s, _ := claims[name].(string)
	return s
}
