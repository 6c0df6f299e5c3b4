package token

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/apitoken"
)

// SigningSecretPrefix starts every request-signing secret, so that secret
// scanners recognise a leaked one (it has latchkey's checksum).
const SigningSecretPrefix = "lkss"

// Sealer encrypts small secrets at rest with the master key, bound to a
// context (the ID of the key a secret belongs to). package seal implements
// it.
type Sealer interface {
	Seal(plain []byte, context string) ([]byte, error)
	Open(sealed []byte, context string) ([]byte, error)
}

// SignatureCheck verifies the signature of the request a key came with
// (RFC 9421), made with the key's signing secret; the transport layer,
// which has the request, provides it. It returns an error that wraps
// ErrBadSignature for a missing, invalid, expired or replayed signature;
// any other error means it could not decide (for example the nonce store
// failed), and the key is then treated as unverifiable.
type SignatureCheck func(ctx context.Context, keyID string, secret []byte) error

// ErrBadSignature is the error kind a SignatureCheck wraps for a request
// whose signature does not hold.
var ErrBadSignature = errors.New("invalid request signature")

// newSigningSecret returns a fresh request-signing secret for key keyID and
// its sealed form.
func (s *Service) newSigningSecret(keyID string) (apitoken.Token, []byte, error) {
	if s.secrets == nil {
		return apitoken.Token{}, nil, invalidf("signing secrets need a master key, which this server was started without")
	}
	t, err := apitoken.New(SigningSecretPrefix)
	if err != nil {
		return apitoken.Token{}, nil, internal(err, "generate signing secret")
	}
	sealed, err := s.secrets.Seal([]byte(t.Reveal()), keyID)
	if err != nil {
		return apitoken.Token{}, nil, internal(err, "seal signing secret")
	}
	return t, sealed, nil
}

// checkSignature judges the request signature of a key that has a signing
// secret: ok false means INVALID_SIGNATURE; an error, that it could not be
// judged.
func (s *Service) checkSignature(ctx context.Context, k *Key, check SignatureCheck) (ok bool, err error) {
	if check == nil {
		return false, nil
	}
	if s.secrets == nil {
		return false, Unavailablef(errors.New("no master key"), "verify: key %s has a signing secret", k.ID)
	}
	secret, err := s.secrets.Open(k.SigningSecret, k.ID)
	if err != nil {
		return false, Unavailablef(err, "verify: open the signing secret of key %s", k.ID)
	}
	err = check(ctx, k.ID, secret)
	clear(secret)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrBadSignature):
		return false, nil
	}
	return false, err
}

// UseNonce records the nonce of a signed request of key keyID until
// expires, and reports false if it was already used (a replay). A store
// failure is Unavailable: the request cannot be judged.
func (s *Service) UseNonce(ctx context.Context, keyID, nonce string, expires time.Time) (bool, error) {
	fresh, err := s.store.UseNonce(ctx, keyID, nonce, expires)
	if err := s.wrote(err); err != nil {
		return false, storeErr(err, "record nonce")
	}
	return fresh, nil
}

// PruneNonces deletes nonce records that expired before now.
func (s *Service) PruneNonces(ctx context.Context) (int64, error) {
	n, err := s.store.PruneNonces(ctx, s.Now())
	if err != nil {
		return 0, storeErr(err, "prune nonces")
	}
	return n, nil
}
