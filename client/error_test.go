package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantMsg  string
		wantCode string
		check    func(error) bool
	}{
		{"404/problem", 404,
			`{"type":"about:blank","title":"Not Found","status":404,"detail":"key \"x\" not found","code":"key_not_found","request_id":"r1"}`,
			`latchkey: 404 key_not_found: key "x" not found`, "key_not_found", client.IsNotFound},
		{"409/problem without detail", 409,
			`{"title":"Conflict","status":409,"code":"conflict"}`,
			`latchkey: 409 conflict: Conflict`, "conflict", client.IsConflict},
		{"401/problem", 401,
			`{"title":"Unauthorized","status":401,"detail":"missing or invalid credential","code":"unauthenticated"}`,
			`latchkey: 401 unauthenticated: missing or invalid credential`, "unauthenticated", client.IsUnauthorized},
		{"403/problem", 403,
			`{"title":"Forbidden","status":403,"detail":"needs scope keys:write","code":"permission_denied"}`,
			`latchkey: 403 permission_denied: needs scope keys:write`, "permission_denied", client.IsForbidden},
		{"502/html from a proxy", 502,
			`<html><body>Bad gateway</body></html>`,
			`latchkey: 502 Bad Gateway`, "", func(err error) bool { return client.StatusOf(err) == 502 }},
		{"503/plain text", 503,
			"storage\n unavailable\n",
			`latchkey: 503 storage unavailable`, "", func(err error) bool { return client.StatusOf(err) == 503 }},
		{"500/empty body", 500, ``,
			`latchkey: 500 Internal Server Error`, "", func(err error) bool { return client.StatusOf(err) == 500 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := fake(t, tt.status, tt.body)
			_, err := c.Key(context.Background(), "x")
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.wantMsg)
			}
			if got := client.CodeOf(err); got != tt.wantCode {
				t.Errorf("CodeOf = %q, want %q", got, tt.wantCode)
			}
			if !tt.check(fmt.Errorf("wrapped: %w", err)) {
				t.Errorf("check failed for %v", err)
			}
			var e *client.Error
			if !errors.As(err, &e) || e.Status != tt.status || e.Problem.Status != tt.status {
				t.Errorf("errors.As: %#v", e)
			}
			if strings.Contains(err.Error(), testToken) {
				t.Error("error contains the token")
			}
		})
	}
}

func TestErrorKeepsRequestID(t *testing.T) {
	c, _ := fake(t, 404, `{"title":"Not Found","status":404,"code":"key_not_found","request_id":"req-42"}`)
	_, err := c.Key(context.Background(), "x")
	var e *client.Error
	if !errors.As(err, &e) || e.Problem.RequestID != "req-42" {
		t.Fatalf("err = %#v", err)
	}
}

func TestVerifyInvalidIsNotAnError(t *testing.T) {
	c, _ := fake(t, 200, `{"valid":false,"code":"REVOKED"}`)
	r, err := c.Verify(context.Background(), api.VerifyRequest{Key: "lk_x"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Valid || r.Code != "REVOKED" {
		t.Errorf("got %+v", r)
	}
}

func TestStatusOfOtherErrors(t *testing.T) {
	if client.StatusOf(errors.New("x")) != 0 || client.CodeOf(nil) != "" || client.IsNotFound(nil) {
		t.Error("non-API errors must have no status or code")
	}
}
