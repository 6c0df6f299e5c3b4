package interop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// ecJWK returns a fresh P-256 key as a private JWK (for the client) and
// its public JWK Set (to register).
func ecJWK(t *testing.T, kid string) (private string, jwks string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := json.Marshal(jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(priv), string(pub)
}

// TestInteropOpenIDClientPrivateKeyJWT: openid-client authenticates with
// its own PrivateKeyJwt (RFC 7523 client assertion it signs itself) for
// the client_credentials grant; jose verifies the token. Each grant gets
// an assertion with a fresh jti, so a second one works; a key the client
// did not register is invalid_client.
func TestInteropOpenIDClientPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	needNode(t)
	l := startLatchkey(t)
	priv, jwks := ecJWK(t, "signer-1")
	app := l.createApp(t, `{"id":"reports","permissions":["orders:read","billing:read"],
		"oauth":{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt",
		"audiences":["https://api.example"],"jwks":`+jwks+`}}`)
	if app.ClientSecret != "" {
		t.Fatal("a private_key_jwt client was given a client secret")
	}
	meta := l.metadata(t)
	if !slices.Contains(meta.TokenEndpointAuthMethodsSupported, "private_key_jwt") ||
		!slices.Contains(meta.TokenEndpointAuthSigningAlgValuesSupported, "ES256") {
		t.Fatalf("metadata: methods %v, algs %v", meta.TokenEndpointAuthMethodsSupported, meta.TokenEndpointAuthSigningAlgValuesSupported)
	}
	for i := range 2 {
		r := runNode(t, "openid-pkjwt.mjs", map[string]string{
			"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "PRIVATE_JWK": priv, "SCOPE": "orders:read",
		})
		if !r.OK {
			t.Fatalf("openid-client PrivateKeyJwt, grant %d: %s; stderr: %s", i+1, r.Out, r.Stderr)
		}
		out := decode[ccOutput](t, r, "openid-pkjwt.mjs")
		if out.Issuer != meta.Issuer {
			t.Errorf("openid-client discovered issuer %q, metadata says %q", out.Issuer, meta.Issuer)
		}
		checkToken(t, "openid-client (private_key_jwt)", out)
		checkJose(t, l, out.Token.AccessToken, meta.Issuer)
	}
	other, _ := ecJWK(t, "signer-1")
	r := runNode(t, "openid-pkjwt.mjs", map[string]string{
		"LATCHKEY_URL": l.URL, "CLIENT_ID": app.ClientID, "PRIVATE_JWK": other,
	})
	if f := mustFail(t, r, "an unregistered key"); f.Failed.Error != "invalid_client" || f.Failed.Status != http.StatusUnauthorized {
		t.Errorf("an unregistered key: %+v, want invalid_client (401)", *f.Failed)
	}
}
