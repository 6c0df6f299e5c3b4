// Package httpsig implements HTTP Message Signatures (RFC 9421) with the
// hmac-sha256 algorithm, and the Content-Digest field (RFC 9530).
//
// Clients use a [Signer]: [Signer.Sign] adds Content-Digest, Signature-Input
// and Signature to a request, and [Signer.Transport] signs every request an
// http.Client sends. A signature covers
//
//	("@method" "@target-uri" "@path" "@query" "content-digest")
//
// (content-digest only when the request has one) with the parameters
// created, nonce (128 random bits), keyid and alg="hmac-sha256".
//
// Servers use a [Verifier]. Its policy is strict: the signature must cover
// @method, and @target-uri or both @path and @query, and content-digest
// whenever the request has a body; it must carry created, nonce and keyid;
// created must be within the window of the verifier's clock; the MAC is
// compared with hmac.Equal; and only then is the nonce recorded in a
// [NonceCache], so a replayed request fails. The body itself is checked
// against the signed Content-Digest by the [BodyCheck] that
// [Verifier.Verify] returns, so a gateway can check a body while streaming it.
//
// Errors are classified by the sentinel values [ErrMissing], [ErrMalformed],
// [ErrPolicy], [ErrClock], [ErrExpired], [ErrUnknownKey], [ErrBadSignature],
// [ErrDigest] and [ErrReplay]; test with errors.Is. Error strings never
// contain a secret or a signature value.
//
// The structured-field parser (RFC 8941) is deliberately strict and small: it
// accepts the subset these headers need (dictionaries, inner lists, integers,
// strings, tokens, byte sequences, booleans; no decimals), refuses duplicate
// keys, and bounds its input (8 KiB per field, 32 components, 8 signatures).
//
// The package imports only the standard library; it is part of the Go SDK.
package httpsig
