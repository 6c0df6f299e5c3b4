package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/client"
)

// TestGrantRequests: the grant methods send the documented requests, with
// ids escaped, and decode the answers.
func TestGrantRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		status       int
		resp         string
		call         func(*client.Client) (any, error)
		method, path string
		query        string
		want         string // fmt of the decoded answer
	}{
		{"list", 200, `{"grants":[{"id":"key_1","client_id":"web","scopes":["a:read"],"created_at":"2026-01-02T03:04:05Z"}]}`,
			func(c *client.Client) (any, error) {
				l, err := c.UserGrants(ctx, "al/ice")
				if err != nil {
					return nil, err
				}
				return l.Grants[0].ClientID + " " + l.Grants[0].Scopes[0], nil
			}, "GET", "/v1/users/al%2Fice/grants", "", "web a:read"},
		{"revoke one", 204, ``, func(c *client.Client) (any, error) {
			return "", c.RevokeUserGrant(ctx, "alice", "key/1")
		}, "DELETE", "/v1/users/alice/grants/key%2F1", "", ""},
		{"revoke a user's grants to an app", 200, `{"revoked":2}`, func(c *client.Client) (any, error) {
			n, err := c.RevokeUserAppGrants(ctx, "alice", "web app")
			if err != nil {
				return nil, err
			}
			return n.Revoked, nil
		}, "DELETE", "/v1/users/alice/grants", "client_id=web+app", "2"},
		{"revoke an app's grants", 200, `{"revoked":5}`, func(c *client.Client) (any, error) {
			n, err := c.RevokeAppGrants(ctx, "web")
			if err != nil {
				return nil, err
			}
			return n.Revoked, nil
		}, "DELETE", "/v1/apps/web/grants", "", "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := fake(t, tt.status, tt.resp)
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if s.method != tt.method || s.path != tt.path || s.query != tt.query {
				t.Errorf("request = %s %s?%s, want %s %s?%s", s.method, s.path, s.query, tt.method, tt.path, tt.query)
			}
			if g := fmt.Sprint(got); g != tt.want {
				t.Errorf("answer %q, want %q", g, tt.want)
			}
		})
	}
	if _, err := (&client.Client{}).UserGrants(ctx, ""); err == nil {
		t.Error("an empty user id was sent")
	}
}
