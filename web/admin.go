package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// The admin console (/ui and the pages under it but /ui/me): every page
// acts through the same domain calls as the JSON API, with the actor
// people.AdminActor gives the session — the user's current management
// permissions, only after a sign-in with a second factor.

// adminFunc is a console page: the session, its user and the admin actor.
type adminFunc func(w http.ResponseWriter, r *http.Request, c *adminCtx) error

type adminCtx struct {
	sess  *people.Session
	user  *token.Principal
	actor *token.Actor
}

// pageSize is the number of rows of a console listing.
const pageSize = 50

// adminRoutes are the console's routes.
func (h *Handler) adminRoutes() map[string]func(http.ResponseWriter, *http.Request) error {
	return map[string]func(http.ResponseWriter, *http.Request) error{
		"GET /ui":                              h.home,
		"GET /ui/keyspaces":                    h.admin(h.keyspacesPage),
		"POST /ui/keyspaces":                   h.admin(h.createKeyspace),
		"GET /ui/keyspaces/{name}":             h.admin(h.keyspacePage),
		"POST /ui/keyspaces/{name}":            h.admin(h.updateKeyspace),
		"GET /ui/users":                        h.admin(h.principalsPage(token.User)),
		"POST /ui/users":                       h.admin(h.createPrincipal(token.User)),
		"GET /ui/users/{id}":                   h.admin(h.principalPage(token.User)),
		"POST /ui/users/{id}":                  h.admin(h.updatePrincipal(token.User)),
		"GET /ui/apps":                         h.admin(h.principalsPage(token.App)),
		"POST /ui/apps":                        h.admin(h.createPrincipal(token.App)),
		"GET /ui/apps/{id}":                    h.admin(h.principalPage(token.App)),
		"POST /ui/apps/{id}":                   h.admin(h.updatePrincipal(token.App)),
		"POST /ui/apps/{id}/secret":            h.admin(h.rotateAppSecret),
		"POST /ui/apps/{id}/oauth":             h.admin(h.setAppOAuth),
		"GET /ui/keys":                         h.admin(h.keysPage),
		"POST /ui/keys":                        h.admin(h.createKey),
		"GET /ui/keys/{id}":                    h.admin(h.keyPage),
		"POST /ui/keys/{id}/rotate":            h.admin(h.rotateKey),
		"POST /ui/keys/{id}/renew":             h.admin(h.renewKey),
		"POST /ui/keys/{id}/revoke":            h.admin(h.revokeKey),
		"POST /ui/keys/{id}/delete":            h.admin(h.deleteKey),
		"POST /ui/keys/{id}/reveal":            h.admin(h.revealKey),
		"GET /ui/audit":                        h.admin(h.auditPage),
		"GET /ui/signing-keys":                 h.admin(h.signingKeysPage),
		"POST /ui/signing-keys/rotate":         h.admin(h.rotateSigningKey),
		"POST /ui/signing-keys/rotate-at-once": h.admin(h.rotateSigningKeyNow),
	}
}

// admin checks CSRF (on a POST), the session and the admin actor: no
// session → /login; no management permission → 403; no second factor at
// sign-in → a page saying so.
func (h *Handler) admin(fn adminFunc) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method == http.MethodPost {
			if err := h.checkCSRF(r); err != nil {
				return err
			}
		}
		sess, user, err := h.people.Authenticate(r.Context(), h.cookie(r, h.sessionCookie))
		if err != nil {
			if token.KindOf(err) == token.Unauthenticated {
				ret := "/ui"
				if r.Method == http.MethodGet {
					ret = r.URL.RequestURI()
				}
				http.Redirect(w, r, "/login?return_to="+url.QueryEscape(ret), http.StatusSeeOther)
				return nil
			}
			return err
		}
		a, err := people.AdminActor(sess, user, r.Header.Get("X-Request-Id"), h.clientIP(r), h.people.Now())
		switch {
		case errors.Is(err, people.ErrNotAdmin):
			h.render(w, r, http.StatusForbidden, "message", h.data(w, r, map[string]any{"Title": "Administrators only", "User": user,
				"Message": "This page is for administrators. Your account holds no management permission; an administrator can grant you one.",
				"Link":    "/ui/me", "LinkText": "Go to your account"}))
			return nil
		case errors.Is(err, people.ErrAdminSecondFactor):
			h.render(w, r, http.StatusForbidden, "secondfactor", h.data(w, r, map[string]any{"Title": "A second factor is needed", "User": user}))
			return nil
		case err != nil:
			return err
		}
		return fn(w, r, &adminCtx{sess: sess, user: user, actor: a})
	}
}

