package browsertest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
)

const strictCSP = "default-src 'self'; script-src 'self'"

// site is a small test site on loopback, served as http://localhost:PORT
// so that WebAuthn (which needs a secure context and an rp.id that is a
// suffix of the host) works.
type site struct {
	URL string

	mu   sync.Mutex
	form map[string]string
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{}
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", strictCSP)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!doctype html><html><head><title>t</title></head><body>"+body+"</body></html>")
		}
	}
	mux.HandleFunc("GET /form", page(`<form method="post" action="/submit">
<input name="user"><input name="password" type="password">
<button id="go" type="submit">Sign in</button></form>
<p id="js">no js</p><script src="/app.js"></script>`))
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `document.getElementById("js").textContent = "js ran";`)
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.form = map[string]string{"user": r.PostForm.Get("user"), "password": r.PostForm.Get("password")}
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s3cr3t", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "visible", Value: "yes", Path: "/", SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/done", http.StatusSeeOther)
	})
	// Browsers ask for it on every page; a 404 would be a console error.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /done", page(`<p id="msg">welcome</p>`))
	mux.HandleFunc("GET /confirm", page(`<form method="post" action="/refused"><button id="go" type="submit">Go</button></form>
<script src="/confirm.js"></script>`))
	mux.HandleFunc("GET /confirm.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `document.addEventListener("submit", function (ev) { if (!confirm("Really?")) ev.preventDefault(); });`)
	})
	mux.HandleFunc("POST /refused", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<!doctype html><title>t</title><p id=msg>refused</p>")
	})
	mux.HandleFunc("GET /inline", page(`<p id="msg">inline</p><script>document.getElementById("msg").textContent = "inline ran";</script>`))
	mux.HandleFunc("GET /webauthn", page(`<p id="out">pending</p><script src="/webauthn.js"></script>`))
	mux.HandleFunc("GET /webauthn.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, webauthnJS)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	s.URL = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	return s
}

// webauthnJS registers a discoverable credential that requires user
// verification, then signs in with it, and exposes the outcome as
// window.passkey (a promise of a short report, or of "error: <name>").
const webauthnJS = `
function rnd(n) { const b = new Uint8Array(n); crypto.getRandomValues(b); return b; }
function flags(buf) { return new Uint8Array(buf)[32]; }
window.passkey = (async () => {
  try {
    const cred = await navigator.credentials.create({publicKey: {
      rp: {id: "localhost", name: "latchkey test"},
      user: {id: rnd(16), name: "ada", displayName: "Ada"},
      challenge: rnd(32),
      pubKeyCredParams: [{type: "public-key", alg: -7}],
      authenticatorSelection: {residentKey: "required", userVerification: "required"},
      timeout: 10000,
    }});
    const got = await navigator.credentials.get({publicKey: {
      rpId: "localhost", challenge: rnd(32), userVerification: "required", timeout: 10000,
    }});
    const f = flags(got.response.authenticatorData);
    return "ok same=" + (got.id === cred.id) + " uv=" + ((f & 4) !== 0);
  } catch (e) {
    return "error: " + e.name;
  }
})();
`

func (s *site) submitted() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.form
}

func TestFormAndCookies(t *testing.T) {
	s := newSite(t)
	b := New(t)
	tab := b.NewTab(t)

	tab.Navigate(s.URL + "/form")
	if got := tab.Text("#js"); got != "js ran" {
		t.Fatalf("external script under the CSP: #js = %q, want %q", got, "js ran")
	}
	tab.Fill("user", "ada")
	tab.Fill("password", `pa"ss word`)
	tab.ClickAndWaitLoad("#go")

	if got := tab.URL(); got != s.URL+"/done" {
		t.Errorf("after submit at %s, want %s/done", got, s.URL)
	}
	if got := tab.Text("#msg"); got != "welcome" {
		t.Errorf("#msg = %q, want welcome", got)
	}
	want := map[string]string{"user": "ada", "password": `pa"ss word`}
	got := s.submitted()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("server got %s=%q, want %q", k, got[k], v)
		}
	}

	c := tab.Cookie("session")
	if c == nil {
		t.Fatalf("no session cookie among %d", len(tab.Cookies()))
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
		t.Errorf("session cookie: HttpOnly=%v SameSite=%q, want true Lax", c.HTTPOnly, c.SameSite)
	}
	if v := tab.Cookie("visible"); v == nil || v.HTTPOnly {
		t.Errorf("visible cookie = %+v, want present and not HttpOnly", v)
	}
	// The page's script sees the plain cookie but never the HttpOnly one;
	// the first half shows the check can see cookies at all.
	dc := Eval[string](tab, "document.cookie")
	if !strings.Contains(dc, "visible=yes") {
		t.Errorf("document.cookie = %q, want it to hold visible=yes", dc)
	}
	if strings.Contains(dc, "session") {
		t.Errorf("document.cookie = %q exposes the HttpOnly session cookie", dc)
	}
	tab.AssertNoCSPViolations()
	tab.AssertNoConsoleErrors()
}

