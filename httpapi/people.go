package httpapi

import (
	"net/http"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/token"
)

// peopleRoutes are the endpoints of users' sign-in factors and sessions.
func (h *Handler) peopleRoutes() []route {
	return []route{
		{"PUT /v1/users/{id}/password", h.withPeople(h.setPassword)},
		{"DELETE /v1/users/{id}/password", h.withPeople(h.removePassword)},
		{"POST /v1/users/{id}/totp", h.withPeople(h.enrollTOTP)},
		{"POST /v1/users/{id}/totp/confirm", h.withPeople(h.confirmTOTP)},
		{"DELETE /v1/users/{id}/totp", h.withPeople(h.removeTOTP)},
		{"POST /v1/users/{id}/recovery-codes", h.withPeople(h.recoveryCodes)},
		{"GET /v1/users/{id}/factors", h.withPeople(h.factors)},
		{"GET /v1/users/{id}/sessions", h.withPeople(h.sessions)},
		{"DELETE /v1/users/{id}/sessions", h.withPeople(h.endSessions)},
		{"DELETE /v1/users/{id}/sessions/{sid}", h.withPeople(h.endSession)},
	}
}

// withPeople authenticates, then serves fn if the handler signs people in
// (a handler built without Config.People answers 404 not_configured).
func (h *Handler) withPeople(fn handlerFunc) handlerFunc {
	return h.authed(func(w http.ResponseWriter, r *http.Request) error {
		if h.people == nil {
			return token.Errorf(token.NotFound, "not_configured", "sign-in is not configured on this server")
		}
		return fn(w, r)
	})
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request) error {
	var req api.SetPasswordRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	if req.Password == "" {
		return badRequest("missing_password", "field \"password\" is required")
	}
	if err := h.people.SetPassword(r.Context(), actorFrom(r.Context()), r.PathValue("id"), req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) removePassword(w http.ResponseWriter, r *http.Request) error {
	if err := h.people.RemovePassword(r.Context(), actorFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) enrollTOTP(w http.ResponseWriter, r *http.Request) error {
	e, err := h.people.EnrollTOTP(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, api.TOTPEnrollment{Secret: e.Secret, OTPAuthURI: e.URI, Issuer: e.Issuer,
		Account: e.Account, Digits: people.TOTPDigits, Period: people.TOTPPeriod, Algorithm: "SHA1"})
	return nil
}

func (h *Handler) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var req api.TOTPConfirmRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	codes, err := h.people.ConfirmTOTP(r.Context(), actorFrom(r.Context()), r.PathValue("id"), req.Code)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, api.RecoveryCodes{RecoveryCodes: codes})
	return nil
}

func (h *Handler) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := h.people.RemoveTOTP(r.Context(), actorFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) recoveryCodes(w http.ResponseWriter, r *http.Request) error {
	codes, err := h.people.RegenerateRecoveryCodes(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, api.RecoveryCodes{RecoveryCodes: codes})
	return nil
}

func (h *Handler) factors(w http.ResponseWriter, r *http.Request) error {
	f, err := h.people.Factors(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiFactors(f))
	return nil
}

// apiFactors renders a factor summary.
func apiFactors(f *people.FactorSummary) api.Factors {
	out := api.Factors{Source: f.Source, Password: f.Password, PasswordChangedAt: timePtr(f.PasswordChangedAt),
		TOTP: f.TOTP, RecoveryCodesLeft: f.RecoveryCodesLeft, Passkeys: []api.PasskeySummary{}}
	for _, p := range f.Passkeys {
		out.Passkeys = append(out.Passkeys, api.PasskeySummary{ID: people.PasskeyID(p.ID), Name: p.Name,
			CreatedAt: p.CreatedAt.UTC(), LastUsedAt: timePtr(p.LastUsedAt)})
	}
	return out
}

func (h *Handler) sessions(w http.ResponseWriter, r *http.Request) error {
	ss, err := h.people.Sessions(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	var apps map[string][]oauth.SessionApp
	if h.oauth != nil {
		if apps, err = h.oauth.SessionApps(r.Context(), actorFrom(r.Context()), r.PathValue("id")); err != nil {
			return err
		}
	}
	out := api.SessionList{Items: make([]api.Session, 0, len(ss))}
	for _, s := range ss {
		out.Items = append(out.Items, apiSession(s, apps[s.ID]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// apiSession renders a session (never its cookie).
func apiSession(s *people.Session, apps []oauth.SessionApp) api.Session {
	out := api.Session{ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
		ExpiresAt: s.ExpiresAt.UTC(), IdleExpiresAt: s.IdleExpiresAt.UTC(), IP: s.IP, UserAgent: s.UserAgent,
		Factors: make([]api.SessionFactor, 0, len(s.Factors)), Apps: make([]api.SessionApp, 0, len(apps))}
	for _, a := range apps {
		out.Apps = append(out.Apps, api.SessionApp{ClientID: a.ClientID, Name: a.ClientName})
	}
	for _, f := range s.Factors {
		out.Factors = append(out.Factors, api.SessionFactor{Method: f.Method, At: f.At.UTC()})
	}
	return out
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) error {
	if err := h.people.EndSession(r.Context(), actorFrom(r.Context()), r.PathValue("id"), r.PathValue("sid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) endSessions(w http.ResponseWriter, r *http.Request) error {
	n, err := h.people.EndSessions(r.Context(), actorFrom(r.Context()), r.PathValue("id"), "admin")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SessionsEnded{Ended: n})
	return nil
}

// ClientIP returns the client address of r as the API sees it (the
// trusted proxies' X-Forwarded-For applied).
func (h *Handler) ClientIP(r *http.Request) string { return h.clientIP(r) }

// onUserDisabled ends a disabled user's sessions at once.
func (h *Handler) onUserDisabled(r *http.Request, a *token.Actor, id string) {
	if h.people == nil {
		return
	}
	if _, err := h.people.EndSessions(r.Context(), a, id, "user_disabled"); err != nil {
		h.log.Error("end sessions of disabled user", "user", id, "err", err)
	}
}
