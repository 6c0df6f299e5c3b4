// Package signer holds latchkey's signing-key ring, the public JWKS, and the
// issuing and verification of JWT access tokens (RFC 9068, typ at+jwt).
//
// All JOSE cryptography is done by github.com/go-jose/go-jose/v4; this package
// only selects keys, enforces the rules of SECURITY.md §1.A (JWT-01…JWT-16) and
// encrypts private keys at rest with AES-256-GCM.
//
// Every function that depends on the time takes it as an argument (or, for
// Verifier, as an injected clock), so tests never sleep.
package signer
