package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/latchkey/latchkey/token"
)

// Showing a recoverable key again (/ui/keys/{id}/reveal): the console's
// form of GET /v1/keys/{id}/secret, through the same call,
// token.Service.RevealKey, with the admin actor. The token service checks
// keys:reveal, the step-up (the actor is a session's) and the key's
// visibility, and audits the reveal — a refused one too — before the
// secret is returned.

// mayReveal reports whether the key page offers "Show the key again": the
// admin holds keys:reveal, the key is not revoked and its keyspace keeps
// plaintexts (a key created before the keyspace became recoverable has
// none: the reveal then says so).
func (h *Handler) mayReveal(ctx context.Context, c *adminCtx, k *token.Key) bool {
	if !c.actor.May(token.ScopeKeysReveal) || !k.RevokedAt.IsZero() {
		return false
	}
	ks, err := h.tokens.Keyspace(ctx, c.actor, k.Keyspace)
	return err == nil && ks.Recoverable
}

func (h *Handler) revealKey(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	ctx, id := r.Context(), r.PathValue("id")
	secret, err := h.tokens.RevealKey(ctx, c.actor, id)
	switch {
	case errors.Is(err, token.ErrStepUpRequired):
		return h.stepUpPage(w, r, c.sess, c.user, http.StatusForbidden,
			"Showing a key again needs a second factor used in the last 5 minutes. Confirm it, then ask for the key again.")
	case codeOf(err) == "not_recoverable", token.KindOf(err) == token.Conflict:
		status, msg := statusOf(err)
		return h.renderKey(w, r, c, status, "", msg)
	case err != nil:
		return err
	}
	k, err := h.tokens.Key(ctx, c.actor, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "admin_reveal", h.adminData(w, r, c, "keys", map[string]any{"Title": "The key, shown again",
		"Key": k, "Secret": secret.Reveal()}))
	return nil
}
