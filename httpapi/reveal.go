package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/api"
)

// revealKey answers GET /v1/keys/{id}/secret: the kept plaintext of a
// recoverable key (keys:reveal, audited by the Service). Never cached.
func (h *Handler) revealKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	secret, err := h.svc.RevealKey(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, api.KeySecret{KeyID: id, Secret: secret.Reveal()})
	return nil
}
