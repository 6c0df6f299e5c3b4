package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
)

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateKeyRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	p := token.CreateKeyParams{
		Keyspace:  req.Keyspace,
		Name:      req.Name,
		Scopes:    req.Scopes,
		Metadata:  req.Metadata,
		Remaining: req.Remaining,

		IdempotencyKey: r.Header.Get("Idempotency-Key"),
		IPAllow:        req.IPAllow,
		Refill:         refill(req.Refill),
		SigningSecret:  req.SigningSecret,
		DPoPJKT:        req.DPoPJKT,
	}
	var err error
	if p.RateLimits, err = rateLimits("ratelimits", req.RateLimits); err != nil {
		return err
	}
	if req.Owner != nil {
		p.Owner = &token.Owner{Type: token.PrincipalType(req.Owner.Type), ID: req.Owner.ID}
	}
	if req.ExpiresIn != "" {
		d, err := parseDuration("expires_in", string(req.ExpiresIn))
		if err != nil {
			return err
		}
		if d == 0 {
			return badRequest("bad_duration", "expires_in must be positive")
		}
		p.ExpiresIn = d
	}
	if req.ExpiresAt != nil {
		if req.ExpiresAt.IsZero() {
			return badRequest("bad_time", "expires_at must be a real time; omit it for the keyspace default")
		}
		p.ExpiresAt = *req.ExpiresAt
	}
	if isNull(req.Metadata) {
		p.Metadata = nil
	}
	return h.idempotent(w, r, "key.create", req, func(a *token.Actor) (any, error) {
		return h.svc.CreateKey(r.Context(), a, p)
	}, func(v any) (int, any) {
		return http.StatusCreated, apiCreated(v.(*token.CreatedKey), h.svc.Now())
	})
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := token.KeyFilter{
		Keyspace:  q.Get("keyspace"),
		OwnerType: token.PrincipalType(q.Get("owner_type")),
		OwnerID:   q.Get("owner_id"),
		State:     token.State(q.Get("state")),
		After:     q.Get("cursor"),
	}
	var err error
	if f.Limit, err = limitParam(r); err != nil {
		return err
	}
	keys, next, err := h.svc.Keys(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		return err
	}
	scopes, err := h.svc.ScopesNow(r.Context(), keys)
	if err != nil {
		return err
	}
	now := h.svc.Now()
	out := api.KeyList{Items: make([]api.Key, 0, len(keys)), NextCursor: next}
	for i, k := range keys {
		out.Items = append(out.Items, withScopes(apiKey(k, now), scopes[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func limitParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > token.MaxPageSize {
		return 0, badRequest("bad_limit", "limit must be an integer between 1 and "+strconv.Itoa(token.MaxPageSize))
	}
	return n, nil
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request) error {
	a, id := actorFrom(r.Context()), r.PathValue("id")
	k, err := h.svc.Key(r.Context(), a, id)
	if err != nil {
		return err
	}
	counts, err := h.svc.KeyUsage(r.Context(), a, id)
	if err != nil {
		return err
	}
	scopes, err := h.svc.ScopesNow(r.Context(), []*token.Key{k})
	if err != nil {
		return err
	}
	out := withScopes(apiKey(k, h.svc.Now()), scopes[0])
	if len(counts) > 0 {
		out.Verifications = make(map[string]int64, len(counts))
		for c, n := range counts {
			out.Verifications[string(c)] = n
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func isNull(m json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(m), []byte("null")) }

func (h *Handler) updateKey(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateKeyRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	p := token.UpdateKeyParams{Name: req.Name, Scopes: req.Scopes, Enabled: req.Enabled, Metadata: req.Metadata, IPAllow: req.IPAllow}
	var err error
	if p.RateLimits, err = rateLimitsPtr("ratelimits", req.RateLimits); err != nil {
		return err
	}
	if p.Refill, p.ClearRefill, err = refillPatch(req.Refill); err != nil {
		return err
	}
	if isNull(req.Metadata) {
		p.Metadata = json.RawMessage("null")
	}
	if len(req.ExpiresAt) > 0 {
		var t time.Time
		if !isNull(req.ExpiresAt) {
			if err := json.Unmarshal(req.ExpiresAt, &t); err != nil || t.IsZero() {
				return badRequest("bad_time", "expires_at must be an RFC 3339 time or null (permanent)")
			}
		}
		p.ExpiresAt = &t
	}
	if len(req.Remaining) > 0 {
		if isNull(req.Remaining) {
			p.ClearRemaining = true
		} else {
			var n int64
			if err := json.Unmarshal(req.Remaining, &n); err != nil {
				return badRequest("bad_number", "remaining must be a whole number or null (unlimited)")
			}
			p.Remaining = &n
		}
	}
	k, err := h.svc.UpdateKey(r.Context(), actorFrom(r.Context()), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	scopes, err := h.svc.ScopesNow(r.Context(), []*token.Key{k})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withScopes(apiKey(k, h.svc.Now()), scopes[0]))
	return nil
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.DeleteKey(r.Context(), actorFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) error {
	var req api.RevokeRequest
	if err := decode(r, &req, true); err != nil {
		return err
	}
	return h.idempotent(w, r, "key.revoke", req, func(a *token.Actor) (any, error) {
		return h.svc.RevokeKey(r.Context(), a, r.PathValue("id"), req.Reason)
	}, h.renderKey)
}

// renderKey is the answer of a call whose result is one key.
func (h *Handler) renderKey(v any) (int, any) {
	return http.StatusOK, apiKey(v.(*token.Key), h.svc.Now())
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request) error {
	var req api.RotateRequest
	if err := decode(r, &req, true); err != nil {
		return err
	}
	var grace time.Duration
	if req.GracePeriod != "" {
		var err error
		if grace, err = parseDuration("grace_period", req.GracePeriod); err != nil {
			return err
		}
	}
	return h.idempotent(w, r, "key.rotate", req, func(a *token.Actor) (any, error) {
		ck, old, err := h.svc.RotateKey(r.Context(), a, r.PathValue("id"), grace)
		return token.Rotated{Created: ck, Old: old}, err
	}, func(v any) (int, any) {
		rk, now := v.(token.Rotated), h.svc.Now()
		return http.StatusCreated, api.RotatedKey{CreatedKey: apiCreated(rk.Created, now), Previous: apiKey(rk.Old, now)}
	})
}

func (h *Handler) renewKey(w http.ResponseWriter, r *http.Request) error {
	var req struct{}
	if err := decode(r, &req, true); err != nil {
		return err
	}
	return h.idempotent(w, r, "key.renew", req, func(a *token.Actor) (any, error) {
		return h.svc.RenewKey(r.Context(), a, r.PathValue("id"))
	}, h.renderKey)
}

func (h *Handler) self(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r.Context())
	out := api.Self{KeyID: a.KeyID, Name: a.Name, Scopes: nonNil(a.Scopes), InertScopes: nonNil(a.Inert)}
	if a.Owner != nil {
		out.Owner = &api.Owner{Type: string(a.Owner.Type), ID: a.Owner.ID}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
