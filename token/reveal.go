package token

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/apitoken"
)

// Recoverable keys (SPEC §2): in a keyspace with Recoverable on, the
// Service seals a new key's plaintext with the master key and hands it to
// the store as Key.SealedSecret, which keeps it apart from the key's row.
// RevealKey opens it again for a credential with keys:reveal.

// keySecretContext is the associated data a kept secret is sealed with:
// bound to its key, and distinct from the context of the key's
// request-signing secret (the bare key ID), so that neither a kept secret
// copied to another key nor a signing secret copied into key_secrets opens.
func keySecretContext(keyID string) string { return "key-secret:" + keyID }

// sealKeySecret seals secret, the plaintext of new key keyID, for keeping.
func (s *Service) sealKeySecret(keyID string, secret apitoken.Token) ([]byte, error) {
	if s.secrets == nil {
		return nil, invalidf("the keyspace is recoverable, but recoverable keys need a master key, which this server was started without")
	}
	sealed, err := s.secrets.Seal([]byte(secret.Reveal()), keySecretContext(keyID))
	if err != nil {
		return nil, internal(err, "seal key secret")
	}
	return sealed, nil
}

// ErrStepUpRequired refuses a dangerous operation to a sign-in session
// that has not used a second factor in the last five minutes (SPEC §3.5;
// people.ErrStepUpRequired is this error).
var ErrStepUpRequired = Errorf(PermissionDenied, "step_up_required",
	"this needs a second factor used in the last 5 minutes: confirm a TOTP code or a passkey first")

// errNotRecoverable answers for a key whose plaintext is not kept.
func errNotRecoverable(id string) error {
	return Errorf(NotFound, "not_recoverable", "key %s has no kept secret: its keyspace was not recoverable when it was created, or stopped being so since", id)
}

// RevealKey returns the plaintext of recoverable key id again. It needs
// keys:reveal (admin holds it; keys:write does not imply it) and, through
// a sign-in session, a second factor in the last five minutes (403
// step_up_required). A key the actor may not see is NotFound, as
// elsewhere; a revoked key is a Conflict (key_revoked: its kept secret is
// deleted with the revocation); a key without a kept secret is NotFound
// with code not_recoverable. Disabled, expired and rotated keys in their
// grace period are revealed: they can still come back or still verify. A
// kept secret that does not open with this server's master key, or does
// not hash to the key's digest (sealed under another master key, or
// copied from another key), is a Conflict (secret_unreadable), never
// returned. Every reveal is audited (key.reveal, never the secret) before
// the secret is returned; if the audit event cannot be written, nothing is
// revealed.
func (s *Service) RevealKey(ctx context.Context, a *Actor, id string) (apitoken.Token, error) {
	if !a.May(ScopeKeysReveal) {
		return apitoken.Token{}, s.deny(ctx, a, "key.reveal", "key", id, ScopeKeysReveal)
	}
	if a.Session && !a.SteppedUp {
		ev := s.audit(a, "key.reveal", "key", id, map[string]string{"step_up": "required"})
		ev.Outcome = OutcomeDenied
		if err := s.wrote(s.store.AppendAudit(ctx, ev)); err != nil {
			s.log.Error("audit: append denied event", "action", "key.reveal", "err", err)
		}
		return apitoken.Token{}, ErrStepUpRequired
	}
	k, err := s.visibleKey(ctx, a, id)
	if err != nil {
		return apitoken.Token{}, err
	}
	if !k.RevokedAt.IsZero() {
		return apitoken.Token{}, errRevoked(k)
	}
	sealed, err := s.store.KeySecret(ctx, k.ID)
	if errors.Is(err, ErrNotFound) {
		return apitoken.Token{}, errNotRecoverable(k.ID)
	}
	if err != nil {
		return apitoken.Token{}, storeErr(err, "get the kept secret of key %s", k.ID)
	}
	if s.secrets == nil {
		return apitoken.Token{}, Unavailablef(errors.New("no master key"), "reveal: key %s has a kept secret", k.ID)
	}
	plain, err := s.secrets.Open(sealed, keySecretContext(k.ID))
	if err != nil || !apitoken.Hash(string(plain)).Equal(k.Digest) {
		clear(plain)
		if err == nil {
			err = errors.New("the opened secret does not hash to the key's digest")
		}
		return apitoken.Token{}, &Error{Kind: Conflict, Code: "secret_unreadable",
			Msg: "the kept secret of key " + k.ID + " does not open with this server's master key: it was sealed under another master key or belongs to another key",
			Err: err}
	}
	secret := apitoken.FromString(string(plain))
	clear(plain)
	ev := s.audit(a, "key.reveal", "key", k.ID, map[string]string{"keyspace": k.Keyspace, "start": k.Start})
	if err := s.wrote(s.store.AppendAudit(ctx, ev)); err != nil {
		return apitoken.Token{}, storeErr(err, "audit the reveal of key %s", k.ID)
	}
	return secret, nil
}
