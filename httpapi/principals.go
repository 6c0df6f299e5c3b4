package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
)

func (h *Handler) createPrincipal(typ token.PrincipalType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req api.CreatePrincipalRequest
		if err := decode(r, &req, false); err != nil {
			return err
		}
		if req.ID == "" {
			return badRequest("missing_id", "field \"id\" is required: your system's identifier of this "+string(typ))
		}
		md := req.Metadata
		if isNull(md) {
			md = nil
		}
		limits, err := rateLimits("owner_ratelimits", req.OwnerRateLimits)
		if err != nil {
			return err
		}
		p, err := h.svc.CreatePrincipal(r.Context(), actorFrom(r.Context()), token.CreatePrincipalParams{
			Type: typ, ID: req.ID, Name: req.Name, Permissions: req.Permissions, Metadata: md, RateLimits: limits,
		})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, apiPrincipal(p))
		return nil
	}
}

func (h *Handler) listPrincipals(typ token.PrincipalType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		limit, err := limitParam(r)
		if err != nil {
			return err
		}
		ps, next, err := h.svc.Principals(r.Context(), actorFrom(r.Context()), token.PrincipalFilter{
			Type: typ, After: r.URL.Query().Get("cursor"), Limit: limit,
		})
		if err != nil {
			return err
		}
		out := api.PrincipalList{Items: make([]api.Principal, 0, len(ps)), NextCursor: next}
		for _, p := range ps {
			out.Items = append(out.Items, apiPrincipal(p))
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (h *Handler) getPrincipal(typ token.PrincipalType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := h.svc.Principal(r.Context(), actorFrom(r.Context()), typ, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, apiPrincipal(p))
		return nil
	}
}

func (h *Handler) updatePrincipal(typ token.PrincipalType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req api.UpdatePrincipalRequest
		if err := decode(r, &req, false); err != nil {
			return err
		}
		p := token.UpdatePrincipalParams{Name: req.Name, Permissions: req.Permissions, Disabled: req.Disabled, Metadata: req.Metadata}
		var err error
		if p.RateLimits, err = rateLimitsPtr("owner_ratelimits", req.OwnerRateLimits); err != nil {
			return err
		}
		if isNull(req.Metadata) {
			p.Metadata = json.RawMessage("null")
		}
		pr, err := h.svc.UpdatePrincipal(r.Context(), actorFrom(r.Context()), typ, r.PathValue("id"), p)
		if err != nil {
			return err
		}
		if typ == token.User && pr.Disabled && req.Disabled != nil {
			h.onUserDisabled(r, actorFrom(r.Context()), pr.ID)
		}
		writeJSON(w, http.StatusOK, apiPrincipal(pr))
		return nil
	}
}

func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	evs, next, err := h.svc.Audit(r.Context(), actorFrom(r.Context()), token.AuditFilter{
		Action: q.Get("action"), TargetID: q.Get("target_id"), ActorID: q.Get("actor"),
		Before: q.Get("cursor"), Limit: limit,
	})
	if err != nil {
		return err
	}
	out := api.AuditList{Items: make([]api.AuditEvent, 0, len(evs)), NextCursor: next}
	for _, e := range evs {
		out.Items = append(out.Items, apiAudit(e))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
