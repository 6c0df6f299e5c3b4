package api

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseDurationCheckedArithmetic(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  error
	}{
		{"30d", 30 * 24 * time.Hour, nil},
		{"90s", 90 * time.Second, nil},
		{"720h", 720 * time.Hour, nil},
		{"36500d", 36500 * 24 * time.Hour, nil},
		{"36501d", 0, ErrDurationRange},
		{"213504d", 0, ErrDurationRange},
		{"213505d", 0, ErrDurationRange},
		{"99999999999999999999d", 0, ErrDurationRange},
		{"9999999999999999h", 0, ErrDurationRange},
		{"876001h", 0, ErrDurationRange},
		{"-1h", 0, ErrDurationRange},
		{"-1d", 0, ErrDurationRange},
		{"1.5d", 0, ErrDurationSyntax},
		{"d", 0, ErrDurationSyntax},
		{"soon", 0, ErrDurationSyntax},
		{"", 0, ErrDurationSyntax},
	} {
		got, err := ParseDuration(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestLifetimeAndSecondsAcceptBothForms(t *testing.T) {
	var k CreateKeyRequest
	if err := json.Unmarshal([]byte(`{"expires_in":3600}`), &k); err != nil || k.ExpiresIn != "3600s" {
		t.Errorf("keys expires_in 3600 = %q, %v", k.ExpiresIn, err)
	}
	if err := json.Unmarshal([]byte(`{"expires_in":"30d"}`), &k); err != nil || k.ExpiresIn != "30d" {
		t.Errorf("keys expires_in \"30d\" = %q, %v", k.ExpiresIn, err)
	}
	var r TokenRequest
	if err := json.Unmarshal([]byte(`{"expires_in":"5m"}`), &r); err != nil || r.ExpiresIn != 300 {
		t.Errorf("tokens expires_in \"5m\" = %d, %v", r.ExpiresIn, err)
	}
	if err := json.Unmarshal([]byte(`{"expires_in":120}`), &r); err != nil || r.ExpiresIn != 120 {
		t.Errorf("tokens expires_in 120 = %d, %v", r.ExpiresIn, err)
	}
	for _, bad := range []string{`{"expires_in":"soon"}`, `{"expires_in":"1.5s"}`, `{"expires_in":1.5}`, `{"expires_in":true}`, `{"expires_in":"213504d"}`} {
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("tokens %s accepted", bad)
		}
	}
	for _, bad := range []string{`{"expires_in":1.5}`, `{"expires_in":true}`, `{"expires_in":null}`} {
		var k CreateKeyRequest
		if err := json.Unmarshal([]byte(bad), &k); err == nil && k.ExpiresIn != "" {
			t.Errorf("keys %s accepted as %q", bad, k.ExpiresIn)
		}
	}
	if b, _ := json.Marshal(TokenRequest{ExpiresIn: 60}); string(b) != `{"expires_in":60}` {
		t.Errorf("TokenRequest marshals as %s", b)
	}
}