// adminData is a console page's data: the signed-in admin and the section.
func (h *Handler) adminData(w http.ResponseWriter, r *http.Request, c *adminCtx, section string, d map[string]any) map[string]any {
	d["User"], d["Admin"], d["Section"] = c.user, true, section
	d["May"] = func(s string) bool { return c.actor.May(s) }
	d["OpsNav"] = h.opsNav()
	return h.data(w, r, d)
}

// home is /ui: the console for an admin, the portal for everyone else.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	_, user, err := h.people.Authenticate(r.Context(), h.cookie(r, h.sessionCookie))
	if err == nil && len(people.ManagementPermissions(user)) == 0 {
		http.Redirect(w, r, "/ui/me", http.StatusSeeOther)
		return nil
	}
	if err != nil && token.KindOf(err) != token.Unauthenticated {
		return err
	}
	return h.admin(h.dashboard)(w, r)
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	ctx, a := r.Context(), c.actor
	d := map[string]any{"Title": "Console"}
	status := http.StatusOK
	if a.May(token.ScopeKeysRead) || a.May(token.ScopeKeysWrite) {
		ks, err := h.tokens.Keyspaces(ctx, a)
		if err != nil {
			return err
		}
		d["Keyspaces"] = len(ks)
		var msg string
		if d["Usage"], status, msg, err = h.dashboardUsage(ctx, a, r.URL.Query(), ks); err != nil {
			return err
		}
		d["Error"] = msg
		l, next, err := h.tokens.Keys(ctx, a, token.KeyFilter{Limit: 500})
		if err != nil {
			return err
		}
		// Getting started until a key exists besides management credentials.
		apiKeys := 0
		for _, k := range l {
			if k.Keyspace != token.ManagementKeyspace {
				apiKeys++
			}
		}
		d["Keys"], d["KeysMore"], d["KeysRead"], d["NoKeys"] = len(l), next != "", true, apiKeys == 0 && next == ""
	}
	if a.May(token.ScopePrincipalsWrite) {
		for _, typ := range []token.PrincipalType{token.User, token.App} {
			l, next, err := h.tokens.Principals(ctx, a, token.PrincipalFilter{Type: typ, Limit: 500})
			if err != nil {
				return err
			}
			d[string(typ)+"s"], d[string(typ)+"sMore"] = len(l), next != ""
		}
		d["PrincipalsRead"] = true
	}
	if a.May(token.ScopeAuditRead) {
		ev, _, err := h.tokens.Audit(ctx, a, token.AuditFilter{Limit: 10})
		if err != nil {
			return err
		}
		d["Events"] = ev
	}
	h.render(w, r, status, "admin_home", h.adminData(w, r, c, "home", d))
	return nil
}

// ---- keyspaces

func (h *Handler) keyspacesPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.renderKeyspaces(w, r, c, http.StatusOK, "", "")
}

func (h *Handler) renderKeyspaces(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
	ks, err := h.tokens.Keyspaces(r.Context(), c.actor)
	if err != nil {
		return err
	}
	h.render(w, r, status, "admin_keyspaces", h.adminData(w, r, c, "keyspaces", map[string]any{"Title": "Keyspaces",
		"Keyspaces": ks, "Notice": notice, "Error": errMsg, "Form": r.PostForm}))
	return nil
}

// keyspaceForm reads a keyspace form (create or edit: both send every
// field) into p.
func keyspaceForm(r *http.Request, p *token.KeyspaceParams) error {
	f := r.PostForm
	if v := strings.TrimSpace(f.Get("prefix")); v != "" {
		p.Prefix = &v
	}
	for _, d := range []struct {
		field string
		dst   **time.Duration
	}{{"default_ttl", &p.DefaultTTL}, {"max_ttl", &p.MaxTTL}} {
		v := strings.TrimSpace(f.Get(d.field))
		var n time.Duration
		if v != "" {
			x, err := api.ParseDuration(v)
			if err != nil {
				return token.Errorf(token.Invalid, "bad_duration", "%s: %s (e.g. 30d, 12h)", strings.ReplaceAll(d.field, "_", " "), err.Error())
			}
			n = x
		}
		*d.dst = &n
	}
	perm := f.Get("allow_permanent") == "on"
	p.AllowPermanent = &perm
	sc := strings.Fields(f.Get("scopes"))
	p.Scopes = &sc
	limits, err := parseLimits(f.Get("rate_limits"))
	if err != nil {
		return err
	}
	p.RateLimits = &limits
	return nil
}

