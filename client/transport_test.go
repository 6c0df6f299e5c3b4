package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		name, url, token, wantErr string
	}{
		{"ok", "http://localhost:8080", "t", ""},
		{"ok https with path", "https://example.com/lk", "t", ""},
		{"empty token allowed", "http://localhost", "", ""},
		{"no scheme", "localhost:8080", "tok9", "scheme"},
		{"ftp", "ftp://x", "tok9", "scheme"},
		{"no host", "http://", "tok9", "no host"},
		{"query", "http://x/?a=b", "tok9", "query"},
		{"token with newline", "http://x", "abc\nEvil: 1", "invalid token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.New(tt.url, tt.token)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error contains the token: %v", err)
			}
		})
	}
}

// body returns a JSON string of n bytes.
func body(n int) string {
	b, _ := json.Marshal(strings.Repeat("x", n-2))
	return string(b)
}

func TestResponseSizeLimit(t *testing.T) {
	c, _ := fake(t, 200, `{"items":[],"next_cursor":`+body(client.MaxResponseBytes)+`}`)
	_, err := c.ListKeys(context.Background(), client.KeyListOptions{})
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v", err)
	}
}

func TestNetworkErrorHidesToken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := client.New(url, testToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Verify(context.Background(), api.VerifyRequest{Key: "lk_secret_being_verified"})
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "lk_secret_being_verified") {
		t.Errorf("error leaks a secret: %v", err)
	}
	if client.StatusOf(err) != 0 {
		t.Errorf("StatusOf = %d, want 0", client.StatusOf(err))
	}
	if errors.Is(err, context.Canceled) {
		t.Error("unexpected context.Canceled")
	}
}
