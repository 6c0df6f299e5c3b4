package signer

import "errors"

// ErrInvalidToken is matched (errors.Is) by every error Verify returns.
var ErrInvalidToken = errors.New("signer: invalid token")

// TokenError is the single error type returned by Verifier.Verify. Reason is
// short, fixed text; it never contains data taken from the token.
type TokenError struct {
	Reason string
}

// Error implements error.
func (e *TokenError) Error() string { return "signer: invalid token: " + e.Reason }

// Is reports whether target is ErrInvalidToken.
func (e *TokenError) Is(target error) bool { return target == ErrInvalidToken }

// The reasons are preallocated so that rejecting a hostile token allocates
// nothing (JWT-09).
var (
	errTooLong       = &TokenError{Reason: "token too long"}
	errMalformed     = &TokenError{Reason: "malformed compact serialization"}
	errHeader        = &TokenError{Reason: "malformed header"}
	errHeaderParam   = &TokenError{Reason: "forbidden header parameter"}
	errAlg           = &TokenError{Reason: "algorithm not allowed"}
	errUnknownKey    = &TokenError{Reason: "unknown key"}
	errType          = &TokenError{Reason: "wrong token type"}
	errSignature     = &TokenError{Reason: "bad signature"}
	errPayload       = &TokenError{Reason: "malformed claims"}
	errExpired       = &TokenError{Reason: "token expired"}
	errNotYetValid   = &TokenError{Reason: "token not yet valid"}
	errIssuedFuture  = &TokenError{Reason: "token issued in the future"}
	errIssuer        = &TokenError{Reason: "wrong issuer"}
	errAudience      = &TokenError{Reason: "wrong audience"}
	errMissingClaim  = &TokenError{Reason: "missing required claim"}
	errMisconfigured = &TokenError{Reason: "verifier misconfigured"}
)

// ErrExpired is Verify's error for a token past its exp (and leeway),
// for callers that answer "expired" apart from "invalid".
var ErrExpired error = errExpired