// parseLimits reads rate limits, one per line: "name limit window", e.g.
// "default 100 1m".
func parseLimits(s string) ([]ratelimit.Limit, error) {
	out := []ratelimit.Limit{}
	for line := range strings.SplitSeq(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := token.Errorf(token.Invalid, "bad_rate_limit", "rate limit %q: write one per line as name, count and window, e.g. \"default 100 1m\"", truncate(line, 40))
		if len(f) != 3 {
			return nil, bad
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, bad
		}
		win, err := api.ParseDuration(f[2])
		if err != nil {
			return nil, bad
		}
		l := ratelimit.Limit{Name: f[0], Limit: n, Window: win}
		if err := l.Validate(); err != nil {
			return nil, token.Errorf(token.Invalid, "bad_rate_limit", "rate limit %q: %s", f[0], strings.TrimPrefix(err.Error(), "ratelimit: invalid limit: "))
		}
		out = append(out, l)
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func (h *Handler) createKeyspace(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	p := token.KeyspaceParams{Name: strings.TrimSpace(r.PostFormValue("name"))}
	if err := keyspaceForm(r, &p); err != nil {
		return h.formError(w, r, c, err, h.renderKeyspaces)
	}
	ks, err := h.tokens.CreateKeyspace(r.Context(), c.actor, p)
	if err != nil {
		return h.formError(w, r, c, err, h.renderKeyspaces)
	}
	http.Redirect(w, r, "/ui/keyspaces/"+url.PathEscape(ks.Name)+"?created=1", http.StatusSeeOther)
	return nil
}

// formError renders a refused form again with the error, or returns err
// if it is no refusal of the input.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, c *adminCtx, err error, again func(http.ResponseWriter, *http.Request, *adminCtx, int, string, string) error) error {
	switch token.KindOf(err) {
	case token.Invalid, token.Conflict:
		status, msg := statusOf(err)
		return again(w, r, c, status, "", msg)
	}
	return err
}

func (h *Handler) keyspacePage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	notice := ""
	if r.URL.Query().Get("created") == "1" {
		notice = "The keyspace was created. Create its first key on the keys page."
	}
	return h.renderKeyspace(w, r, c, http.StatusOK, notice, "")
}

func (h *Handler) renderKeyspace(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
	ks, err := h.tokens.Keyspace(r.Context(), c.actor, r.PathValue("name"))
	if err != nil {
		return err
	}
	h.render(w, r, status, "admin_keyspace", h.adminData(w, r, c, "keyspaces", map[string]any{"Title": "Keyspace " + ks.Name,
		"Keyspace": ks, "Limits": formatLimits(ks.RateLimits), "Notice": notice, "Error": errMsg}))
	return nil
}

func formatLimits(ls []ratelimit.Limit) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Name + " " + strconv.FormatInt(l.Limit, 10) + " " + fmtDuration(l.Window) + "\n")
	}
	return b.String()
}

// fmtDuration writes d as the forms read it: whole days as "30d".
func fmtDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	if d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

func (h *Handler) updateKeyspace(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	p := token.KeyspaceParams{Name: r.PathValue("name")}
	if err := keyspaceForm(r, &p); err != nil {
		return h.formError(w, r, c, err, h.renderKeyspace)
	}
	p.Prefix = nil // fixed at creation
	if _, err := h.tokens.UpdateKeyspace(r.Context(), c.actor, p); err != nil {
		return h.formError(w, r, c, err, h.renderKeyspace)
	}
	return h.renderKeyspace(w, r, c, http.StatusOK, "The keyspace was saved.", "")
}

// ---- users and apps

func (h *Handler) principalsPage(typ token.PrincipalType) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
		return h.renderPrincipals(typ)(w, r, c, http.StatusOK, "", "")
	}
}

