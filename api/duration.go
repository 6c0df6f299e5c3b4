package api

import (
	"encoding/json"
	"errors"
	"fmt"
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

// Lifetime is a duration in a request body: a duration string as
// ParseDuration reads it ("30d", "720h") or a JSON integer of seconds
// (2592000), which is kept as "2592000s".
type Lifetime string

// UnmarshalJSON accepts a string or an integer number of seconds.
func (l *Lifetime) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = Lifetime(s)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return errors.New("a duration must be a string such as \"30d\" or a whole number of seconds")
	}
	*l = Lifetime(strconv.FormatInt(n, 10) + "s")
	return nil
}

// Seconds is a lifetime in whole seconds that a request may also give as a
// duration string ("5m"); answers always carry the number.
type Seconds int64

// UnmarshalJSON accepts an integer number of seconds or a duration string.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		d, err := ParseDuration(str)
		if err != nil || d%time.Second != 0 {
			return fmt.Errorf("%q is not a whole number of seconds between 0 and 100 years; use a number of seconds or a duration such as \"5m\"", str)
		}
		*s = Seconds(d / time.Second)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return errors.New("a duration must be a whole number of seconds or a string such as \"5m\"")
	}
	*s = Seconds(n)
	return nil
}
