// Command sso-app is a small web app that signs its users in through
// latchkey with OpenID Connect. Run it twice, as two apps registered in
// latchkey, to see single sign-on: sign in at one, open the other and you
// are signed in already; sign out at one and the other hears of it over
// the back channel and signs you out too. README.md, "Put two apps behind
// single sign-on", walks through it.
//
//	SSO_CLIENT_SECRET=… go run ./examples/sso-app -client-id shop -listen 127.0.0.1:9001
//
// Routes:
//
//	GET  /                    "Signed in as …" or a "Sign in" link
//	GET  /login               to latchkey: authorization code + PKCE S256, state, nonce
//	GET  /callback            back from latchkey: code → tokens, ID token verified
//	POST /logout              ends the local session, then RP-initiated logout at latchkey
//	GET  /signed-out          where latchkey sends the browser after logout
//	POST /backchannel-logout  latchkey's logout token: ends the sessions it names
//
// It is documentation, not a framework: sessions live in memory, and a
// real app would also keep the access and refresh tokens it gets.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// backchannelEvent is the member of a logout token's events claim that
// makes it one (OpenID Connect Back-Channel Logout 1.0 §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// session is what the app knows about one browser. Until the sign-in
// completes it holds the values the callback must see again.
type session struct {
	state, nonce, verifier string // pending sign-in

	name, sub, sid string // signed in: who, and latchkey's session ID
	idToken        string // the ID token, sent back as id_token_hint at logout
}

// app is the whole web app: its OAuth client, the provider it trusts, and
// the sessions of its users.
type app struct {
	title      string
	base       string // the app's own URL, e.g. http://127.0.0.1:9001
	cookie     string // the session cookie's name: one per app, as both may share a host
	oauth      *oauth2.Config
	idVerifier *oidc.IDTokenVerifier // ID tokens and logout tokens alike
	endSession string                // the provider's end_session_endpoint

	mu       sync.Mutex
	sessions map[string]*session // by cookie value
}