func (h *Handler) renderPrincipals(typ token.PrincipalType) func(http.ResponseWriter, *http.Request, *adminCtx, int, string, string) error {
	return func(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
		after := r.URL.Query().Get("after")
		l, next, err := h.tokens.Principals(r.Context(), c.actor, token.PrincipalFilter{Type: typ, After: after, Limit: pageSize})
		if err != nil {
			return err
		}
		title := "Users"
		if typ == token.App {
			title = "Apps"
		}
		h.render(w, r, status, "admin_principals", h.adminData(w, r, c, string(typ)+"s", map[string]any{"Title": title,
			"Type": string(typ), "Principals": l, "Next": next, "Notice": notice, "Error": errMsg,
			"Scopes": token.ManagementScopes, "OAuth": h.oauth != nil && typ == token.App}))
		return nil
	}
}

// stepUpGrant is the step-up prompt for giving a user or app a management
// permission (a hijacked console session must not make itself an admin).
const stepUpGrant = "Giving a management permission needs a second factor used in the last 5 minutes. Confirm it, then save again."

func (h *Handler) createPrincipal(typ token.PrincipalType) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
		p := token.CreatePrincipalParams{Type: typ, ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
			Permissions: strings.Fields(r.PostFormValue("permissions"))}
		if typ == token.User {
			p.Email = strings.TrimSpace(r.PostFormValue("email"))
		}
		again := h.renderPrincipals(typ)
		if len(people.ManagementPermissions(&token.Principal{Permissions: p.Permissions})) > 0 {
			if err := h.people.RequireStepUp(c.sess); err != nil {
				return h.stepUpPage(w, r, c.sess, c.user, http.StatusForbidden, stepUpGrant)
			}
		}
		if _, err := h.tokens.CreatePrincipal(r.Context(), c.actor, p); err != nil {
			return h.formError(w, r, c, err, again)
		}
		http.Redirect(w, r, "/ui/"+string(typ)+"s/"+url.PathEscape(p.ID)+"?created=1", http.StatusSeeOther)
		return nil
	}
}

func (h *Handler) principalPage(typ token.PrincipalType) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
		notice := ""
		if r.URL.Query().Get("created") == "1" {
			notice = "Created."
			if typ == token.User {
				notice += " Give them a password with `latchkey users set-password`, or create a key for them on the keys page."
			}
		}
		return h.renderPrincipal(typ, nil)(w, r, c, http.StatusOK, notice, "")
	}
}

// renderPrincipal renders a user's or an app's page; extra (a new client
// secret) is added to its data.
func (h *Handler) renderPrincipal(typ token.PrincipalType, extra map[string]any) func(http.ResponseWriter, *http.Request, *adminCtx, int, string, string) error {
	return func(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
		ctx := r.Context()
		p, err := h.tokens.Principal(ctx, c.actor, typ, r.PathValue("id"))
		if err != nil {
			return err
		}
		d := map[string]any{"Title": string(typ) + " " + p.ID, "Type": string(typ), "P": p, "Notice": notice, "Error": errMsg}
		if c.actor.May(token.ScopeKeysRead) || c.actor.May(token.ScopeKeysWrite) {
			keys, next, err := h.tokens.Keys(ctx, c.actor, token.KeyFilter{OwnerType: typ, OwnerID: p.ID, Limit: pageSize})
			if err != nil {
				return err
			}
			d["Keys"], d["KeysMore"], d["KeysRead"] = keys, next != "", true
		}
		if typ == token.App && h.oauth != nil {
			cl, err := h.oauth.Client(ctx, p.ID)
			if err != nil {
				return err
			}
			d["Client"], d["OAuth"] = cl, true
			d["AuthMethods"] = []string{oauth.AuthSecretBasic, oauth.AuthSecretPost, oauth.AuthPrivateKeyJWT, oauth.AuthNone}
		}
		for k, v := range extra {
			d[k] = v
		}
		h.render(w, r, status, "admin_principal", h.adminData(w, r, c, string(typ)+"s", d))
		return nil
	}
}

