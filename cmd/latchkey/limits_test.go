package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
)

func TestParseRateLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    api.RateLimit
		wantErr string // substring of the usage message; "" for success
	}{
		{"requests=100/1m", api.RateLimit{Name: "requests", Limit: 100, Window: "1m"}, ""},
		{"burst=10/1s", api.RateLimit{Name: "burst", Limit: 10, Window: "1s"}, ""},
		{"daily=10000/24h", api.RateLimit{Name: "daily", Limit: 10000, Window: "24h"}, ""},
		{"tokens_in-2=5/1m30s", api.RateLimit{Name: "tokens_in-2", Limit: 5, Window: "1m30s"}, ""},
		{"requests=100/7d", api.RateLimit{Name: "requests", Limit: 100, Window: "7d"}, ""},
		{"monthly=1000000000/744h", api.RateLimit{Name: "monthly", Limit: 1e9, Window: "744h"}, ""},
		{"requests", api.RateLimit{}, "no '='"},
		{"=100/1m", api.RateLimit{}, "is not 1-32 of [a-z0-9_-]"},
		{"Requests=100/1m", api.RateLimit{}, "is not 1-32 of [a-z0-9_-]"},
		{"a b=100/1m", api.RateLimit{}, "is not 1-32 of [a-z0-9_-]"},
		{"a.b=100/1m", api.RateLimit{}, "is not 1-32 of [a-z0-9_-]"},
		{strings.Repeat("x", 33) + "=1/1s", api.RateLimit{}, "is not 1-32 of [a-z0-9_-]"},
		{"requests=100", api.RateLimit{}, "no '/'"},
		{"requests=/1m", api.RateLimit{}, "positive integer"},
		{"requests=1.5/1m", api.RateLimit{}, "positive integer"},
		{"requests=0/1m", api.RateLimit{}, "0 is not in [1, 1000000000]"},
		{"requests=-5/1m", api.RateLimit{}, "-5 is not in [1, 1000000000]"},
		{"requests=1000000001/1m", api.RateLimit{}, "is not in [1, 1000000000]"},
		{"requests=100/", api.RateLimit{}, "the window must be a duration"},
		{"requests=100/1.5d", api.RateLimit{}, "the window must be a duration"},
		{"requests=100/minute", api.RateLimit{}, "the window must be a duration"},
		{"requests=100/0s", api.RateLimit{}, "window 0s is not in [1s, 744h0m0s]"},
		{"requests=100/500ms", api.RateLimit{}, "window 500ms is not in [1s, 744h0m0s]"},
		{"requests=100/-1m", api.RateLimit{}, "is not in [1s, 744h0m0s]"},
		{"requests=100/32d", api.RateLimit{}, "is not in [1s, 744h0m0s]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRateLimit("ratelimit", tt.in)
			if tt.wantErr != "" {
				if _, ok := err.(*usageError); !ok || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), rateLimitSyntax) {
					t.Fatalf("err = %v, want a usage error with %q and the syntax", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := parseRateLimits("ratelimit", []string{"a=1/1s", "b=2/1s", "a=3/1m"}); err == nil || !strings.Contains(err.Error(), `"a" is given twice`) {
		t.Errorf("duplicate names: err = %v", err)
	}
}

func TestShortWindow(t *testing.T) {
	for in, want := range map[string]string{"1m0s": "1m", "24h0m0s": "24h", "1h30m0s": "1h30m", "10s": "10s", "1m30s": "1m30s",
		"2h0m5s": "2h0m5s", "744h0m0s": "744h", "7d": "7d", "0s": "0s", "1.5s": "1.5s", "10m0s": "10m"} {
		if got := shortWindow(in); got != want {
			t.Errorf("shortWindow(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRefill(t *testing.T) {
	for in, want := range map[string]*api.Refill{
		"daily:1000":      {Interval: "daily", Amount: 1000},
		"monthly:50000":   {Interval: "monthly", Amount: 50000},
		"daily":           nil,
		"weekly:10":       nil,
		"Daily:10":        nil,
		"daily:0":         nil,
		"daily:-1":        nil,
		"daily:x":         nil,
		"monthly:":        nil,
		":1000":           nil,
		"daily:1000:1000": nil,
	} {
		got, err := parseRefill("refill", in)
		if want == nil {
			if _, ok := err.(*usageError); !ok {
				t.Errorf("parseRefill(%q) = %+v, %v; want a usage error", in, got, err)
			}
			continue
		}
		if err != nil || *got != *want {
			t.Errorf("parseRefill(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseIPAllow(t *testing.T) {
	tests := []struct {
		in   []string
		want []string // nil: a usage error
	}{
		{[]string{"203.0.113.0/24", "2001:db8::/32"}, []string{"203.0.113.0/24", "2001:db8::/32"}},
		{[]string{"198.51.100.7"}, []string{"198.51.100.7/32"}},
		{[]string{"2001:db8::1"}, []string{"2001:db8::1/128"}},
		{[]string{"::ffff:203.0.113.5"}, []string{"203.0.113.5/32"}},
		{[]string{}, []string{}},
		{[]string{"203.0.113.0/33"}, nil},
		{[]string{"203.0.113"}, nil},
		{[]string{"example.com"}, nil},
		{[]string{"fe80::1%eth0"}, nil},
		{[]string{"10.0.0.0/8", "nope"}, nil},
	}
	for _, tt := range tests {
		got, err := parseIPAllow("ip-allow", tt.in)
		if tt.want == nil {
			if _, ok := err.(*usageError); !ok || !strings.Contains(err.Error(), "CIDR prefix") {
				t.Errorf("parseIPAllow(%q) = %q, %v; want a usage error", tt.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseIPAllow(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestLimitCommands runs the commands with rate-limit, allowlist and refill
// flags against the fake server: what they send, what they print, and
// exit 2 with a clear message for every malformed value.
func TestLimitCommands(t *testing.T) {
	srv := newFakeServer(t)
	rl := func(name string, limit float64, window string) map[string]any {
		return map[string]any{"name": name, "limit": limit, "window": window}
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
		wantBody map[string]any // the request body, if checked
	}{
		{name: "usage/bad ratelimit", args: []string{"keys", "create", "--ratelimit", "requests=100"}, wantCode: 2,
			wantErr: []string{`--ratelimit must be NAME=LIMIT/WINDOW such as requests=100/1m, not "requests=100"`, "latchkey keys create -h"}},
		{name: "usage/bad ratelimit window", args: []string{"keys", "update", "key_1", "--ratelimit", "r=1/1w"}, wantCode: 2, wantErr: []string{"the window must be a duration"}},
		{name: "usage/duplicate ratelimit", args: []string{"keys", "create", "--ratelimit", "r=1/1s", "--ratelimit", "r=2/1s"}, wantCode: 2, wantErr: []string{"given twice"}},
		{name: "usage/ratelimit and none", args: []string{"keys", "update", "key_1", "--ratelimit", "r=1/1s", "--no-ratelimits"}, wantCode: 2, wantErr: []string{"--ratelimit or --no-ratelimits, not both"}},
		{name: "usage/no-ratelimits on create", args: []string{"keys", "create", "--no-ratelimits"}, wantCode: 2, wantErr: []string{"flag provided but not defined: -no-ratelimits"}},
		{name: "usage/bad ip-allow", args: []string{"keys", "create", "--ip-allow", "10.0.0.0/8,10.1"}, wantCode: 2, wantErr: []string{`not "10.1"`}},
		{name: "usage/empty ip-allow on update", args: []string{"keys", "update", "key_1", "--ip-allow", ""}, wantCode: 2, wantErr: []string{"--no-ip-allow"}},
		{name: "usage/ip-allow and none", args: []string{"keys", "update", "key_1", "--ip-allow", "10.0.0.0/8", "--no-ip-allow"}, wantCode: 2, wantErr: []string{"not both"}},
		{name: "usage/bad refill", args: []string{"keys", "create", "--refill", "weekly:5"}, wantCode: 2, wantErr: []string{"daily:AMOUNT or monthly:AMOUNT"}},
		{name: "usage/bad refill amount", args: []string{"keys", "update", "key_1", "--refill", "daily:0"}, wantCode: 2, wantErr: []string{"positive integer"}},
		{name: "usage/refill and none", args: []string{"keys", "update", "key_1", "--refill", "daily:5", "--no-refill"}, wantCode: 2, wantErr: []string{"not both"}},
		{name: "usage/bad cost", args: []string{"keys", "verify", goodKey, "--cost", "-1"}, wantCode: 2, wantErr: []string{"--cost must be a non-negative integer"}},
		{name: "usage/bad ip", args: []string{"keys", "verify", goodKey, "--ip", "203.0.113.0/24"}, wantCode: 2, wantErr: []string{"--ip must be an IPv4 or IPv6 address"}},
		{name: "usage/bad keyspace ratelimit", args: []string{"keyspaces", "create", "acme", "--ratelimit", "r=x/1m"}, wantCode: 2, wantErr: []string{"positive integer"}},
		{name: "usage/bad ratelimit name", args: []string{"users", "create", "alice", "--owner-ratelimit", "Req=1/1s"}, wantCode: 2, wantErr: []string{`limit name "Req" is not 1-32 of [a-z0-9_-]`}},
		{name: "usage/bad owner ratelimit", args: []string{"users", "update", "alice", "--owner-ratelimit", "r"}, wantCode: 2, wantErr: []string{"--owner-ratelimit must be NAME=LIMIT/WINDOW"}},
		{name: "usage/owner ratelimit and none", args: []string{"apps", "update", "ci", "--owner-ratelimit", "r=1/1s", "--no-owner-ratelimits"}, wantCode: 2, wantErr: []string{"not both"}},

		{name: "create/limits", args: []string{"keys", "create", "--ratelimit", "requests=100/1m", "--ratelimit", "burst=10/1s",
			"--ip-allow", "203.0.113.0/24", "--ip-allow", "2001:db8::/32,198.51.100.7", "--remaining", "1000", "--refill", "daily:1000"},
			wantOut: []string{"Created key key_new"},
			wantBody: map[string]any{"ratelimits": []any{rl("requests", 100, "1m"), rl("burst", 10, "1s")},
				"ip_allow": []any{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"}, "remaining": 1000.0,
				"refill": map[string]any{"interval": "daily", "amount": 1000.0}}},
		{name: "update/set limits", args: []string{"keys", "update", "key_1", "--ratelimit", "requests=5/10s", "--ip-allow", "::ffff:203.0.113.5", "--refill", "monthly:50000"},
			wantBody: map[string]any{"ratelimits": []any{rl("requests", 5, "10s")}, "ip_allow": []any{"203.0.113.5/32"},
				"refill": map[string]any{"interval": "monthly", "amount": 50000.0}}},
		{name: "update/remove limits", args: []string{"keys", "update", "key_1", "--no-ratelimits", "--no-ip-allow", "--no-refill"},
			wantBody: map[string]any{"ratelimits": []any{}, "ip_allow": []any{}, "refill": nil}},
		{name: "get/limits", args: []string{"keys", "get", "key_limits"},
			wantOut: []string{"Remaining:   7\n", "Refill:      daily:1000 (last 2026-01-02T03:04:05Z)\n",
				"Rate limits: requests=100/1m, burst=10/1s\n", "IP allow:    203.0.113.0/24, 2001:db8::/32\n"}},
		{name: "get/inert scopes", args: []string{"keys", "get", "key_inert"},
			wantOut: []string{"Scopes:    orders:read,orders:write\n", "Effective: orders:read\n", "Inert:     orders:write (the owner no longer holds them)\n"}},
		{name: "verify/cost ip keyspace", args: []string{"keys", "verify", goodKey, "--cost", "0", "--ip", "2001:db8::5", "--keyspace", "default"},
			wantOut:  []string{"valid: VALID"},
			wantBody: map[string]any{"key": goodKey, "cost": 0.0, "ip": "2001:db8::5", "keyspace": "default"}},
		{name: "verify/rate limited prints states", args: []string{"keys", "verify", limitedKey}, wantCode: 1,
			wantOut: []string{"invalid: RATE_LIMITED\n\nNAME      LIMIT  REMAINING  RESET\nrequests  5/10s  0          2026-01-02T03:04:05.000Z\n"}},
		{name: "keyspaces/create ratelimit", args: []string{"keyspaces", "create", "acme", "--ratelimit", "requests=60/1m"},
			wantBody: map[string]any{"name": "acme", "ratelimits": []any{rl("requests", 60, "1m")}}},
		{name: "keyspaces/update no ratelimits", args: []string{"keyspaces", "update", "acme", "--no-ratelimits"},
			wantOut: []string{"Rate limits:    requests=60/1m\n"}, wantBody: map[string]any{"ratelimits": []any{}}},
		{name: "users/create owner ratelimit", args: []string{"users", "create", "alice", "--owner-ratelimit", "requests=1000/1m"},
			wantOut:  []string{"Owner rate limits: requests=1000/1m\n"},
			wantBody: map[string]any{"id": "alice", "owner_ratelimits": []any{rl("requests", 1000, "1m")}}},
		{name: "users/update no owner ratelimits", args: []string{"users", "update", "alice", "--no-owner-ratelimits"},
			wantBody: map[string]any{"owner_ratelimits": []any{}}},
		{name: "apps/update owner ratelimit", args: []string{"apps", "update", "ci", "--owner-ratelimit", "requests=2/1s", "--owner-ratelimit", "daily=100/24h"},
			wantBody: map[string]any{"owner_ratelimits": []any{rl("requests", 2, "1s"), rl("daily", 100, "24h")}}},
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

func TestLimitFlagsInHelp(t *testing.T) {
	srv := newFakeServer(t)
	for _, args := range [][]string{
		{"keys", "create", "-h"}, {"keys", "update", "-h"}, {"keys", "verify", "-h"},
		{"keyspaces", "create", "-h"}, {"keyspaces", "update", "-h"}, {"users", "create", "-h"}, {"apps", "update", "-h"},
	} {
		r := runCLI(t, srv, nil, "", args...)
		want := map[string][]string{
			"keys create":      {"--ratelimit requests=100/1m", "--ip-allow 203.0.113.0/24", "--refill daily:1000"},
			"keys update":      {"--no-ratelimits --no-ip-allow", "--no-refill"},
			"keys verify":      {"--ip 203.0.113.5 --cost 10", "--cost 0"},
			"keyspaces create": {"--ratelimit requests=60/1m"}, "keyspaces update": {"--no-ratelimits"},
			"users create": {"--owner-ratelimit requests=1000/1m"}, "apps update": {"--no-owner-ratelimits"},
		}[args[0]+" "+args[1]]
		for _, s := range want {
			if r.code != 0 || !strings.Contains(r.stdout, s) {
				t.Errorf("%s -h (exit %d) has no example with %q", strings.Join(args[:2], " "), r.code, s)
			}
		}
	}
}
