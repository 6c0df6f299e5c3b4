package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
)

// profileNotAllowed answers an app given an OpenID Connect profile.
func profileNotAllowed() error {
	return badRequest("profile_not_allowed", "only users have email, email_verified, preferred_username and groups")
}

func (h *Handler) createPrincipal(typ token.PrincipalType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req api.CreatePrincipalRequest
		if err := decode(r, &req, false); err != nil {
			return err
		}
		if req.ID == "" {
			return badRequest("missing_id", "field \"id\" is required: your system's identifier of this "+string(typ))
		}
		if typ != token.User && (req.Email != "" || req.EmailVerified || req.PreferredUsername != "" || len(req.Groups) > 0) {
			return profileNotAllowed()
		}
		md := req.Metadata
		if isNull(md) {
			md = nil
		}
		limits, err := rateLimits("owner_ratelimits", req.OwnerRateLimits)
		if err != nil {
			return err
		}
		params := token.CreatePrincipalParams{
			Type: typ, ID: req.ID, Name: req.Name, Permissions: req.Permissions, Metadata: md, RateLimits: limits,
			Email: req.Email, EmailVerified: req.EmailVerified, PreferredUsername: req.PreferredUsername, Groups: req.Groups,
		}
		if req.OAuth != nil {
			return h.createClientApp(w, r, typ, params, req.OAuth)
		}
		p, err := h.svc.CreatePrincipal(r.Context(), actorFrom(r.Context()), params)
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
			item := apiPrincipal(p)
			if err := h.withClient(r, p, &item); err != nil {
				return err
			}
			out.Items = append(out.Items, item)
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
		out := apiPrincipal(p)
		if err := h.withClient(r, p, &out); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (h *Handler) updatePrincipal(typ token.PrincipalType) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req api.UpdatePrincipalRequest
		if err := decode(r, &req, false); err != nil {
			return err
		}
		p := token.UpdatePrincipalParams{Name: req.Name, Permissions: req.Permissions, Disabled: req.Disabled, Metadata: req.Metadata,
			Email: req.Email, EmailVerified: req.EmailVerified, PreferredUsername: req.PreferredUsername, Groups: req.Groups}
		var err error
		if p.RateLimits, err = rateLimitsPtr("owner_ratelimits", req.OwnerRateLimits); err != nil {
			return err
		}
		if isNull(req.Metadata) {
			p.Metadata = json.RawMessage("null")
		}
		if req.OAuth != nil && (typ != token.App || h.oauth == nil) {
			return badRequest("oauth_not_allowed", "only apps can be OAuth clients")
		}
		if typ != token.User && (req.Email != nil || req.EmailVerified != nil || req.PreferredUsername != nil || req.Groups != nil) {
			return profileNotAllowed()
		}
		var pr *token.Principal
		if req.OAuth != nil && p.Name == nil && p.Permissions == nil && p.Disabled == nil && p.Metadata == nil && p.RateLimits == nil &&
			p.Email == nil && p.EmailVerified == nil && p.PreferredUsername == nil && p.Groups == nil {
			pr, err = h.svc.Principal(r.Context(), actorFrom(r.Context()), typ, r.PathValue("id"))
		} else {
			pr, err = h.svc.UpdatePrincipal(r.Context(), actorFrom(r.Context()), typ, r.PathValue("id"), p)
		}
		if err != nil {
			return err
		}
		out := apiPrincipal(pr)
		if req.OAuth != nil {
			c, secret, err := h.oauth.SetSettings(r.Context(), actorFrom(r.Context()), pr.ID, oauthSettings(req.OAuth))
			if err != nil {
				return err
			}
			out.OAuth, out.ClientID, out.ClientSecret = apiOAuth(c), pr.ID, secret
			if secret != "" {
				w.Header().Set("Cache-Control", "no-store")
			}
		} else if err := h.withClient(r, pr, &out); err != nil {
			return err
		}
		if typ == token.User && pr.Disabled && req.Disabled != nil {
			h.onUserDisabled(r, actorFrom(r.Context()), pr.ID)
		}
		if typ == token.App && pr.Disabled && req.Disabled != nil && h.oauth != nil {
			// Its tokens end now, opaque ones too, and for good: users
			// authorize the app again once it is enabled.
			if _, err := h.oauth.RevokeClientGrants(r.Context(), actorFrom(r.Context()), pr.ID, ""); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, out)
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

// createClientApp creates an app that is an OAuth client, in one
// transaction; the answer carries its client secret, once.
func (h *Handler) createClientApp(w http.ResponseWriter, r *http.Request, typ token.PrincipalType, p token.CreatePrincipalParams, set *api.OAuthSettings) error {
	if typ != token.App || h.oauth == nil {
		return badRequest("oauth_not_allowed", "only apps can be OAuth clients")
	}
	pr, c, secret, err := h.oauth.CreateApp(r.Context(), actorFrom(r.Context()), p, oauthSettings(set))
	if err != nil {
		return err
	}
	out := apiPrincipal(pr)
	out.OAuth, out.ClientID, out.ClientSecret = apiOAuth(c), pr.ID, secret
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, out)
	return nil
}
