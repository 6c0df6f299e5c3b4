package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/token"
)

// The portal's keys and personal access tokens (/ui/me): a signed-in user
// lists their own keys with what each may do now, creates personal access
// tokens, rotates and revokes them. Every call goes to token.Service with
// people.PortalActor — an owner-bound actor with keys:read and keys:write
// — so authorization, limits and audit are exactly those of a personal
// credential on the API: another user's key is 404, the new key is the
// user's, scopes are only ones the user holds now.
//
// Which keyspaces: every keyspace but the management one. The API lets an
// owner-bound credential without admin create, rotate and revoke in any
// keyspace but the management keyspace (latchkey), whose keys need admin;
// the portal's actor never holds admin, so management keys — an
// administrator's personal ones included — are listed here but changed in
// the console (/ui/keys), which has its own step-up rules.
//
// Creating and rotating hand out a new secret: both need a second factor
// used in the last 5 minutes (SPEC §3.5 step-up), checked before the token
// service is called, so nothing is created without one. Revoking only
// takes power away and needs none.

// meTokenRoutes are the portal's token routes.
func (h *Handler) meTokenRoutes() map[string]func(http.ResponseWriter, *http.Request) error {
	return map[string]func(http.ResponseWriter, *http.Request) error{
		"POST /ui/me/tokens":             h.signedIn(h.createToken),
		"POST /ui/me/tokens/{id}/rotate": h.signedIn(h.rotateToken),
		"POST /ui/me/tokens/{id}/revoke": h.signedIn(h.revokeToken),
	}
}

// tokenRow is one of the user's keys as /ui/me lists it.
type tokenRow struct {
	Key   *token.Key
	State string
	// Effective are the scopes a verification grants now; Inert the
	// key's scopes the user no longer holds (token.Service.ScopesNow).
	Effective, Inert []string
	// Management: a key of the management keyspace, changed in the console.
	Management bool
	// OAuth: a key the OAuth server issued (token.ReservedKeyspace): an
	// app's access token or a grant of yours. Only the OAuth server
	// creates such keys, so it can be revoked here but not rotated; Grant
	// says it is a grant, revoked under "Apps you have authorized"
	// (/ui/me/grants/{id}/revoke) so that the app's tokens of it go too.
	OAuth, Grant         bool
	CanRotate, CanRevoke bool
}

// scopeChoice is a checkbox of the create form: one of the user's permissions.
type scopeChoice struct {
	Scope   string
	Checked bool
}

// tokenForm is what the create form shows: the keyspaces and scopes to
// choose from and, after a refusal, what the user had entered.
type tokenForm struct {
	Keyspaces []*token.Keyspace
	Keyspace  string
	Scopes    []scopeChoice
	Name      string
	ExpiresIn string
}

// portalActor is the session's actor for its own keys.
func (h *Handler) portalActor(r *http.Request, sess *people.Session) *token.Actor {
	return h.people.PortalActor(sess, r.Header.Get("X-Request-Id"), h.clientIP(r))
}

