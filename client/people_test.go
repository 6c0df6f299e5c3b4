package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

const testPassword = "correct horse PASSWORD staple"

func TestPeopleRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		status int
		resp   string
		call   func(*client.Client) error
		method string
		path   string
		body   string // "" means no body
	}{
		{"set password", 204, ``, func(c *client.Client) error {
			return c.SetPassword(ctx, "alice", testPassword)
		}, "PUT", "/v1/users/alice/password", `{"password":"` + testPassword + `"}`},
		{"set password escapes id", 204, ``, func(c *client.Client) error {
			return c.SetPassword(ctx, "a/b", "x")
		}, "PUT", "/v1/users/a%2Fb/password", `{"password":"x"}`},
		{"remove password", 204, ``, func(c *client.Client) error {
			return c.RemovePassword(ctx, "alice")
		}, "DELETE", "/v1/users/alice/password", ""},
		{"enroll totp", 201, `{"secret":"JBSWY3DP","otpauth_uri":"otpauth://totp/x"}`, func(c *client.Client) error {
			_, err := c.EnrollTOTP(ctx, "alice")
			return err
		}, "POST", "/v1/users/alice/totp", `{}`},
		{"confirm totp", 200, `{"recovery_codes":["a"]}`, func(c *client.Client) error {
			_, err := c.ConfirmTOTP(ctx, "alice", "123456")
			return err
		}, "POST", "/v1/users/alice/totp/confirm", `{"code":"123456"}`},
		{"remove totp", 204, ``, func(c *client.Client) error {
			return c.RemoveTOTP(ctx, "alice")
		}, "DELETE", "/v1/users/alice/totp", ""},
		{"regenerate recovery codes", 200, `{"recovery_codes":[]}`, func(c *client.Client) error {
			_, err := c.RegenerateRecoveryCodes(ctx, "alice")
			return err
		}, "POST", "/v1/users/alice/recovery-codes", `{}`},
		{"factors", 200, `{"source":"local"}`, func(c *client.Client) error {
			_, err := c.Factors(ctx, "alice")
			return err
		}, "GET", "/v1/users/alice/factors", ""},
		{"sessions", 200, `{"items":[]}`, func(c *client.Client) error {
			_, err := c.Sessions(ctx, "alice")
			return err
		}, "GET", "/v1/users/alice/sessions", ""},
		{"end session escapes both ids", 204, ``, func(c *client.Client) error {
			return c.EndSession(ctx, "al ice", "s/1")
		}, "DELETE", "/v1/users/al%20ice/sessions/s%2F1", ""},
		{"end sessions", 200, `{"ended":3}`, func(c *client.Client) error {
			_, err := c.EndSessions(ctx, "alice")
			return err
		}, "DELETE", "/v1/users/alice/sessions", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := fake(t, tt.status, tt.resp)
			if err := tt.call(c); err != nil {
				t.Fatalf("call: %v", err)
			}
			if s.method != tt.method || s.path != tt.path || s.query != "" {
				t.Errorf("request = %s %s?%s, want %s %s", s.method, s.path, s.query, tt.method, tt.path)
			}
			if s.body != tt.body {
				t.Errorf("body = %s, want %s", s.body, tt.body)
			}
			if got := s.header.Get("Authorization"); got != "Bearer "+testToken {
				t.Errorf("Authorization = %q", got)
			}
			if got := s.header.Get("Idempotency-Key"); got != "" {
				t.Errorf("Idempotency-Key = %q, want none", got)
			}
		})
	}
}

