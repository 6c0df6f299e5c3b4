package api

import (
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
