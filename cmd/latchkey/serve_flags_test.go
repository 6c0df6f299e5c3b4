package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestServeLimitFlags: malformed rate-limit, proxy and failure-budget
// settings stop `latchkey serve` with exit 2 and a message naming the
// option, before anything is opened.
func TestServeLimitFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // substring of stderr
	}{
		{"trusted proxies flag", []string{"--trusted-proxies", "10.0.0.0/8,nope"}, nil, "--trusted-proxies"},
		{"trusted proxies env", nil, map[string]string{"LATCHKEY_TRUSTED_PROXIES": "10.0.0.0/33"}, "--trusted-proxies"},
		{"failure limit without window", []string{"--failure-limit", "10"}, nil, "--failure-limit"},
		{"failure limit zero", []string{"--failure-limit", "0/1m"}, nil, "--failure-limit"},
		{"failure limit bad window", []string{"--failure-limit", "10/soon"}, nil, "--failure-limit"},
		{"failure limit env", nil, map[string]string{"LATCHKEY_FAILURE_LIMIT": "ten/1m"}, "--failure-limit"},
		{"verify failure limit", []string{"--verify-failure-limit", "100/0s"}, nil, "--verify-failure-limit"},
		{"verify failure limit env", nil, map[string]string{"LATCHKEY_VERIFY_FAILURE_LIMIT": "-1/1m"}, "--verify-failure-limit"},
		// A short root key was refused only after the data directory and
		// master.key were written, with exit 4.
		{"root key too short", nil, map[string]string{"LATCHKEY_ROOT_KEY": "tooshort10"}, "LATCHKEY_ROOT_KEY must be at least 32"},
		{"root key malformed", nil, map[string]string{"LATCHKEY_ROOT_KEY": strings.Repeat("x", 20) + " " + strings.Repeat("y", 20)}, "LATCHKEY_ROOT_KEY must be printable"},
		{"tls half", []string{"--tls-cert", "cert.pem"}, nil, "TLS needs both"},
		{"audit checkpoint every zero", []string{"--audit-checkpoint-every", "0"}, nil, "--audit-checkpoint-every"},
		{"audit checkpoint interval short", []string{"--audit-checkpoint-interval", "10ms"}, nil, "--audit-checkpoint-interval"},
		{"audit checkpoint every env", nil, map[string]string{"LATCHKEY_AUDIT_CHECKPOINT_EVERY": "many"}, "LATCHKEY_AUDIT_CHECKPOINT_EVERY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir() + "/never-created"
			var out, errb strings.Builder
			env := func(k string) string { return tt.env[k] }
			args := append([]string{"--data-dir", dir, "--addr", "127.0.0.1:0"}, tt.args...)
			if code := serve(context.Background(), args, &out, &errb, env); code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Errorf("stderr does not name %s: %s", tt.want, errb.String())
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data directory was created for a refused configuration (stat: %v)", err)
			}
		})
	}
	var errb strings.Builder
	serve(context.Background(), []string{"-h"}, &errb, &errb, func(string) string { return "" })
	for _, flag := range []string{"-redis-url", "-trusted-proxies", "-failure-limit", "-verify-failure-limit", "LATCHKEY_REDIS_URL", "-audit-checkpoint-every", "LATCHKEY_AUDIT_CHECKPOINT_INTERVAL"} {
		if !strings.Contains(errb.String(), flag) {
			t.Errorf("serve -h does not mention %s", flag)
		}
	}
}
