package httpapi

import (
	"net/http"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
)

// keyspaceParams converts a request into domain parameters.
func keyspaceParams(name string, req api.KeyspaceRequest) (token.KeyspaceParams, error) {
	p := token.KeyspaceParams{Name: name, Prefix: req.Prefix, AllowPermanent: req.AllowPermanent, Scopes: req.Scopes,
		Audiences: req.Audiences, AllowAPIKeyHeader: req.AllowAPIKeyHeader, Recoverable: req.Recoverable}
	var err error
	if p.RateLimits, err = rateLimitsPtr("ratelimits", req.RateLimits); err != nil {
		return p, err
	}
	for _, f := range []struct {
		field string
		in    *string
		out   **time.Duration
	}{{"default_ttl", req.DefaultTTL, &p.DefaultTTL}, {"max_ttl", req.MaxTTL, &p.MaxTTL}} {
		if f.in == nil {
			continue
		}
		var d time.Duration
		if *f.in != "" {
			var err error
			if d, err = parseDuration(f.field, *f.in); err != nil {
				return p, err
			}
		}
		*f.out = &d
	}
	return p, nil
}

func (h *Handler) createKeyspace(w http.ResponseWriter, r *http.Request) error {
	var req api.KeyspaceRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	if req.Name == "" {
		return badRequest("missing_name", "field \"name\" is required")
	}
	p, err := keyspaceParams(req.Name, req)
	if err != nil {
		return err
	}
	ks, err := h.svc.CreateKeyspace(r.Context(), actorFrom(r.Context()), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, apiKeyspace(ks))
	return nil
}

func (h *Handler) listKeyspaces(w http.ResponseWriter, r *http.Request) error {
	kss, err := h.svc.Keyspaces(r.Context(), actorFrom(r.Context()))
	if err != nil {
		return err
	}
	out := api.KeyspaceList{Items: make([]api.Keyspace, 0, len(kss))}
	for _, ks := range kss {
		out.Items = append(out.Items, apiKeyspace(ks))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getKeyspace(w http.ResponseWriter, r *http.Request) error {
	ks, err := h.svc.Keyspace(r.Context(), actorFrom(r.Context()), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiKeyspace(ks))
	return nil
}

func (h *Handler) updateKeyspace(w http.ResponseWriter, r *http.Request) error {
	var req api.KeyspaceRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	name := r.PathValue("name")
	if req.Name != "" && req.Name != name {
		return badRequest("rename_unsupported", "a keyspace cannot be renamed; omit \"name\"")
	}
	p, err := keyspaceParams(name, req)
	if err != nil {
		return err
	}
	ks, err := h.svc.UpdateKeyspace(r.Context(), actorFrom(r.Context()), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiKeyspace(ks))
	return nil
}