func (h *Handler) updatePrincipal(typ token.PrincipalType) adminFunc {
	return func(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
		var p token.UpdatePrincipalParams
		notice := "Saved."
		switch r.PostFormValue("op") {
		case "disable", "enable":
			v := r.PostFormValue("op") == "disable"
			p.Disabled = &v
			notice = "Enabled again: its keys work again."
			if v {
				notice = "Disabled: none of its keys verifies any more."
			}
		default:
			perms := strings.Fields(r.PostFormValue("permissions"))
			name := strings.TrimSpace(r.PostFormValue("name"))
			p.Permissions, p.Name = &perms, &name
			cur, err := h.tokens.Principal(r.Context(), c.actor, typ, r.PathValue("id"))
			if err != nil {
				return err
			}
			held := people.ManagementPermissions(cur)
			for _, m := range people.ManagementPermissions(&token.Principal{Permissions: perms}) {
				if !slices.Contains(held, m) {
					if err := h.people.RequireStepUp(c.sess); err != nil {
						return h.stepUpPage(w, r, c.sess, c.user, http.StatusForbidden, stepUpGrant)
					}
					break
				}
			}
		}
		again := h.renderPrincipal(typ, nil)
		if _, err := h.tokens.UpdatePrincipal(r.Context(), c.actor, typ, r.PathValue("id"), p); err != nil {
			return h.formError(w, r, c, err, again)
		}
		return again(w, r, c, http.StatusOK, notice, "")
	}
}

func (h *Handler) rotateAppSecret(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	again := h.renderPrincipal(token.App, nil)
	grace, err := parseGrace(r.PostFormValue("grace"))
	if err != nil {
		return h.formError(w, r, c, err, again)
	}
	secret, until, err := h.oauth.RotateSecret(r.Context(), c.actor, r.PathValue("id"), grace)
	if err != nil {
		return h.formError(w, r, c, err, again)
	}
	notice := "The app has a new client secret; the old one stopped working."
	if !until.IsZero() {
		notice = "The app has a new client secret; the old one keeps working until " + until.UTC().Format("2006-01-02 15:04 UTC") + "."
	}
	return h.renderPrincipal(token.App, map[string]any{"NewSecret": secret})(w, r, c, http.StatusOK, notice, "")
}

// setAppOAuth changes an app's redirect URIs, grant types and client
// authentication, keeping its other OAuth settings; a new client secret
// (the app became a client authenticating with one) is shown once.
func (h *Handler) setAppOAuth(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if h.oauth == nil {
		return errNoOAuth
	}
	id := r.PathValue("id")
	again := h.renderPrincipal(token.App, nil)
	if _, err := h.tokens.Principal(r.Context(), c.actor, token.App, id); err != nil {
		return err
	}
	cl, err := h.oauth.Client(r.Context(), id)
	if err != nil {
		return err
	}
	var set oauth.Settings
	if cl != nil {
		set = cl.Settings
	}
	set.RedirectURIs = strings.Fields(r.PostFormValue("redirect_uris"))
	set.GrantTypes = strings.Fields(r.PostFormValue("grant_types"))
	set.TokenEndpointAuthMethod = r.PostFormValue("token_endpoint_auth_method")
	_, secret, err := h.oauth.SetSettings(r.Context(), c.actor, id, set)
	if err != nil {
		return h.formError(w, r, c, err, again)
	}
	extra := map[string]any{}
	if secret != "" {
		extra["NewSecret"] = secret
	}
	return h.renderPrincipal(token.App, extra)(w, r, c, http.StatusOK, "The OAuth settings were saved.", "")
}

func parseGrace(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	d, err := api.ParseDuration(s)
	if err != nil {
		return 0, token.Errorf(token.Invalid, "bad_grace_period", "grace period: %s (e.g. 1h, 7d, or empty for none)", err.Error())
	}
	return d, nil
}

// ---- keys

func (h *Handler) keysPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.renderKeys(w, r, c, http.StatusOK, "", "")
}

// keyFilter reads the listing's filter from the query.
func keyFilter(q url.Values, now time.Time) (token.KeyFilter, error) {
	f := token.KeyFilter{Keyspace: strings.TrimSpace(q.Get("keyspace")), State: token.State(q.Get("state")), After: q.Get("after"), Now: now, Limit: pageSize}
	if f.State != "" && !token.ValidState(f.State) {
		return f, token.Errorf(token.Invalid, "bad_state", "state must be active, disabled, revoked or expired")
	}
	if o := strings.TrimSpace(q.Get("owner")); o != "" {
		owner, err := parseOwner(o)
		if err != nil {
			return f, err
		}
		f.OwnerType, f.OwnerID = owner.Type, owner.ID
	}
	return f, nil
}

