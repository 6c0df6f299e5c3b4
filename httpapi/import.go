package httpapi

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// MaxImportBodyBytes caps an import request: 1000 keys with metadata.
const MaxImportBodyBytes = 16 << 20

func (h *Handler) importKeys(w http.ResponseWriter, r *http.Request) error {
	var req api.ImportKeysRequest
	if err := decodeLimit(r, &req, false, MaxImportBodyBytes); err != nil {
		return err
	}
	in := make([]token.ImportKey, len(req.Keys))
	for i, k := range req.Keys {
		d, err := apitoken.ParseDigest(k.Hash)
		if err != nil {
			return badRequest("bad_hash", "keys["+strconv.Itoa(i)+"].hash must be the SHA-256 of the key as 64 hex characters")
		}
		ik := token.ImportKey{Digest: d, Start: k.Start, Name: k.Name, Scopes: k.Scopes, Metadata: k.Metadata, Remaining: k.Remaining, IPAllow: k.IPAllow}
		if ik.RateLimits, err = rateLimits("keys["+strconv.Itoa(i)+"].ratelimits", k.RateLimits); err != nil {
			return err
		}
		if isNull(k.Metadata) {
			ik.Metadata = nil
		}
		if k.Owner != nil {
			ik.Owner = &token.Owner{Type: token.PrincipalType(k.Owner.Type), ID: k.Owner.ID}
		}
		if k.ExpiresAt != nil {
			ik.ExpiresAt = *k.ExpiresAt
		}
		in[i] = ik
	}
	return h.idempotent(w, r, "key.import", req, func(a *token.Actor) (any, error) {
		return h.svc.ImportKeys(r.Context(), a, req.Keyspace, in)
	}, func(v any) (int, any) {
		keys := v.([]*token.Key)
		out := api.ImportKeysResponse{Imported: len(keys), IDs: make([]string, len(keys))}
		for i, k := range keys {
			out.IDs[i] = k.ID
		}
		return http.StatusCreated, out
	})
}