func TestPeopleDecodesResponses(t *testing.T) {
	ctx := context.Background()
	t.Run("totp enrollment", func(t *testing.T) {
		c, _ := fake(t, 201, `{"secret":"JBSWY3DPEHPK3PXP","otpauth_uri":"otpauth://totp/latchkey:alice?secret=JBSWY3DPEHPK3PXP","issuer":"latchkey","account":"alice","digits":6,"period":30,"algorithm":"SHA1"}`)
		e, err := c.EnrollTOTP(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		want := api.TOTPEnrollment{Secret: "JBSWY3DPEHPK3PXP", OTPAuthURI: "otpauth://totp/latchkey:alice?secret=JBSWY3DPEHPK3PXP",
			Issuer: "latchkey", Account: "alice", Digits: 6, Period: 30, Algorithm: "SHA1"}
		if *e != want {
			t.Errorf("got %+v, want %+v", *e, want)
		}
	})
	t.Run("sessions", func(t *testing.T) {
		c, _ := fake(t, 200, `{"items":[{"id":"s1","user_id":"alice","created_at":"2026-01-02T03:04:05Z","factors":[{"method":"pwd","at":"2026-01-02T03:04:05Z"},{"method":"otp","at":"2026-01-02T03:04:06Z"}]}]}`)
		l, err := c.Sessions(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 || l.Items[0].ID != "s1" || len(l.Items[0].Factors) != 2 || l.Items[0].Factors[1].Method != "otp" ||
			!l.Items[0].CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("decoded %+v", l)
		}
	})
	t.Run("recovery codes", func(t *testing.T) {
		c, _ := fake(t, 200, `{"recovery_codes":["aaaa-bbbb","cccc-dddd"]}`)
		r, err := c.ConfirmTOTP(ctx, "alice", "123456")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.RecoveryCodes, []string{"aaaa-bbbb", "cccc-dddd"}) {
			t.Errorf("decoded %+v", r)
		}
	})
	t.Run("sessions ended", func(t *testing.T) {
		c, _ := fake(t, 200, `{"ended":4}`)
		r, err := c.EndSessions(ctx, "alice")
		if err != nil || r.Ended != 4 {
			t.Errorf("EndSessions = %+v, %v", r, err)
		}
	})
}

func TestPeopleProblems(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		status int
		code   string
		call   func(*client.Client) error
	}{
		{"weak password", 400, "weak_password", func(c *client.Client) error { return c.SetPassword(ctx, "alice", testPassword) }},
		{"unknown user", 404, "user_not_found", func(c *client.Client) error { return c.SetPassword(ctx, "bob", testPassword) }},
		{"forbidden", 403, "forbidden", func(c *client.Client) error { return c.RemovePassword(ctx, "alice") }},
		{"totp active", 409, "totp_active", func(c *client.Client) error { _, err := c.EnrollTOTP(ctx, "alice"); return err }},
		{"invalid code", 400, "invalid_code", func(c *client.Client) error { _, err := c.ConfirmTOTP(ctx, "alice", "000000"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := fake(t, tt.status, `{"code":"`+tt.code+`","detail":"refused"}`)
			err := tt.call(c)
			if client.StatusOf(err) != tt.status || client.CodeOf(err) != tt.code {
				t.Fatalf("err = %v, want %d %s", err, tt.status, tt.code)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error contains the password: %v", err)
			}
		})
	}
}

// TestSetPasswordErrorsHideThePassword: the password is in the request body
// only, never in an error, whatever goes wrong on the way.
func TestSetPasswordErrorsHideThePassword(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close() // connection refused
	c, err := client.New(url, testToken)
	if err != nil {
		t.Fatal(err)
	}
	err = c.SetPassword(ctx, "alice", testPassword)
	if err == nil {
		t.Fatal("SetPassword to a closed server succeeded")
	}
	if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), testToken) {
		t.Errorf("error contains a secret: %v", err)
	}
	c, _ = fake(t, 400, `<html>bad request</html>`)
	if err := c.SetPassword(ctx, "alice", testPassword); err == nil || strings.Contains(err.Error(), testPassword) {
		t.Errorf("err = %v", err)
	}
}

func TestPeopleEmptyIDsAreRefusedLocally(t *testing.T) {
	ctx := context.Background()
	c, s := fake(t, 204, ``)
	calls := map[string]func() error{
		"SetPassword":             func() error { return c.SetPassword(ctx, "", testPassword) },
		"RemovePassword":          func() error { return c.RemovePassword(ctx, "") },
		"EnrollTOTP":              func() error { _, err := c.EnrollTOTP(ctx, ""); return err },
		"ConfirmTOTP":             func() error { _, err := c.ConfirmTOTP(ctx, "", "1"); return err },
		"RemoveTOTP":              func() error { return c.RemoveTOTP(ctx, "") },
		"RegenerateRecoveryCodes": func() error { _, err := c.RegenerateRecoveryCodes(ctx, ""); return err },
		"Factors":                 func() error { _, err := c.Factors(ctx, ""); return err },
		"Sessions":                func() error { _, err := c.Sessions(ctx, ""); return err },
		"EndSession no user":      func() error { return c.EndSession(ctx, "", "s1") },
		"EndSession no session":   func() error { return c.EndSession(ctx, "alice", "") },
		"EndSessions":             func() error { _, err := c.EndSessions(ctx, ""); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("%s: err = %v, want an empty-id error", name, err)
		}
	}
	if s.method != "" {
		t.Errorf("a request was sent: %s %s", s.method, s.path)
	}
}