// parseOwner reads "user:alice" or "app:billing" (a bare ID is a user).
func parseOwner(s string) (*token.Owner, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok {
		typ, id = string(token.User), s
	}
	switch token.PrincipalType(typ) {
	case token.User, token.App:
	default:
		return nil, token.Errorf(token.Invalid, "bad_owner", "owner: write user:ID or app:ID")
	}
	if id == "" {
		return nil, token.Errorf(token.Invalid, "bad_owner", "owner: write user:ID or app:ID")
	}
	return &token.Owner{Type: token.PrincipalType(typ), ID: id}, nil
}

func (h *Handler) renderKeys(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
	ctx, q := r.Context(), r.URL.Query()
	now := h.tokens.Now()
	f, err := keyFilter(q, now)
	var keys []*token.Key
	var next string
	if err == nil {
		keys, next, err = h.tokens.Keys(ctx, c.actor, f)
	}
	if err != nil {
		if token.KindOf(err) != token.Invalid {
			return err
		}
		_, errMsg = statusOf(err)
		status = http.StatusBadRequest
	}
	var spaces []*token.Keyspace
	if spaces, err = h.tokens.Keyspaces(ctx, c.actor); err != nil {
		return err
	}
	nextURL := ""
	if next != "" {
		nq := url.Values{}
		for _, k := range []string{"keyspace", "owner", "state"} {
			if v := q.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		nq.Set("after", next)
		nextURL = "/ui/keys?" + nq.Encode()
	}
	h.render(w, r, status, "admin_keys", h.adminData(w, r, c, "keys", map[string]any{"Title": "Keys", "Keys": keys, "Now": now,
		"Keyspaces": spaces, "Filter": q, "Next": nextURL, "Notice": notice, "Error": errMsg, "Form": r.PostForm,
		"States": []token.State{token.Active, token.Disabled, token.Revoked, token.Expired}}))
	return nil
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	f := r.PostForm
	p := token.CreateKeyParams{Keyspace: strings.TrimSpace(f.Get("keyspace")), Name: strings.TrimSpace(f.Get("name")), Scopes: strings.Fields(f.Get("scopes"))}
	err := func() error {
		if o := strings.TrimSpace(f.Get("owner")); o != "" {
			owner, err := parseOwner(o)
			if err != nil {
				return err
			}
			p.Owner = owner
		}
		if v := strings.TrimSpace(f.Get("expires_in")); v != "" {
			d, err := api.ParseDuration(v)
			if err != nil || d <= 0 {
				return token.Errorf(token.Invalid, "bad_duration", "expires in: a duration such as 30d or 12h")
			}
			p.ExpiresIn = d
		}
		if v := strings.TrimSpace(f.Get("remaining")); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return token.Errorf(token.Invalid, "bad_remaining", "credits: a whole number, 0 or more (empty: unlimited)")
			}
			p.Remaining = &n
		}
		return nil
	}()
	if err == nil {
		// A management credential, or a key acting as the admin: SPEC §3.5
		// step-up, as the portal asks for its personal tokens.
		if msg := stepUpKeyMsg(p.Keyspace, p.Owner, c.user, "Creating", "create"); msg != "" {
			if err := h.people.RequireStepUp(c.sess); err != nil {
				return h.stepUpPage(w, r, c.sess, c.user, http.StatusForbidden, msg)
			}
		}
	}
	var created *token.CreatedKey
	if err == nil {
		created, err = h.tokens.CreateKey(r.Context(), c.actor, p)
	}
	if err != nil {
		return h.formError(w, r, c, err, h.renderKeys)
	}
	return h.showSecret(w, r, c, created, "The key was created.")
}

// stepUpKeyMsg returns the step-up prompt for creating or rotating a key
// of keyspace ks owned by owner, or "" when none is needed. A management
// credential needs one; so does a key of the acting admin's own, which
// acts as them — the portal asks the same for a personal access token, so
// the console is no way around it.
func stepUpKeyMsg(ks string, owner *token.Owner, user *token.Principal, doing, do string) string {
	switch {
	case ks == token.ManagementKeyspace:
		return doing + " a management credential needs a second factor used in the last 5 minutes. Confirm it, then " + do + " the key again."
	case owner != nil && user != nil && owner.Type == token.User && owner.ID == user.ID:
		return doing + " a key of your own needs a second factor used in the last 5 minutes, as for a personal access token. Confirm it, then " + do + " the key again."
	}
	return ""
}

