package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
)

const (
	testPassword = "correct horse PASSWORD staple"
	totpSecret   = "JBSWY3DPEHPK3PXPTOTPSECRET"
	totpURI      = "otpauth://totp/latchkey:alice?algorithm=SHA1&digits=6&issuer=latchkey&period=30&secret=" + totpSecret
)

var recoveryCodes = []string{"rc01-aaaa", "rc02-bbbb", "rc03-cccc", "rc04-dddd", "rc05-eeee", "rc06-ffff", "rc07-gggg", "rc08-hhhh", "rc09-iiii", "rc10-jjjj"}

// newPeopleServer is a fake of the people endpoints of /v1/users/{id}. The
// user "bob" does not exist; "weak" refuses every password.
func newPeopleServer(t *testing.T) *fakeServer {
	t.Helper()
	s := &fakeServer{}
	mux := http.NewServeMux()
	user := func(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if id := r.PathValue("id"); id == "bob" {
				problem(w, 404, "user_not_found", "user \""+id+"\" not found")
				return
			}
			h(w, r)
		}
	}
	noContent := user(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("PUT /v1/users/{id}/password", user(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "weak" {
			problem(w, 400, "weak_password", "the password is too short: at least 12 characters")
			return
		}
		w.WriteHeader(204)
	}))
	mux.HandleFunc("DELETE /v1/users/{id}/password", noContent)
	mux.HandleFunc("POST /v1/users/{id}/totp", user(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "active" {
			problem(w, 409, "totp_active", "the user has an active TOTP factor")
			return
		}
		reply(w, 201, api.TOTPEnrollment{Secret: totpSecret, OTPAuthURI: totpURI, Issuer: "latchkey", Account: r.PathValue("id"), Digits: 6, Period: 30, Algorithm: "SHA1"})
	}))
	mux.HandleFunc("POST /v1/users/{id}/totp/confirm", user(func(w http.ResponseWriter, r *http.Request) {
		var req api.TOTPConfirmRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Code != "123456" {
			problem(w, 400, "invalid_code", "the code is not valid")
			return
		}
		reply(w, 200, api.RecoveryCodes{RecoveryCodes: recoveryCodes})
	}))
	mux.HandleFunc("DELETE /v1/users/{id}/totp", noContent)
	mux.HandleFunc("POST /v1/users/{id}/recovery-codes", user(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.RecoveryCodes{RecoveryCodes: recoveryCodes})
	}))
	mux.HandleFunc("GET /v1/users/{id}/factors", user(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.Factors{Source: "local", Password: true, PasswordChangedAt: &t0, TOTP: "active", RecoveryCodesLeft: 9,
			Passkeys: []api.PasskeySummary{{ID: "cred_1", Name: "YubiKey", CreatedAt: t0}}})
	}))
	mux.HandleFunc("GET /v1/users/{id}/sessions", user(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.SessionList{Items: []api.Session{{ID: "ses_1", UserID: r.PathValue("id"), CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0, IdleExpiresAt: t0,
			IP: "203.0.113.5", UserAgent: "Firefox\x1b[31m", Factors: []api.SessionFactor{{Method: "pwd", At: t0}, {Method: "otp", At: t0}},
			Apps: []api.SessionApp{{ClientID: "shop", Name: "Shop"}, {ClientID: "wiki"}}}}})
	}))
	mux.HandleFunc("DELETE /v1/users/{id}/sessions/{sid}", noContent)
	mux.HandleFunc("DELETE /v1/users/{id}/sessions", user(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.SessionsEnded{Ended: 3})
	}))
	mux.HandleFunc("GET /v1/users/{id}/grants", user(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.GrantList{Grants: []api.Grant{{ID: "key_g1", ClientID: "web", ClientName: "Web\x1b[31m", Scopes: []string{"orders:read", "orders:write"},
			CreatedAt: t0, ExpiresAt: &t0}}})
	}))
	mux.HandleFunc("DELETE /v1/users/{id}/grants/{gid}", noContent)
	mux.HandleFunc("DELETE /v1/apps/{id}/grants", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, api.GrantsRevoked{Revoked: 2})
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		s.mu.Lock()
		s.last = recorded{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		s.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			problem(w, 401, "unauthenticated", "missing or invalid credential")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// runWithTerminal runs the CLI against srv as runCLI does, with a terminal
// that answers the password prompts with answers, in order. It returns the
// prompts it was shown.
func runWithTerminal(t *testing.T, srv *fakeServer, answers []string, args ...string) (result, []string) {
	t.Helper()
	var prompts []string
	var out, errb strings.Builder
	c := &cli{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string {
			return map[string]string{"LATCHKEY_URL": srv.URL, "LATCHKEY_TOKEN": testToken}[k]
		},
		readPassword: func(prompt string) (string, error) {
			prompts = append(prompts, prompt)
			if len(answers) == 0 {
				return "", errors.New("no more input")
			}
			a := answers[0]
			answers = answers[1:]
			return a, nil
		}}
	code := c.main(args)
	return result{code, out.String(), errb.String()}, prompts
}

func TestPeopleCommands(t *testing.T) {
	srv := newPeopleServer(t)
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  []string
		wantErr  []string
		check    func(t *testing.T, r recorded)
	}{
		{name: "set-password/stdin sends the password", args: []string{"users", "set-password", "alice", "--password-stdin"}, stdin: testPassword + "\r\nignored\n",
			wantOut: []string{"Set the password of user alice."},
			check: func(t *testing.T, r recorded) {
				if r.method != "PUT" || r.path != "/v1/users/alice/password" || !reflect.DeepEqual(r.body, map[string]any{"password": testPassword}) {
					t.Errorf("request = %s %s %v", r.method, r.path, r.body)
				}
			}},
		{name: "set-password/stdin keeps inner and edge spaces", args: []string{"users", "set-password", "alice", "--password-stdin"}, stdin: "  two  words ",
			check: func(t *testing.T, r recorded) {
				if r.body["password"] != "  two  words " {
					t.Errorf("password sent = %q", r.body["password"])
				}
			}},
		{name: "set-password/empty stdin", args: []string{"users", "set-password", "alice", "--password-stdin"}, stdin: "\n", wantCode: 2, wantErr: []string{"empty password"}},
		{name: "set-password/too long", args: []string{"users", "set-password", "alice", "--password-stdin"}, stdin: strings.Repeat("x", maxPasswordLen+1), wantCode: 2, wantErr: []string{"longer than 4096"}},
		{name: "set-password/no terminal", args: []string{"users", "set-password", "alice"}, wantCode: 2, wantErr: []string{"--password-stdin"}},
		{name: "set-password/weak is refused", args: []string{"users", "set-password", "weak", "--password-stdin"}, stdin: testPassword, wantCode: 3,
			wantErr: []string{"400 weak_password: the password is too short"}},
		{name: "set-password/unknown user", args: []string{"users", "set-password", "bob", "--password-stdin"}, stdin: testPassword, wantCode: 3, wantErr: []string{"404 user_not_found"}},
		{name: "remove-password", args: []string{"users", "remove-password", "alice"}, wantOut: []string{"Removed the password of user alice"},
			check: func(t *testing.T, r recorded) {
				if r.method != "DELETE" || r.path != "/v1/users/alice/password" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "totp enroll/prints secret, URI and QR", args: []string{"users", "totp", "enroll", "alice"},
			wantOut: []string{"pending until confirmed", "Secret:  " + totpSecret, "URI:     " + totpURI, "6 digits every 30s, SHA1", "shown once", "latchkey users totp confirm alice CODE"},
			check: func(t *testing.T, r recorded) {
				if r.method != "POST" || r.path != "/v1/users/alice/totp" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "totp enroll/already active", args: []string{"users", "totp", "enroll", "active"}, wantCode: 3, wantErr: []string{"409 totp_active"}},
		{name: "totp enroll/missing id", args: []string{"users", "totp", "enroll"}, wantCode: 2, wantErr: []string{"missing ID", "latchkey users totp enroll -h"}},
		{name: "totp/no subcommand", args: []string{"users", "totp"}, wantCode: 2, wantErr: []string{"Usage: latchkey users totp", "enroll", "confirm", "remove"}},
		{name: "totp/help", args: []string{"users", "totp", "-h"}, wantOut: []string{"Usage: latchkey users totp", "enroll"}},
		{name: "totp/unknown subcommand", args: []string{"users", "totp", "frob"}, wantCode: 2, wantErr: []string{`latchkey users totp: unknown command "frob"`}},
		{name: "totp confirm/prints the recovery codes once", args: []string{"users", "totp", "confirm", "alice", "123456"},
			wantOut: []string{"TOTP is active for user alice", "\n    rc01-aaaa\n", "\n    rc10-jjjj\n", "they will not be shown again"},
			check: func(t *testing.T, r recorded) {
				if r.path != "/v1/users/alice/totp/confirm" || !reflect.DeepEqual(r.body, map[string]any{"code": "123456"}) {
					t.Errorf("request = %s %v", r.path, r.body)
				}
			}},
		{name: "totp confirm/wrong code", args: []string{"users", "totp", "confirm", "alice", "000000"}, wantCode: 3, wantErr: []string{"400 invalid_code"}},
		{name: "totp confirm/missing code", args: []string{"users", "totp", "confirm", "alice"}, wantCode: 2, wantErr: []string{"missing CODE"}},
		{name: "totp remove", args: []string{"users", "totp", "remove", "alice"}, wantOut: []string{"Removed the TOTP factor of user alice."},
			check: func(t *testing.T, r recorded) {
				if r.method != "DELETE" || r.path != "/v1/users/alice/totp" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "recovery-codes", args: []string{"users", "recovery-codes", "alice"}, wantOut: []string{"old ones no longer work", "rc05-eeee", "not be shown again"},
			check: func(t *testing.T, r recorded) {
				if r.method != "POST" || r.path != "/v1/users/alice/recovery-codes" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "factors", args: []string{"users", "factors", "alice"},
			wantOut: []string{"Source:         local", "Password:       yes, set 2026-01-02T03:04:05Z", "TOTP:           active", "Recovery codes: 9 left", "Passkeys:       1",
				"PASSKEY  NAME     CREATED               LAST USED\ncred_1   YubiKey  2026-01-02T03:04:05Z  never\n"}},
		{name: "sessions list/table", args: []string{"users", "sessions", "list", "alice"},
			wantOut: []string{"ID     CREATED               LAST SEEN             EXPIRES               IDLE EXPIRES          FACTORS  APPS       IP           USER AGENT\n" +
				"ses_1  2026-01-02T03:04:05Z  2026-01-02T03:04:05Z  2026-01-02T03:04:05Z  2026-01-02T03:04:05Z  pwd,otp  shop,wiki  203.0.113.5  Firefox [31m\n"}},
		{name: "sessions list/unknown user", args: []string{"users", "sessions", "list", "bob"}, wantCode: 3, wantErr: []string{"404 user_not_found"}},
		{name: "sessions end", args: []string{"users", "sessions", "end", "alice", "ses/1"}, wantOut: []string{"Ended session ses/1 of user alice."},
			check: func(t *testing.T, r recorded) {
				if r.method != "DELETE" || r.path != "/v1/users/alice/sessions/ses%2F1" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "sessions end-all", args: []string{"users", "sessions", "end-all", "alice"}, wantOut: []string{"Ended 3 sessions of user alice."},
			check: func(t *testing.T, r recorded) {
				if r.method != "DELETE" || r.path != "/v1/users/alice/sessions" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "grants/table", args: []string{"users", "grants", "alice"},
			wantOut: []string{"ID      APP  NAME      SCOPES                    SINCE                 EXPIRES               LAST USED\n" +
				"key_g1  web  Web [31m  orders:read,orders:write  2026-01-02T03:04:05Z  2026-01-02T03:04:05Z  -\n"}},
		{name: "grants/unknown user", args: []string{"users", "grants", "bob"}, wantCode: 3, wantErr: []string{"404 user_not_found"}},
		{name: "revoke-grant", args: []string{"users", "revoke-grant", "alice", "key/g1"}, wantOut: []string{"Revoked grant key/g1 of user alice"},
			check: func(t *testing.T, r recorded) {
				if r.method != "DELETE" || r.path != "/v1/users/alice/grants/key%2Fg1" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "revoke-grant/missing grant", args: []string{"users", "revoke-grant", "alice"}, wantCode: 2, wantErr: []string{"missing GRANT_ID"}},
		{name: "apps revoke-grants", args: []string{"apps", "revoke-grants", "web"}, wantOut: []string{"Revoked 2 grants to app web"},
			check: func(t *testing.T, r recorded) {
				if r.method != "DELETE" || r.path != "/v1/apps/web/grants" {
					t.Errorf("request = %s %s", r.method, r.path)
				}
			}},
		{name: "users help lists the people commands", args: []string{"users", "-h"}, wantOut: []string{"set-password", "remove-password", "totp", "recovery-codes", "factors", "sessions", "grants", "revoke-grant"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, srv, nil, tt.stdin, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, s := range tt.wantOut {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout does not contain %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not contain %q:\n%s", s, r.stderr)
				}
			}
			if strings.Contains(r.stdout+r.stderr, testPassword) || strings.Contains(r.stdout+r.stderr, testToken) {
				t.Error("output contains the password or the management token")
			}
			if tt.check != nil {
				tt.check(t, srv.lastRequest())
			}
		})
	}
}

// TestTOTPEnrollQRCode: the QR code is drawn in half blocks, as many lines
// as half the modules, and only the block characters; --no-qr leaves it out.
func TestTOTPEnrollQRCode(t *testing.T) {
	srv := newPeopleServer(t)
	r := runCLI(t, srv, nil, "", "users", "totp", "enroll", "alice")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var qr []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if line != "" && strings.Trim(line, " █▀▄") == "" && strings.ContainsAny(line, "█▀▄") {
			qr = append(qr, line)
		}
	}
	// A QR code has at least 21 modules a side, two per half-block line.
	if len(qr) < 11 {
		t.Fatalf("found %d QR lines, want at least 11:\n%s", len(qr), r.stdout)
	}
	for _, line := range qr {
		if n := len([]rune(line)); n != len([]rune(qr[0])) {
			t.Fatalf("QR lines of different widths (%d, %d):\n%s", n, len([]rune(qr[0])), strings.Join(qr, "\n"))
		}
	}
	r = runCLI(t, srv, nil, "", "users", "totp", "enroll", "alice", "--no-qr")
	if r.code != 0 || strings.ContainsAny(r.stdout, "█▀▄") || !strings.Contains(r.stdout, totpURI) {
		t.Errorf("--no-qr: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

func TestSetPasswordPrompts(t *testing.T) {
	srv := newPeopleServer(t)
	t.Run("twice the same", func(t *testing.T) {
		r, prompts := runWithTerminal(t, srv, []string{testPassword, testPassword}, "users", "set-password", "alice")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if len(prompts) != 2 || !strings.Contains(prompts[0], "alice") || !strings.Contains(prompts[1], "Repeat") {
			t.Errorf("prompts = %q", prompts)
		}
		if got := srv.lastRequest(); got.path != "/v1/users/alice/password" || got.body["password"] != testPassword {
			t.Errorf("request = %s %v", got.path, got.body)
		}
		if strings.Contains(r.stdout+r.stderr, testPassword) {
			t.Error("the password was echoed")
		}
	})
	t.Run("mismatch is a usage error and sends nothing", func(t *testing.T) {
		before := srv.lastRequest()
		r, _ := runWithTerminal(t, srv, []string{testPassword, testPassword + "x"}, "users", "set-password", "carol")
		if r.code != exitUsage || !strings.Contains(r.stderr, "do not match") {
			t.Errorf("exit %d, stderr %q; want %d and a mismatch message", r.code, r.stderr, exitUsage)
		}
		if strings.Contains(r.stdout+r.stderr, testPassword) {
			t.Error("the password was echoed")
		}
		if got := srv.lastRequest(); got.path != before.path || got.path == "/v1/users/carol/password" {
			t.Errorf("a request was sent: %s %s", got.method, got.path)
		}
	})
	t.Run("empty is a usage error", func(t *testing.T) {
		r, prompts := runWithTerminal(t, srv, []string{""}, "users", "set-password", "alice")
		if r.code != exitUsage || !strings.Contains(r.stderr, "empty password") || len(prompts) != 1 {
			t.Errorf("exit %d, stderr %q, prompts %q", r.code, r.stderr, prompts)
		}
	})
	t.Run("--password-stdin wins over the terminal", func(t *testing.T) {
		var out, errb strings.Builder
		c := &cli{ctx: context.Background(), stdin: strings.NewReader("from-stdin\n"), stdout: &out, stderr: &errb,
			getenv: func(k string) string {
				return map[string]string{"LATCHKEY_URL": srv.URL, "LATCHKEY_TOKEN": testToken}[k]
			},
			readPassword: func(string) (string, error) { t.Error("prompted"); return "", nil }}
		if code := c.main([]string{"users", "set-password", "alice", "--password-stdin"}); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if got := srv.lastRequest().body["password"]; got != "from-stdin" {
			t.Errorf("password sent = %q", got)
		}
	})
}

// TestPeopleJSON: --json prints the API's answers as they are, and nothing
// for the calls answered with 204.
func TestPeopleJSON(t *testing.T) {
	srv := newPeopleServer(t)
	tests := []struct {
		args []string
		into any
		want any
	}{
		{[]string{"users", "totp", "enroll", "alice", "--json"}, &api.TOTPEnrollment{},
			&api.TOTPEnrollment{Secret: totpSecret, OTPAuthURI: totpURI, Issuer: "latchkey", Account: "alice", Digits: 6, Period: 30, Algorithm: "SHA1"}},
		{[]string{"users", "totp", "confirm", "alice", "123456", "--json"}, &api.RecoveryCodes{}, &api.RecoveryCodes{RecoveryCodes: recoveryCodes}},
		{[]string{"users", "recovery-codes", "alice", "--json"}, &api.RecoveryCodes{}, &api.RecoveryCodes{RecoveryCodes: recoveryCodes}},
		{[]string{"users", "sessions", "end-all", "alice", "--json"}, &api.SessionsEnded{}, &api.SessionsEnded{Ended: 3}},
		{[]string{"apps", "revoke-grants", "web", "--json"}, &api.GrantsRevoked{}, &api.GrantsRevoked{Revoked: 2}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, srv, nil, "", tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tt.into); err != nil {
				t.Fatalf("stdout is not the JSON answer: %v\n%s", err, r.stdout)
			}
			if !reflect.DeepEqual(tt.into, tt.want) {
				t.Errorf("got %+v, want %+v", tt.into, tt.want)
			}
		})
	}
	t.Run("factors and sessions", func(t *testing.T) {
		r := runCLI(t, srv, nil, "", "users", "factors", "alice", "--json")
		var fa map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &fa); err != nil || fa["totp"] != "active" || fa["recovery_codes_left"] != 9.0 || fa["password"] != true {
			t.Errorf("factors --json = %v (%v):\n%s", fa, err, r.stdout)
		}
		r = runCLI(t, srv, nil, "", "users", "sessions", "list", "alice", "--json")
		var l api.SessionList
		if err := json.Unmarshal([]byte(r.stdout), &l); err != nil || len(l.Items) != 1 || l.Items[0].ID != "ses_1" || len(l.Items[0].Factors) != 2 {
			t.Errorf("sessions list --json = %+v (%v)", l, err)
		}
	})
	for _, args := range [][]string{
		{"users", "set-password", "alice", "--password-stdin", "--json"},
		{"users", "remove-password", "alice", "--json"},
		{"users", "totp", "remove", "alice", "--json"},
		{"users", "sessions", "end", "alice", "ses_1", "--json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, srv, nil, testPassword+"\n", args...)
			if r.code != 0 || r.stdout != "" {
				t.Errorf("exit %d, stdout %q; want 0 and nothing", r.code, r.stdout)
			}
		})
	}
}
