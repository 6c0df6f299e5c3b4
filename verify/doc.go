// Package verify is the public Go SDK that services use to check latchkey
// credentials: [Opaque] asks a latchkey server about opaque API keys
// (POST /v1/keys/verify) and caches positive answers briefly, [JWT] checks
// latchkey's signed access tokens (typ at+jwt) offline against the issuer's
// JWKS, and [Middleware] puts either in front of a net/http handler.
//
// The package imports only the standard library, go-jose and latchkey's
// public packages api, client and ratelimit; it never imports server code
// (a test guards this).
package verify
