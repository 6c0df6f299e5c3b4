package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/api"
)

// grantRoutes are the management routes of users' OAuth grants.
func (h *Handler) grantRoutes() []route {
	return []route{
		{"GET /v1/users/{id}/grants", h.authed(h.listUserGrants)},
		{"DELETE /v1/users/{id}/grants", h.authed(h.revokeUserClientGrants)},
		{"DELETE /v1/users/{id}/grants/{grant_id}", h.authed(h.revokeUserGrant)},
		{"DELETE /v1/apps/{id}/grants", h.authed(h.revokeAppGrants)},
	}
}

// listUserGrants answers GET /v1/users/{id}/grants: the user's live grants.
func (h *Handler) listUserGrants(w http.ResponseWriter, r *http.Request) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	gs, err := h.oauth.UserGrants(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := api.GrantList{Grants: make([]api.Grant, 0, len(gs))}
	for _, g := range gs {
		scopes := g.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		out.Grants = append(out.Grants, api.Grant{ID: g.ID, ClientID: g.ClientID, ClientName: g.ClientName, Scopes: scopes,
			CreatedAt: g.CreatedAt.UTC(), ExpiresAt: timePtr(g.ExpiresAt), LastUsedAt: timePtr(g.LastUsedAt)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revokeUserGrant answers DELETE /v1/users/{id}/grants/{grant_id}.
func (h *Handler) revokeUserGrant(w http.ResponseWriter, r *http.Request) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	if err := h.oauth.RevokeUserGrant(r.Context(), actorFrom(r.Context()), r.PathValue("id"), r.PathValue("grant_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeUserClientGrants answers DELETE /v1/users/{id}/grants?client_id=:
// every grant of the user to that app.
func (h *Handler) revokeUserClientGrants(w http.ResponseWriter, r *http.Request) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	q := r.URL.Query()
	app := q.Get("client_id")
	if app == "" || len(q["client_id"]) > 1 || len(app) > 128 {
		return badRequest("missing_client_id", "query parameter client_id (one app ID) is required")
	}
	n, err := h.oauth.RevokeClientGrants(r.Context(), actorFrom(r.Context()), app, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.GrantsRevoked{Revoked: n})
	return nil
}

// revokeAppGrants answers DELETE /v1/apps/{id}/grants: every user's grants
// to the app.
func (h *Handler) revokeAppGrants(w http.ResponseWriter, r *http.Request) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	n, err := h.oauth.RevokeClientGrants(r.Context(), actorFrom(r.Context()), r.PathValue("id"), "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.GrantsRevoked{Revoked: n})
	return nil
}