// showSecret is the show-once page of a new key: a POST answer (never a
// URL), not stored (Cache-Control: no-store, set on every page).
func (h *Handler) showSecret(w http.ResponseWriter, r *http.Request, c *adminCtx, k *token.CreatedKey, what string) error {
	w.Header().Set("Cache-Control", "no-store")
	d := map[string]any{"Title": "Copy the new key now", "Key": k.Key, "Secret": k.Secret.Reveal(), "What": what}
	if !k.SigningSecret.IsZero() {
		d["SigningSecret"] = k.SigningSecret.Reveal()
	}
	h.render(w, r, http.StatusCreated, "admin_secret", h.adminData(w, r, c, "keys", d))
	return nil
}

func (h *Handler) keyPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.renderKey(w, r, c, http.StatusOK, "", "")
}

func (h *Handler) renderKey(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
	ctx, id := r.Context(), r.PathValue("id")
	k, err := h.tokens.Key(ctx, c.actor, id)
	if err != nil {
		return err
	}
	now := h.tokens.Now()
	scopes, err := h.tokens.ScopesNow(ctx, []*token.Key{k})
	if err != nil {
		return err
	}
	usage, st, msg, err := h.keyUsageChart(ctx, c.actor, id, r.URL.Query())
	if err != nil {
		return err
	}
	if errMsg == "" && msg != "" {
		status, errMsg = st, msg
	}
	d := map[string]any{"Title": "Key " + k.ID, "Key": k, "State": string(k.State(now)), "Effective": scopes[0].Effective, "Inert": scopes[0].Inert,
		"Usage": usage, "Notice": notice, "Error": errMsg}
	d["Reveal"] = h.mayReveal(ctx, c, k)
	if c.actor.May(token.ScopeAuditRead) {
		ev, _, err := h.tokens.Audit(ctx, c.actor, token.AuditFilter{TargetID: k.ID, Limit: pageSize})
		if err != nil {
			return err
		}
		d["Events"], d["AuditRead"] = ev, true
	}
	h.render(w, r, status, "admin_key", h.adminData(w, r, c, "keys", d))
	return nil
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	grace, err := parseGrace(r.PostFormValue("grace"))
	if err != nil {
		return h.formError(w, r, c, err, h.renderKey)
	}
	k, err := h.tokens.Key(r.Context(), c.actor, r.PathValue("id"))
	if err != nil {
		return h.formError(w, r, c, err, h.renderKey)
	}
	// A new management credential or personal key, as creating one:
	// SPEC §3.5 step-up.
	if msg := stepUpKeyMsg(k.Keyspace, k.Owner, c.user, "Rotating", "rotate"); msg != "" {
		if err := h.people.RequireStepUp(c.sess); err != nil {
			return h.stepUpPage(w, r, c.sess, c.user, http.StatusForbidden, msg)
		}
	}
	created, _, err := h.tokens.RotateKey(r.Context(), c.actor, r.PathValue("id"), grace)
	if err != nil {
		return h.formError(w, r, c, err, h.renderKey)
	}
	what := "The key was rotated: the old key stopped working."
	if grace > 0 {
		what = "The key was rotated: the old key keeps working for " + fmtDuration(grace) + "."
	}
	return h.showSecret(w, r, c, created, what)
}

func (h *Handler) renewKey(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if _, err := h.tokens.RenewKey(r.Context(), c.actor, r.PathValue("id")); err != nil {
		return h.formError(w, r, c, err, h.renderKey)
	}
	return h.renderKey(w, r, c, http.StatusOK, "The key was renewed.", "")
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if _, err := h.tokens.RevokeKey(r.Context(), c.actor, r.PathValue("id"), reason); err != nil {
		return h.formError(w, r, c, err, h.renderKey)
	}
	return h.renderKey(w, r, c, http.StatusOK, "The key was revoked: it no longer verifies anywhere.", "")
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if err := h.tokens.DeleteKey(r.Context(), c.actor, r.PathValue("id")); err != nil {
		return h.formError(w, r, c, err, h.renderKey)
	}
	return h.renderKeys(w, r, c, http.StatusOK, "The key was deleted.", "")
}

// ---- audit log

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.renderAudit(w, r, c, http.StatusOK, "", "")
}

