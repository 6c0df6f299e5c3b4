package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestUserProfileCommands(t *testing.T) {
	srv := newFakeServer(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
		wantBody map[string]any // the request body, if checked
	}{
		{name: "create with a profile", args: []string{"users", "create", "alice", "--email", "alice@example.com", "--email-verified", "--preferred-username", "alice"},
			wantBody: map[string]any{"id": "alice", "email": "alice@example.com", "email_verified": true, "preferred_username": "alice"}},
		{name: "create without a profile sends none", args: []string{"users", "create", "alice"},
			wantBody: map[string]any{"id": "alice"}},
		{name: "update the email only", args: []string{"users", "update", "alice", "--email", "alice@example.org", "--email-verified=false"},
			wantBody: map[string]any{"email": "alice@example.org", "email_verified": false}},
		{name: "update clears the preferred username", args: []string{"users", "update", "alice", "--preferred-username", ""},
			wantBody: map[string]any{"preferred_username": ""}},
		{name: "create with groups", args: []string{"users", "create", "alice", "--groups", "staff,sales", "--group", "ops"},
			wantBody: map[string]any{"id": "alice", "groups": []any{"staff", "sales", "ops"}}},
		{name: "update replaces the groups", args: []string{"users", "update", "alice", "--groups", "admins"},
			wantBody: map[string]any{"groups": []any{"admins"}}},
		{name: "update --groups '' removes them", args: []string{"users", "update", "alice", "--groups", ""},
			wantBody: map[string]any{"groups": []any{}}},
		{name: "apps have no groups", args: []string{"apps", "update", "ci", "--groups", "staff"}, wantCode: exitUsage,
			wantErr: []string{"flag provided but not defined: -groups"}},
		{name: "get shows the profile", args: []string{"users", "get", "alice"},
			wantOut: []string{"Email:              alice@example.com (verified)\n", "Preferred username: alice\n"}},
		{name: "update without a flag names the profile flags", args: []string{"users", "update", "alice"}, wantCode: exitUsage,
			wantErr: []string{"--email, --email-verified, --preferred-username, --groups"}},
		{name: "apps have no profile flags", args: []string{"apps", "create", "ci", "--email", "ci@example.com"}, wantCode: exitUsage,
			wantErr: []string{"flag provided but not defined: -email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.lastRequest()
			r := runCLI(t, srv, nil, "", tt.args...)
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
			last := srv.lastRequest()
			if tt.wantCode == exitUsage && !reflect.DeepEqual(last, before) {
				t.Errorf("a usage error sent %s %s", last.method, last.path)
			}
			if tt.wantBody != nil && !reflect.DeepEqual(last.body, tt.wantBody) {
				t.Errorf("body = %v\nwant   %v", last.body, tt.wantBody)
			}
		})
	}
}
