package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"rsc.io/qr"

	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/token"
)

// First start: while no user holds admin, `latchkey serve` asks the pages
// for a one-time setup code and prints the URL /ui/setup#<code>. The page
// (latchkey.js copies the code from the fragment into the form, so it is
// never sent in a URL or written to an access log) creates the first
// administrator with a password, then enrols their authenticator app.
// The code is kept as a SHA-256 digest in memory only: it ends when used,
// after SetupTTL, or when the process stops.

// SetupTTL bounds the life of a setup code.
const SetupTTL = time.Hour

type setupState struct {
	mu      sync.Mutex
	digest  []byte
	expires time.Time
	// user is the administrator the code created, waiting for their
	// authenticator app; "" before.
	user string
	// bind is the SHA-256 of the cookie the first step gave the browser
	// that created user: only that browser finishes the setup.
	bind []byte
}

// setupCookie binds the second step of the setup to the browser of the
// first.
const setupCookie = "latchkey_setup"

// NewSetupCode returns a fresh single-use setup code if no user holds the
// admin permission, or "" if one does (the console needs no setup then).
// A new code replaces the previous one.
func (h *Handler) NewSetupCode(ctx context.Context) (string, error) {
	has, err := h.adminExists(ctx)
	if err != nil || has {
		return "", err
	}
	b := make([]byte, 24)
	rand.Read(b)
	code := base64.RawURLEncoding.EncodeToString(b)
	d := sha256.Sum256([]byte(code))
	h.setup.mu.Lock()
	h.setup.digest, h.setup.expires, h.setup.user = d[:], h.tokens.Now().Add(SetupTTL), ""
	h.setup.mu.Unlock()
	return code, nil
}

// adminExists reports whether some user holds admin.
func (h *Handler) adminExists(ctx context.Context) (bool, error) {
	after := ""
	for {
		l, next, err := h.tokens.Principals(ctx, token.SystemActor, token.PrincipalFilter{Type: token.User, After: after, Limit: 500})
		if err != nil {
			return false, err
		}
		for _, p := range l {
			if scope.Set(p.Permissions).Has(token.ScopeAdmin) {
				return true, nil
			}
		}
		if next == "" {
			return false, nil
		}
		after = next
	}
}

var errSetupCode = token.Errorf(token.PermissionDenied, "bad_setup_code",
	"this setup code is wrong, used or expired: restart latchkey serve for a new one, or create the administrator with the CLI")

// claimSetup checks code, unused so far, and reserves it for user.
func (h *Handler) claimSetup(code, user string) error {
	d := sha256.Sum256([]byte(code))
	h.setup.mu.Lock()
	defer h.setup.mu.Unlock()
	if h.setup.digest == nil || !h.tokens.Now().Before(h.setup.expires) || subtle.ConstantTimeCompare(d[:], h.setup.digest) != 1 || h.setup.user != "" {
		return errSetupCode
	}
	h.setup.user = user
	return nil
}

// checkSetup checks code for the second step: wantUser is the user the
// first step created, and bind the cookie it gave its browser.
func (h *Handler) checkSetup(code, wantUser, bind string) error {
	d := sha256.Sum256([]byte(code))
	b := sha256.Sum256([]byte(bind))
	h.setup.mu.Lock()
	defer h.setup.mu.Unlock()
	if h.setup.digest == nil || !h.tokens.Now().Before(h.setup.expires) || subtle.ConstantTimeCompare(d[:], h.setup.digest) != 1 || h.setup.user != wantUser ||
		bind == "" || subtle.ConstantTimeCompare(b[:], h.setup.bind) != 1 {
		return errSetupCode
	}
	return nil
}

// bindSetup gives this browser the cookie that the second step needs.
func (h *Handler) bindSetup(w http.ResponseWriter) {
	raw := make([]byte, 32)
	rand.Read(raw)
	v := base64.RawURLEncoding.EncodeToString(raw)
	d := sha256.Sum256([]byte(v))
	h.setup.mu.Lock()
	h.setup.bind = d[:]
	h.setup.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: setupCookie, Value: v, Path: "/ui/setup", MaxAge: int(SetupTTL.Seconds()),
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode})
}

func (h *Handler) setupPage(w http.ResponseWriter, r *http.Request) error {
	h.render(w, r, http.StatusOK, "setup", h.data(w, r, map[string]any{"Title": "Set up latchkey"}))
	return nil
}

func (h *Handler) setupAgain(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	h.render(w, r, status, "setup", h.data(w, r, map[string]any{"Title": "Set up latchkey", "Error": msg,
		"Username": r.PostFormValue("username")}))
	return nil
}