// TestAcceptDialogsAndDocuments checks that a confirm dialog is accepted
// (the form it guards is sent) and recorded, and that the answer to the
// form is recorded with its status and headers.
func TestAcceptDialogsAndDocuments(t *testing.T) {
	s := newSite(t)
	tab := New(t).NewTab(t)
	tab.AcceptDialogs()

	tab.Navigate(s.URL + "/confirm")
	tab.ClickAndWaitLoad("#go")
	if got := tab.Text("#msg"); got != "refused" {
		t.Fatalf("#msg = %q: the form behind the confirm dialog was not sent", got)
	}
	var asked bool
	for _, e := range tab.Console() {
		if e.Source == "dialog" && e.Text == "confirm: Really?" {
			asked = true
		}
	}
	if !asked {
		t.Errorf("the dialog is not recorded; console: %v", tab.Console())
	}
	d := tab.LastDocument(s.URL + "/refused")
	if d.Status != http.StatusForbidden || d.Header["Cache-Control"] != "no-store" {
		t.Errorf("document %+v, want status 403 and Cache-Control no-store", d)
	}
	if first := tab.Documents()[0]; first.URL != s.URL+"/confirm" || first.Status != http.StatusOK {
		t.Errorf("first document %s %d, want %s/confirm 200", first.URL, first.Status, s.URL)
	}
}

func TestCSPViolationReported(t *testing.T) {
	s := newSite(t)
	tab := New(t).NewTab(t)

	tab.Navigate(s.URL + "/inline")
	if got := tab.Text("#msg"); got != "inline" {
		t.Errorf("#msg = %q: the inline script ran despite script-src 'self'", got)
	}
	v := tab.CSPViolations()
	if len(v) == 0 {
		t.Fatalf("no CSP violation reported; console: %v", tab.Console())
	}
	if !strings.Contains(v[0].Text, "script-src") {
		t.Errorf("violation %q does not name script-src", v[0])
	}
	if len(tab.ConsoleErrors()) == 0 {
		t.Error("the CSP violation is not among the console errors")
	}
}

func TestWebAuthnPasskey(t *testing.T) {
	s := newSite(t)
	b := New(t)
	tab := b.NewTab(t)
	id, err := b.AddVirtualAuthenticator(tab.Context())
	if err != nil {
		t.Fatal(err)
	}

	tab.Navigate(s.URL + "/webauthn")
	if got := Eval[string](tab, "window.passkey"); got != "ok same=true uv=true" {
		t.Fatalf("passkey ceremony: %s", got)
	}
	creds, err := b.Credentials(tab.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", len(creds))
	}
	if c := creds[0]; !c.IsResidentCredential || c.RpID != "localhost" {
		t.Errorf("credential resident=%v rpId=%q, want true localhost", c.IsResidentCredential, c.RpID)
	}
	tab.AssertNoCSPViolations()
}

func TestWebAuthnUserVerificationMissing(t *testing.T) {
	s := newSite(t)
	b := New(t)
	tab := b.NewTab(t)
	id, err := b.AddVirtualAuthenticator(tab.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetUserVerified(tab.Context(), id, false); err != nil {
		t.Fatal(err)
	}

	tab.Navigate(s.URL + "/webauthn")
	if got := Eval[string](tab, "window.passkey"); got != "error: NotAllowedError" {
		t.Fatalf("ceremony requiring UV without it: %s, want error: NotAllowedError", got)
	}
	creds, err := b.Credentials(tab.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 0 {
		t.Errorf("authenticator holds %d credentials after a refused ceremony, want 0", len(creds))
	}
}

// TestWebAuthnBadUVFlag checks that SetBadUV yields ceremonies that the
// browser completes but whose authenticator data lacks the UV flag: what a
// relying party requiring verification must refuse on its own.
func TestWebAuthnBadUVFlag(t *testing.T) {
	s := newSite(t)
	b := New(t)
	tab := b.NewTab(t)
	id, err := b.AddVirtualAuthenticator(tab.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetBadUV(tab.Context(), id, true); err != nil {
		t.Fatal(err)
	}

	tab.Navigate(s.URL + "/webauthn")
	if got := Eval[string](tab, "window.passkey"); got != "ok same=true uv=false" {
		t.Fatalf("ceremony with the UV bit overridden: %s, want ok same=true uv=false", got)
	}
}

// TestCloseLeavesNoProcess checks that closing a browser ends its main
// process and every process it started (renderers, zygotes, the network
// service, the detached crash handler), and removes its profile.
func TestCloseLeavesNoProcess(t *testing.T) {
	b := New(t)
	tab := b.NewTab(t)
	tab.Navigate("about:blank")

	pid := b.PID()
	if pid == 0 || b.profileDir == "" {
		t.Fatalf("browser pid %d, profile %q: want both", pid, b.profileDir)
	}
	running := b.processes()
	if len(running) < 3 || !slices.Contains(running, pid) {
		// Chromium always runs a zygote and a crash handler beside the
		// browser process; fewer means the scan cannot see them.
		t.Fatalf("processes of the running browser %d: %v, want it and at least 2 more", pid, running)
	}

	b.Close()
	for _, p := range running {
		if _, err := os.Stat("/proc/" + strconv.Itoa(p)); err == nil && len(cmdline(p)) > 0 {
			t.Errorf("process %d (%.80s) still runs after Close", p, strings.Join(cmdline(p), " "))
		}
	}
	if left := b.processes(); len(left) > 0 {
		t.Errorf("processes %v still belong to the browser after Close", left)
	}
	if _, err := os.Stat(b.profileDir); !os.IsNotExist(err) {
		t.Errorf("profile %s still there after Close (stat: %v)", b.profileDir, err)
	}
}