// tokensData is the data of /ui/me's keys section: the user's keys and the
// create form.
func (h *Handler) tokensData(r *http.Request, sess *people.Session, user *token.Principal) (map[string]any, error) {
	ctx, a := r.Context(), h.portalActor(r, sess)
	keys, next, err := h.tokens.Keys(ctx, a, token.KeyFilter{Limit: token.MaxPageSize})
	if err != nil {
		return nil, err
	}
	scopes, err := h.tokens.ScopesNow(ctx, keys)
	if err != nil {
		return nil, err
	}
	now := h.tokens.Now()
	rows := make([]tokenRow, 0, len(keys))
	for i, k := range keys {
		st := k.State(now)
		mgmt, isOAuth := k.Keyspace == token.ManagementKeyspace, token.ReservedKeyspace(k.Keyspace)
		rows = append(rows, tokenRow{Key: k, State: string(st), Effective: scopes[i].Effective, Inert: scopes[i].Inert, Management: mgmt,
			OAuth: isOAuth, Grant: k.Keyspace == oauth.GrantKeyspace,
			CanRotate: !mgmt && !isOAuth && (st == token.Active || st == token.Disabled) && k.RotatedTo == "",
			CanRevoke: !mgmt && st != token.Revoked})
	}
	spaces, err := h.tokens.Keyspaces(ctx, a)
	if err != nil {
		return nil, err
	}
	form := tokenForm{}
	for _, ks := range spaces {
		// OAuth's keyspaces: only the OAuth server creates keys there.
		if ks.Name != token.ManagementKeyspace && !token.ReservedKeyspace(ks.Name) {
			form.Keyspaces = append(form.Keyspaces, ks)
		}
	}
	// A refused create shows what the user had entered.
	var chosen []string
	if r.Method == http.MethodPost && r.URL.Path == "/ui/me/tokens" {
		form.Keyspace, form.Name, form.ExpiresIn = r.PostFormValue("keyspace"), r.PostFormValue("name"), r.PostFormValue("expires_in")
		chosen = r.PostForm["scope"]
	}
	if form.Keyspace == "" {
		form.Keyspace = token.DefaultKeyspace
	}
	// A token may carry the permissions the user holds; management ones
	// belong on management keys, which the console creates.
	for _, p := range user.Permissions {
		if !token.IsManagementScope(p) {
			form.Scopes = append(form.Scopes, scopeChoice{Scope: p, Checked: slices.Contains(chosen, p)})
		}
	}
	return map[string]any{"Tokens": rows, "TokensMore": next != "", "TokenForm": form,
		"Console": len(people.ManagementPermissions(user)) > 0}, nil
}

// tokenRefused renders /ui/me again with err if it is a refusal of the
// request (bad input, a conflict, a scope or keyspace the API refuses),
// or returns err (a missing key is a 404 page).
func (h *Handler) tokenRefused(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal, err error) error {
	switch token.KindOf(err) {
	case token.Invalid, token.Conflict, token.PermissionDenied:
		status, msg := statusOf(err)
		return h.mePage(w, r, sess, user, status, "", msg)
	}
	return err
}

// stepUpToken is the step-up prompt of creating and rotating a token.
func (h *Handler) stepUpToken(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal, what string) error {
	return h.stepUpPage(w, r, sess, user, http.StatusForbidden,
		what+" a personal access token needs a second factor used in the last 5 minutes. Confirm it, then "+strings.ToLower(what)+" the token again.")
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	if err := h.people.RequireStepUp(sess); err != nil {
		return h.stepUpToken(w, r, sess, user, "Creating")
	}
	f := r.PostForm
	p := token.CreateKeyParams{Keyspace: strings.TrimSpace(f.Get("keyspace")), Name: strings.TrimSpace(f.Get("name")), Scopes: f["scope"]}
	if p.Name == "" {
		return h.mePage(w, r, sess, user, http.StatusBadRequest, "", "Give the token a name that says what it is for, e.g. \"laptop CLI\".")
	}
	if v := strings.TrimSpace(f.Get("expires_in")); v != "" {
		d, err := api.ParseDuration(v)
		if err != nil || d <= 0 {
			return h.mePage(w, r, sess, user, http.StatusBadRequest, "", "Expires in: a duration such as 30d or 12h, or empty for the keyspace's default.")
		}
		p.ExpiresIn = d
	}
	full, err := h.tokenCapReached(r, sess)
	if err != nil {
		return err
	}
	if full {
		return h.mePage(w, r, sess, user, http.StatusConflict, "", fmt.Sprintf(
			"You have %d active personal access tokens, the most you can create here. Revoke the ones you no longer use, then create this one again.", portalTokenCap))
	}
	created, err := h.tokens.CreateKey(r.Context(), h.portalActor(r, sess), p)
	if token.KindOf(err) == token.PermissionDenied {
		// The API's refusal, said for a person.
		msg := "A token of yours can carry only permissions you hold now; uncheck the others."
		switch {
		case p.Keyspace == token.ManagementKeyspace:
			msg = "Management keys are not created here: an administrator creates them in the console."
		case token.ReservedKeyspace(p.Keyspace):
			msg = "OAuth tokens are not created here: an app gets them when you sign in to it."
		}
		return h.mePage(w, r, sess, user, http.StatusForbidden, "", msg)
	}
	if err != nil {
		return h.tokenRefused(w, r, sess, user, err)
	}
	return h.showToken(w, r, user, created, http.StatusCreated, "Your personal access token was created.")
}

