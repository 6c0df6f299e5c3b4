package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// listSigningKeys answers GET /v1/signing-keys (keys:read).
func (h *Handler) listSigningKeys(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r.Context())
	if err := h.svc.Require(r.Context(), a, token.ScopeKeysRead, "signing_key.list", "", ""); err != nil {
		return err
	}
	if h.signer == nil {
		return &httpError{status: http.StatusNotFound, code: "no_route", msg: "JWT issuing is not configured"}
	}
	if err := h.signer.Load(r.Context()); err != nil {
		return token.Unavailablef(err, "signing keys unavailable")
	}
	now := h.svc.Now()
	out := api.SigningKeyList{Keys: []api.SigningKey{}}
	for _, k := range h.signer.Ring().Keys() {
		if !now.Before(k.RetireAt) {
			continue
		}
		out.Keys = append(out.Keys, apiSigningKey(k, now))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// rotateSigningKey answers POST /v1/signing-keys/rotate (admin).
func (h *Handler) rotateSigningKey(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r.Context())
	if err := h.svc.Require(r.Context(), a, token.ScopeAdmin, "signing_key.rotate", "", ""); err != nil {
		return err
	}
	if h.signer == nil {
		return &httpError{status: http.StatusNotFound, code: "no_route", msg: "JWT issuing is not configured"}
	}
	var req api.RotateSigningKeyRequest
	if err := decode(r, &req, true); err != nil {
		return err
	}
	switch req.Alg {
	case "", signer.EdDSA, signer.ES256, signer.RS256:
	default:
		return badRequest("bad_alg", "alg must be EdDSA, ES256 or RS256")
	}
	k, err := h.signer.Rotate(r.Context(), signer.RotateOptions{Alg: req.Alg, Immediately: req.Immediately, Actor: a})
	if err != nil {
		return token.Unavailablef(err, "could not store the new signing key; try again")
	}
	writeJSON(w, http.StatusCreated, apiSigningKey(k, h.svc.Now()))
	return nil
}

func apiSigningKey(k *signer.Key, now time.Time) api.SigningKey {
	state := "retiring"
	switch {
	case now.Before(k.NotBefore):
		state = "pending"
	case now.Before(k.SignUntil):
		state = "active"
	}
	return api.SigningKey{KID: k.ID, Alg: k.Alg, State: state,
		NotBefore: k.NotBefore.UTC(), SignUntil: k.SignUntil.UTC(), RetireAt: k.RetireAt.UTC()}
}

// listRevocations answers GET /v1/revocations?since=<cursor>&wait=<seconds>
// (keys:verify or keys:read): a long poll that returns as soon as a key or
// principal is revoked, disabled or cut short, or after wait seconds (at
// most 25) with an empty list and the cursor to ask with next. (25 s stays below
// the server's write timeout.)
func (h *Handler) listRevocations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var after int64
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return badRequest("bad_cursor", "since must be a cursor returned by this endpoint")
		}
		after = n
	}
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 25 {
			return badRequest("bad_wait", "wait must be a number of seconds from 0 to 25")
		}
		wait = time.Duration(n) * time.Second
	}
	limit := 1000
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("bad_limit", "limit must be between 1 and 1000")
		}
		limit = n
	}
	p, err := h.svc.Revocations(r.Context(), actorFrom(r.Context()), after, limit, wait)
	if err != nil {
		return err
	}
	out := api.RevocationList{Revocations: make([]api.Revocation, len(p.Revocations)),
		Cursor: strconv.FormatInt(p.Cursor, 10), HasMore: p.HasMore}
	for i, rv := range p.Revocations {
		out.Revocations[i] = api.Revocation{Kind: string(rv.Kind), ID: rv.Subject, RevokedAt: rv.At.UTC()}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