func (h *Handler) renderAudit(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
	q := r.URL.Query()
	f := token.AuditFilter{Action: strings.TrimSpace(q.Get("action")), TargetID: strings.TrimSpace(q.Get("target")),
		ActorID: strings.TrimSpace(q.Get("actor")), Before: q.Get("before"), Limit: pageSize}
	ev, next, err := h.tokens.Audit(r.Context(), c.actor, f)
	if err != nil {
		if token.KindOf(err) != token.Invalid {
			return err
		}
		status, errMsg = statusOf(err)
	}
	nextURL := ""
	if next != "" {
		nq := url.Values{}
		for _, k := range []string{"action", "target", "actor"} {
			if v := q.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		nq.Set("before", next)
		nextURL = "/ui/audit?" + nq.Encode()
	}
	d := map[string]any{"Title": "Audit log", "Events": ev, "Filter": q, "Next": nextURL, "Notice": notice, "Error": errMsg}
	if err := h.auditChainData(r.Context(), ev, d); err != nil {
		return err
	}
	h.render(w, r, status, "admin_audit", h.adminData(w, r, c, "audit", d))
	return nil
}

// ---- signing keys

type signingKeyRow struct {
	ID, Alg, State                 string
	NotBefore, SignUntil, RetireAt time.Time
}

func (h *Handler) signingKeysPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.renderSigningKeys(w, r, c, http.StatusOK, "", "")
}

func (h *Handler) renderSigningKeys(w http.ResponseWriter, r *http.Request, c *adminCtx, status int, notice, errMsg string) error {
	if err := h.tokens.Require(r.Context(), c.actor, token.ScopeKeysRead, "signing_key.list", "", ""); err != nil {
		return err
	}
	d := map[string]any{"Title": "Signing keys", "Enabled": h.signer != nil, "Notice": notice, "Error": errMsg,
		"Algs": []string{signer.EdDSA, signer.ES256, signer.RS256}}
	if h.signer != nil {
		if err := h.signer.Load(r.Context()); err != nil {
			return token.Unavailablef(err, "signing keys unavailable")
		}
		now := h.tokens.Now()
		var rows []signingKeyRow
		for _, k := range h.signer.Ring().Keys() {
			if !now.Before(k.RetireAt) {
				continue
			}
			state := "retiring"
			switch {
			case now.Before(k.NotBefore):
				state = "pending"
			case now.Before(k.SignUntil):
				state = "active"
			}
			rows = append(rows, signingKeyRow{k.ID, k.Alg, state, k.NotBefore, k.SignUntil, k.RetireAt})
		}
		d["Keys"] = rows
	}
	h.render(w, r, status, "admin_signing", h.adminData(w, r, c, "signing", d))
	return nil
}

func (h *Handler) rotateSigningKey(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	return h.rotateSigning(w, r, c, false)
}

// rotateSigningKeyNow withdraws every other key at once: SPEC §3.5 step-up.
func (h *Handler) rotateSigningKeyNow(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if err := h.people.RequireStepUp(c.sess); err != nil {
		return h.stepUpPage(w, r, c.sess, c.user, http.StatusForbidden,
			"Rotating the signing key at once needs a second factor used in the last 5 minutes. Confirm it, then rotate again.")
	}
	return h.rotateSigning(w, r, c, true)
}

func (h *Handler) rotateSigning(w http.ResponseWriter, r *http.Request, c *adminCtx, now bool) error {
	if err := h.tokens.Require(r.Context(), c.actor, token.ScopeAdmin, "signing_key.rotate", "", ""); err != nil {
		return err
	}
	if h.signer == nil {
		return token.Errorf(token.NotFound, "no_route", "JWT issuing is not configured")
	}
	alg := r.PostFormValue("alg")
	if alg != "" && !slices.Contains([]string{signer.EdDSA, signer.ES256, signer.RS256}, alg) {
		return h.renderSigningKeys(w, r, c, http.StatusBadRequest, "", "The algorithm must be EdDSA, ES256 or RS256.")
	}
	k, err := h.signer.Rotate(r.Context(), signer.RotateOptions{Alg: alg, Immediately: now, Actor: c.actor})
	if err != nil {
		return token.Unavailablef(err, "could not store the new signing key; try again")
	}
	notice := "A new signing key " + k.ID + " was published; it signs from " + k.NotBefore.UTC().Format("2006-01-02 15:04 UTC") + "."
	if now {
		notice = "The new signing key " + k.ID + " signs now; tokens signed by the other keys no longer verify."
	}
	return h.renderSigningKeys(w, r, c, http.StatusOK, notice, "")
}