func (h *Handler) rotateToken(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	ctx, a, id := r.Context(), h.portalActor(r, sess), r.PathValue("id")
	// Another user's key is a 404 whether or not the session stepped up.
	k, err := h.tokens.Key(ctx, a, id)
	if err != nil {
		return err
	}
	if token.ReservedKeyspace(k.Keyspace) {
		// The token service refuses too; this says it for a person.
		return h.mePage(w, r, sess, user, http.StatusForbidden, "", "OAuth tokens cannot be rotated: the app asks for a new one when it needs it. You can revoke this one.")
	}
	if err := h.people.RequireStepUp(sess); err != nil {
		return h.stepUpToken(w, r, sess, user, "Rotating")
	}
	grace, err := parseGrace(r.PostFormValue("grace"))
	if err != nil {
		return h.tokenRefused(w, r, sess, user, err)
	}
	created, _, err := h.tokens.RotateKey(ctx, a, id, grace)
	if err != nil {
		return h.tokenRefused(w, r, sess, user, err)
	}
	what := "The token was rotated: the old one stopped working."
	if grace > 0 {
		what = "The token was rotated: the old one keeps working for " + fmtDuration(grace) + "."
	}
	return h.showToken(w, r, user, created, http.StatusCreated, what)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, sess *people.Session, user *token.Principal) error {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if _, err := h.tokens.RevokeKey(r.Context(), h.portalActor(r, sess), r.PathValue("id"), reason); err != nil {
		return h.tokenRefused(w, r, sess, user, err)
	}
	return h.mePage(w, r, sess, user, http.StatusOK, "The token was revoked: it no longer works anywhere.", "")
}

// portalTokenCap bounds the unrevoked (active or disabled) keys a user may
// hold outside the management and OAuth keyspaces before the portal
// refuses to create another: a signed-in session cannot fill the store.
const portalTokenCap = 100

// tokenCapReached reports whether the session's user already holds
// portalTokenCap unrevoked keys in the keyspaces the portal creates in.
// It counts through the list call (token.Service has no count), per
// keyspace and state, reading no more than the cap.
func (h *Handler) tokenCapReached(r *http.Request, sess *people.Session) (bool, error) {
	ctx, a := r.Context(), h.portalActor(r, sess)
	spaces, err := h.tokens.Keyspaces(ctx, a)
	if err != nil {
		return false, err
	}
	n := 0
	for _, ks := range spaces {
		if ks.Name == token.ManagementKeyspace || token.ReservedKeyspace(ks.Name) {
			continue
		}
		for _, st := range []token.State{token.Active, token.Disabled} {
			keys, _, err := h.tokens.Keys(ctx, a, token.KeyFilter{Keyspace: ks.Name, State: st, Limit: portalTokenCap - n})
			if err != nil {
				return false, err
			}
			if n += len(keys); n >= portalTokenCap {
				return true, nil
			}
		}
	}
	return false, nil
}

// showToken is the show-once page of a new personal access token: the
// answer of a POST (never a URL), not stored (Cache-Control: no-store).
func (h *Handler) showToken(w http.ResponseWriter, r *http.Request, user *token.Principal, k *token.CreatedKey, status int, what string) error {
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "me_secret", h.data(w, r, map[string]any{"Title": "Copy your new token now", "User": user,
		"Key": k.Key, "Secret": k.Secret.Reveal(), "What": what}))
	return nil
}

// validKeyID reports whether id looks like a key ID (letters, digits, _
// and -, at most 64): safe to put in a path the step-up page goes back to.
func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
