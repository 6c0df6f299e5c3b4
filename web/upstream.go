package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/people/upstream"
	"github.com/latchkey/latchkey/token"
)

// upstreamLink is a "Sign in with <name>" link of the sign-in page.
type upstreamLink struct{ Name, Href string }

// upstreamLinks returns the sign-in page's links to the upstream
// providers, carrying return_to.
func (h *Handler) upstreamLinks(returnTo string) []upstreamLink {
	var out []upstreamLink
	for _, p := range h.upstreams {
		href := "/login/upstream/" + url.PathEscape(p.ID())
		if returnTo != "" {
			href += "?return_to=" + url.QueryEscape(returnTo)
		}
		out = append(out, upstreamLink{Name: p.Name(), Href: href})
	}
	return out
}

func (h *Handler) upstreamProvider(r *http.Request) (*upstream.Provider, error) {
	id := r.PathValue("id")
	for _, p := range h.upstreams {
		if p.ID() == id {
			return p, nil
		}
	}
	return nil, token.Errorf(token.NotFound, "unknown_provider", "there is no such sign-in provider")
}

// upstreamErr turns a provider failure into an error safe to show.
func upstreamErr(err error) error {
	switch {
	case errors.Is(err, upstream.ErrBadState):
		return &token.Error{Kind: token.Invalid, Code: "invalid_state", Msg: "this sign-in expired or did not start in this browser: sign in again", Err: err}
	case errors.Is(err, upstream.ErrRejected):
		return &token.Error{Kind: token.Unauthenticated, Code: "upstream_rejected", Msg: "the sign-in provider's answer could not be verified: sign in again", Err: err}
	case errors.Is(err, upstream.ErrUnavailable):
		return &token.Error{Kind: token.Unavailable, Code: "upstream_unavailable", Msg: "the sign-in provider cannot be reached; try again later", Err: err}
	}
	return err
}

// upstreamStart answers GET /login/upstream/{id}: the state (state,
// nonce, PKCE verifier, return_to) goes into a short-lived HttpOnly
// SameSite=Lax cookie under an HMAC, and the browser to the provider.
func (h *Handler) upstreamStart(w http.ResponseWriter, r *http.Request) error {
	p, err := h.upstreamProvider(r)
	if err != nil {
		return err
	}
	dest, st, err := p.Start(r.Context(), safeReturn(r.URL.Query().Get("return_to")), h.people.Now())
	if err != nil {
		h.log.Warn("upstream sign-in", "provider", p.ID(), "err", err)
		return upstreamErr(err)
	}
	http.SetCookie(w, &http.Cookie{Name: h.upstreamCookie, Value: h.upstreamState.Seal(st), Path: "/",
		MaxAge: int(upstream.StateTTL.Seconds()), HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, dest, http.StatusSeeOther)
	return nil
}

// upstreamCallback answers GET /login/upstream/{id}/callback: the state
// must be the cookie's (constant time), the code redeems with the PKCE
// verifier, the ID token verifies (iss, aud, exp, nonce); then the people
// service signs the user in and the browser goes to return_to.
func (h *Handler) upstreamCallback(w http.ResponseWriter, r *http.Request) error {
	p, err := h.upstreamProvider(r)
	if err != nil {
		return err
	}
	h.clear(w, h.upstreamCookie)
	st, err := h.upstreamState.Open(h.cookie(r, h.upstreamCookie), h.people.Now())
	q := r.URL.Query()
	if err == nil && (st.Provider != p.ID() || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1) {
		err = upstream.ErrBadState
	}
	refused := func(reason string) {
		h.people.ExternalRefused(r.Context(), "oidc:"+p.ID(), reason, h.signInRequest(r))
	}
	if err != nil {
		refused("upstream_state")
		return upstreamErr(err)
	}
	// RFC 9207: a provider that names itself must be the one asked.
	if iss := q.Get("iss"); iss != "" && strings.TrimSuffix(iss, "/") != strings.TrimSuffix(p.Issuer(), "/") {
		refused("upstream_issuer")
		return upstreamErr(fmt.Errorf("%w: iss %q", upstream.ErrRejected, iss))
	}
	if e := q.Get("error"); e != "" {
		refused("upstream_denied")
		return token.Errorf(token.PermissionDenied, "upstream_denied", "the sign-in provider did not sign you in")
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		return token.Errorf(token.Invalid, "invalid_request", "the sign-in provider sent no code")
	}
	id, err := p.Finish(r.Context(), st, code)
	if err != nil {
		h.log.Warn("upstream sign-in refused", "provider", p.ID(), "err", err)
		if errors.Is(err, upstream.ErrRejected) {
			refused("upstream_rejected")
		}
		return upstreamErr(err)
	}
	req := h.signInRequest(r)
	res, err := h.people.SignInExternal(r.Context(), people.ExternalUser{UserID: id.UserID, Source: id.Source, ExternalID: id.Subject,
		Name: id.Name, Email: id.Email, EmailVerified: id.EmailVerified, Groups: id.Groups, Permissions: id.Permissions}, req)
	if err != nil {
		return err
	}
	if res.Pending != nil {
		http.SetCookie(w, &http.Cookie{Name: h.signinCookie, Value: res.PendingCookie, Path: "/", MaxAge: int(people.PendingTimeout.Seconds()),
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
		dest := "/login/verify"
		if st.ReturnTo != "" {
			dest += "?return_to=" + url.QueryEscape(st.ReturnTo)
		}
		http.Redirect(w, r, dest, http.StatusSeeOther)
		return nil
	}
	h.finish(w, r, res, st.ReturnTo)
	return nil
}