// setupAdmin creates the first administrator: user, admin permission,
// password; then it shows their authenticator app's QR code.
func (h *Handler) setupAdmin(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	code := r.PostFormValue("code")
	user, pw := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password")
	if user == "" {
		return h.setupAgain(w, r, http.StatusBadRequest, "Choose a user name.")
	}
	// Claimed under the lock: two forms sent at once with one code make
	// one administrator.
	if err := h.claimSetup(code, user); err != nil {
		_, msg := statusOf(err)
		return h.setupAgain(w, r, http.StatusForbidden, msg)
	}
	created := false
	defer func() {
		if !created {
			h.setup.mu.Lock()
			if h.setup.user == user {
				h.setup.user = ""
			}
			h.setup.mu.Unlock()
		}
	}()
	ctx := r.Context()
	if has, err := h.adminExists(ctx); err != nil {
		return err
	} else if has {
		return h.setupAgain(w, r, http.StatusConflict, "An administrator exists already: sign in instead.")
	}
	if pw != r.PostFormValue("confirm") {
		return h.setupAgain(w, r, http.StatusBadRequest, "The two passwords differ.")
	}
	a := &token.Actor{KeyID: "system", Name: "setup", Scopes: token.SystemActor.Scopes, RequestID: r.Header.Get("X-Request-Id"), IP: h.clientIP(r)}
	if err := people.CheckPassword(pw, user); err != nil {
		return h.setupAgain(w, r, http.StatusBadRequest, err.Error())
	}
	if _, err := h.tokens.CreatePrincipal(ctx, a, token.CreatePrincipalParams{Type: token.User, ID: user, Permissions: []string{token.ScopeAdmin}}); err != nil {
		status, msg := statusOf(err)
		if status >= 500 {
			return err
		}
		return h.setupAgain(w, r, status, msg)
	}
	created = true // the administrator exists: the code now only finishes it
	h.bindSetup(w)
	if err := h.people.SetPassword(ctx, a, user, pw); err != nil {
		return err
	}
	e, err := h.people.EnrollTOTP(ctx, a, user)
	if err != nil {
		return err
	}
	return h.setupTOTPPage(w, r, http.StatusOK, user, code, e.Secret, e.URI, "")
}

func (h *Handler) setupTOTPPage(w http.ResponseWriter, r *http.Request, status int, user, code, secret, uri, msg string) error {
	img, err := qr.Encode(uri, qr.M)
	if err != nil {
		return err
	}
	img.Scale = 6
	h.render(w, r, status, "setup_totp", h.data(w, r, map[string]any{"Title": "Set up your authenticator app", "Username": user,
		"SetupCode": code, "Secret": secret, "URI": uri, "Error": msg,
		"QR": template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(img.PNG()))}))
	return nil
}

// setupTOTP confirms the administrator's authenticator app, ends the setup
// code and shows the recovery codes.
func (h *Handler) setupTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkCSRF(r); err != nil {
		return err
	}
	user, code := r.PostFormValue("username"), r.PostFormValue("code")
	if user == "" {
		return h.setupAgain(w, r, http.StatusForbidden, errSetupCode.Error())
	}
	if err := h.checkSetup(code, user, h.cookie(r, setupCookie)); err != nil {
		_, msg := statusOf(err)
		return h.setupAgain(w, r, http.StatusForbidden, msg)
	}
	a := &token.Actor{KeyID: "system", Name: "setup", Scopes: token.SystemActor.Scopes, RequestID: r.Header.Get("X-Request-Id"), IP: h.clientIP(r)}
	codes, err := h.people.ConfirmTOTP(r.Context(), a, user, r.PostFormValue("otp"))
	if err != nil {
		status, msg := statusOf(err)
		if status >= 500 {
			return err
		}
		// A fresh secret: the first may have been seen by whoever typed
		// the wrong code.
		e, err := h.people.EnrollTOTP(r.Context(), a, user)
		if err != nil {
			return err
		}
		return h.setupTOTPPage(w, r, status, user, code, e.Secret, e.URI, "The code was not accepted ("+msg+"). Scan the new QR code and try again.")
	}
	h.setup.mu.Lock()
	h.setup.digest, h.setup.user = nil, ""
	h.setup.mu.Unlock()
	h.render(w, r, http.StatusOK, "setup_done", h.data(w, r, map[string]any{"Title": "latchkey is ready", "Username": user, "Codes": codes}))
	return nil
}