func main() {
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	issuer := flag.String("issuer", env("SSO_ISSUER", "http://127.0.0.1:8080"), "latchkey's issuer URL ($SSO_ISSUER)")
	clientID := flag.String("client-id", env("SSO_CLIENT_ID", ""), "the app's client ID in latchkey ($SSO_CLIENT_ID)")
	secret := flag.String("client-secret", env("SSO_CLIENT_SECRET", ""), "the app's client secret ($SSO_CLIENT_SECRET; prefer the variable)")
	listen := flag.String("listen", env("SSO_LISTEN", "127.0.0.1:9001"), "address to listen on ($SSO_LISTEN)")
	base := flag.String("base-url", env("SSO_BASE_URL", ""), "the app's own URL as browsers see it ($SSO_BASE_URL; default http://LISTEN)")
	flag.Parse()
	if *clientID == "" || *secret == "" {
		log.Fatal("sso-app: -client-id and a client secret ($SSO_CLIENT_SECRET) are required")
	}
	if *base == "" {
		*base = "http://" + *listen
	}
	*base = strings.TrimSuffix(*base, "/")

	// Discovery: everything else about the provider comes from
	// /.well-known/openid-configuration.
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, *issuer)
	if err != nil {
		log.Fatalf("sso-app: discovery at %s: %v", *issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		log.Fatalf("sso-app: discovery: %v", err)
	}
	a := &app{
		title:  *clientID,
		base:   *base,
		cookie: "sso_app_" + *clientID,
		oauth: &oauth2.Config{ClientID: *clientID, ClientSecret: *secret, Endpoint: provider.Endpoint(),
			RedirectURL: *base + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
		// Checks the signature against the provider's JWKS (fetched and
		// cached by go-oidc), iss, aud = our client ID, and exp.
		idVerifier: provider.Verifier(&oidc.Config{ClientID: *clientID}),
		endSession: meta.EndSession,
		sessions:   map[string]*session{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /signed-out", a.signedOut)
	mux.HandleFunc("POST /backchannel-logout", a.backchannelLogout)
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("sso-app %s: listening on %s (open %s/)", *clientID, *listen, *base)
	log.Fatal(srv.ListenAndServe())
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head><body>
<h1>{{.Title}}</h1>
{{if .Name}}<p id="status">Signed in as {{.Name}}</p>
<form method="post" action="/logout"><button id="logout" type="submit">Sign out</button></form>
{{else}}<p id="status">{{if .Message}}{{.Message}}{{else}}Not signed in{{end}}</p>
<p><a id="login" href="/login">Sign in</a></p>{{end}}
</body></html>`))

func (a *app) render(w http.ResponseWriter, name, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := page.Execute(w, map[string]string{"Title": a.title, "Name": name, "Message": message}); err != nil {
		log.Printf("render: %v", err)
	}
}

// home shows who is signed in, if anyone.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	name := ""
	if _, s := a.current(r); s != nil && s.sub != "" {
		name = s.name
	}
	a.render(w, name, "")
}

// login starts a sign-in: a fresh session holds state, nonce and the
// PKCE verifier, and the browser goes to latchkey's authorization
// endpoint. With a latchkey session already there (signed in at the other
// app), latchkey answers at once, without asking for a password.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s := &session{state: random(), nonce: random(), verifier: oauth2.GenerateVerifier()}
	a.start(w, s)
	http.Redirect(w, r, a.oauth.AuthCodeURL(s.state, oidc.Nonce(s.nonce), oauth2.S256ChallengeOption(s.verifier)), http.StatusFound)
}

// callback finishes the sign-in: the state must be this browser's, the
// code is exchanged with the verifier, and the ID token is verified,
// nonce included. The session then gets a new cookie value (no fixation).
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	id, s := a.current(r)
	q := r.URL.Query()
	if s == nil || s.state == "" || q.Get("state") != s.state {
		http.Error(w, "unknown or stale sign-in: start again at /login", http.StatusBadRequest)
		return
	}
	if e := q.Get("error"); e != "" {
		http.Error(w, "sign-in refused: "+e, http.StatusForbidden)
		return
	}
	tok, err := a.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(s.verifier))
	if err != nil {
		http.Error(w, "code exchange failed", http.StatusBadGateway)
		log.Printf("exchange: %v", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.idVerifier.Verify(r.Context(), raw)
	if err != nil || idt.Nonce != s.nonce {
		http.Error(w, "invalid ID token", http.StatusBadGateway)
		log.Printf("id_token: %v (nonce matches: %v)", err, idt != nil && idt.Nonce == s.nonce)
		return
	}
	var c struct {
		Sid   string `json:"sid"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := idt.Claims(&c); err != nil {
		http.Error(w, "invalid ID token claims", http.StatusBadGateway)
		return
	}
	name := c.Name
	if name == "" {
		name = c.Email
	}
	if name == "" {
		name = idt.Subject
	}
	a.mu.Lock()
	delete(a.sessions, id)
	a.mu.Unlock()
	a.start(w, &session{name: name, sub: idt.Subject, sid: c.Sid, idToken: raw})
	log.Printf("signed in: sub=%s sid=%s", idt.Subject, c.Sid)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the local session and sends the browser to latchkey's
// end_session_endpoint, which ends the latchkey session too (and tells
// the other apps over the back channel) and comes back to /signed-out.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	id, s := a.current(r)
	a.mu.Lock()
	delete(a.sessions, id)
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: a.cookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if s == nil || s.idToken == "" || a.endSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	state := random()
	http.SetCookie(w, &http.Cookie{Name: a.cookie + "_logout", Value: state, Path: "/signed-out", MaxAge: 600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	q := url.Values{"id_token_hint": {s.idToken}, "post_logout_redirect_uri": {a.base + "/signed-out"}, "state": {state}}
	http.Redirect(w, r, a.endSession+"?"+q.Encode(), http.StatusSeeOther)
}

// signedOut is the registered post_logout_redirect_uri.
func (a *app) signedOut(w http.ResponseWriter, r *http.Request) {
	msg := "You are signed out."
	if c, err := r.Cookie(a.cookie + "_logout"); err != nil || c.Value != r.URL.Query().Get("state") {
		msg = "Signed out (this logout was not started here)."
	}
	http.SetCookie(w, &http.Cookie{Name: a.cookie + "_logout", Path: "/signed-out", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	a.render(w, "", msg)
}

// backchannelLogout receives a logout token from latchkey (server to
// server, no browser and no cookie): a user's latchkey session ended, at
// another app or on latchkey's own pages. Every local session of that
// latchkey session (sid), or of that user when the token has no sid, ends.
func (a *app) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	raw := r.PostFormValue("logout_token")
	// Signature (the provider's JWKS), iss, aud = our client ID, exp.
	tok, err := a.idVerifier.Verify(r.Context(), raw)
	if err != nil {
		http.Error(w, "invalid logout token", http.StatusBadRequest)
		log.Printf("back-channel logout: %v", err)
		return
	}
	var c struct {
		Sid    string                     `json:"sid"`
		Events map[string]json.RawMessage `json:"events"`
		Nonce  *string                    `json:"nonce"`
	}
	if err := tok.Claims(&c); err != nil || !isLogoutToken(raw) || c.Events[backchannelEvent] == nil || c.Nonce != nil ||
		(c.Sid == "" && tok.Subject == "") || time.Since(tok.IssuedAt).Abs() > 5*time.Minute {
		// Not a logout token: an ID token (typ JWT, no events, a nonce)
		// must never log anyone out.
		http.Error(w, "not a logout token", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	n := 0
	for id, s := range a.sessions {
		if (c.Sid != "" && s.sid == c.Sid) || (c.Sid == "" && s.sub == tok.Subject) {
			delete(a.sessions, id)
			n++
		}
	}
	a.mu.Unlock()
	log.Printf("back-channel logout: sub=%s sid=%s: ended %d session(s)", tok.Subject, c.Sid, n)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// isLogoutToken reports whether the JWS header of the (already verified)
// token raw says typ logout+jwt (Back-Channel Logout §2.4).
func isLogoutToken(raw string) bool {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct {
		Typ string `json:"typ"`
	}
	return err == nil && json.Unmarshal(b, &hdr) == nil && strings.EqualFold(hdr.Typ, "logout+jwt")
}

// current returns the browser's session and its cookie value.
func (a *app) current(r *http.Request) (string, *session) {
	c, err := r.Cookie(a.cookie)
	if err != nil {
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return c.Value, a.sessions[c.Value]
}

// start stores s under a new random cookie value and sets the cookie.
func (a *app) start(w http.ResponseWriter, s *session) {
	id := random()
	a.mu.Lock()
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: a.cookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// random is 256 bits from crypto/rand, base32-encoded.
func random() string { return rand.Text() + rand.Text() }
