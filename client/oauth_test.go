package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

const testClientSecret = "lkcs_TESTCLIENTSECRET"

func TestOAuthAppRequests(t *testing.T) {
	ctx := context.Background()
	settings := &api.OAuthSettings{GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_post", Audiences: []string{"orders"}}
	tests := []struct {
		name   string
		status int
		resp   string
		call   func(*client.Client) error
		method string
		path   string
		body   string
	}{
		{"create app with oauth", 201, `{"type":"app","id":"web"}`, func(c *client.Client) error {
			_, err := c.CreateApp(ctx, api.CreatePrincipalRequest{ID: "web", OAuth: settings})
			return err
		}, "POST", "/v1/apps", `{"id":"web","oauth":{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post","audiences":["orders"]}}`},
		{"update app oauth", 200, `{"type":"app","id":"web"}`, func(c *client.Client) error {
			_, err := c.UpdateApp(ctx, "web", api.UpdatePrincipalRequest{OAuth: settings})
			return err
		}, "PATCH", "/v1/apps/web", `{"oauth":{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_post","audiences":["orders"]}}`},
		{"rotate secret", 201, `{"client_id":"web","client_secret":"x"}`, func(c *client.Client) error {
			_, err := c.RotateClientSecret(ctx, "web", 0)
			return err
		}, "POST", "/v1/apps/web/secret", `{}`},
		{"rotate secret with grace", 201, `{"client_id":"web","client_secret":"x"}`, func(c *client.Client) error {
			_, err := c.RotateClientSecret(ctx, "web", 90*time.Minute)
			return err
		}, "POST", "/v1/apps/web/secret", `{"grace_period":"1h30m0s"}`},
		{"rotate secret escapes id", 201, `{"client_id":"a/b","client_secret":"x"}`, func(c *client.Client) error {
			_, err := c.RotateClientSecret(ctx, "a/b", 0)
			return err
		}, "POST", "/v1/apps/a%2Fb/secret", `{}`},
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
		})
	}
}

func TestOAuthAppDecodesResponses(t *testing.T) {
	ctx := context.Background()
	t.Run("created client", func(t *testing.T) {
		c, _ := fake(t, 201, `{"type":"app","id":"web","oauth":{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic","access_token_format":"jwt"},"client_id":"web","client_secret":"`+testClientSecret+`"}`)
		p, err := c.CreateApp(ctx, api.CreatePrincipalRequest{ID: "web", OAuth: &api.OAuthSettings{}})
		if err != nil {
			t.Fatal(err)
		}
		want := &api.OAuthSettings{GrantTypes: []string{"client_credentials"}, TokenEndpointAuthMethod: "client_secret_basic", AccessTokenFormat: "jwt"}
		if p.ClientID != "web" || p.ClientSecret != testClientSecret || !reflect.DeepEqual(p.OAuth, want) {
			t.Errorf("decoded %+v (oauth %+v)", p, p.OAuth)
		}
	})
	t.Run("client secret", func(t *testing.T) {
		c, _ := fake(t, 201, `{"client_id":"web","client_secret":"`+testClientSecret+`","previous_valid_until":"2026-01-02T04:04:05Z"}`)
		s, err := c.RotateClientSecret(ctx, "web", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if s.ClientID != "web" || s.ClientSecret != testClientSecret || s.PreviousValidUntil == nil || *s.PreviousValidUntil != "2026-01-02T04:04:05Z" {
			t.Errorf("decoded %+v", s)
		}
	})
	t.Run("not a client", func(t *testing.T) {
		c, _ := fake(t, 404, `{"code":"client_not_found","detail":"app \"ci\" is not an OAuth client"}`)
		_, err := c.RotateClientSecret(ctx, "ci", 0)
		if client.StatusOf(err) != 404 || client.CodeOf(err) != "client_not_found" {
			t.Errorf("err = %v, want 404 client_not_found", err)
		}
	})
	t.Run("invalid metadata", func(t *testing.T) {
		c, _ := fake(t, 422, `{"code":"invalid_client_metadata","detail":"redirect_uris: not an absolute URI"}`)
		_, err := c.CreateApp(ctx, api.CreatePrincipalRequest{ID: "web", OAuth: &api.OAuthSettings{RedirectURIs: []string{"cb"}}})
		if client.StatusOf(err) != 422 || client.CodeOf(err) != "invalid_client_metadata" {
			t.Errorf("err = %v, want 422 invalid_client_metadata", err)
		}
	})
}

// TestRotateClientSecretIsNotRetried: a second try would replace the secret
// again, so a 503 is the caller's to judge, after one request.
func TestRotateClientSecretIsNotRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(503)
		json.NewEncoder(w).Encode(api.Problem{Status: 503, Code: "unavailable"})
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(srv.URL, testToken, client.WithRetries(4, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RotateClientSecret(context.Background(), "web", 0); client.StatusOf(err) != 503 {
		t.Fatalf("err = %v, want 503", err)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestRotateClientSecretEmptyIDIsRefusedLocally(t *testing.T) {
	c, s := fake(t, 201, `{}`)
	if _, err := c.RotateClientSecret(context.Background(), "", 0); err == nil {
		t.Error("RotateClientSecret with an empty id succeeded")
	}
	if s.method != "" {
		t.Errorf("sent %s %s", s.method, s.path)
	}
}
