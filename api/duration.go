package api

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// MaxDuration bounds every duration latchkey accepts (100 years).
const MaxDuration = 100 * 365 * 24 * time.Hour

// ErrDurationSyntax and ErrDurationRange are the two ways ParseDuration
// fails.
var (
	ErrDurationSyntax = errors.New("not a duration")
	ErrDurationRange  = errors.New("duration out of range")
)

// ParseDuration parses a duration as the server and the CLI both read it:
// Go syntax ("90s", "1h30m", "720h") or whole days ("30d"). The result is
// between 0 and MaxDuration; arithmetic is checked, so a huge day count is
// ErrDurationRange, never a wrapped-around small value.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && !strings.ContainsAny(n, "hmsuµn.") {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
				return 0, ErrDurationRange
			}
			return 0, ErrDurationSyntax
		}
		if days < 0 || days > int64(MaxDuration/(24*time.Hour)) {
			return 0, ErrDurationRange
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		// time.ParseDuration reports overflow as "invalid duration" too;
		// tell the two apart by the digits alone.
		if strings.TrimLeft(s, "+-0123456789.") != s && overflows(s) {
			return 0, ErrDurationRange
		}
		return 0, ErrDurationSyntax
	}
	if d < 0 || d > MaxDuration {
		return 0, ErrDurationRange
	}
	return d, nil
}

// overflows reports whether s is well-formed Go duration syntax whose value
// does not fit: every unit is known and the leading number is long.
func overflows(s string) bool {
	s = strings.TrimLeft(s, "+-")
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	if digits < 10 {
		return false
	}
	// Well-formed if a smaller number in the same place parses.
	_, err := time.ParseDuration("1" + s[digits:])
	return err == nil
}
