package ratelimittest

import (
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// A step is one Allow at T0+at and the result it must give (reset is an offset from T0).
type step struct {
	at   time.Duration
	key  string // "k" when empty
	cost int64
	want want
}

type want struct {
	ok        bool
	remaining int64
	reset     time.Duration
	retry     time.Duration
}

type tcase struct {
	name  string
	limit ratelimit.Limit
	steps []step
}

// burst returns n steps of cost 1 at one instant on a fresh budget of lim with emission
// interval t: remaining lim-1 … lim-n, reset t … n·t.
func burst(at time.Duration, n, lim int64, t time.Duration) []step {
	var s []step
	for i := int64(1); i <= n; i++ {
		s = append(s, step{at: at, cost: 1, want: want{true, lim - i, at + time.Duration(i)*t, 0}})
	}
	return s
}

func join(parts ...[]step) []step {
	var s []step
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

const (
	sec    = time.Second
	minute = time.Minute
	hr     = time.Hour
)

func cases() []tcase {
	perMin := ratelimit.Limit{Name: "requests", Limit: 10, Window: minute} // T = 6s
	third := ratelimit.Limit{Name: "third", Limit: 3, Window: sec}         // T = 333333333⅓ns
	huge := ratelimit.Limit{Name: "huge", Limit: 1e9, Window: 744 * hr}    // T = 2678400ns
	seven := ratelimit.Limit{Name: "seven", Limit: 7, Window: 744 * hr}    // T not whole ns
	// boundary: a burst of 10 at 0, then one unit each T: 19 admitted in [0, 60s).
	var boundary []step
	for k := time.Duration(1); k <= 9; k++ {
		boundary = append(boundary, step{at: k * 6 * sec, cost: 1, want: want{true, 0, 60*sec + k*6*sec, 0}})
	}
	return []tcase{
		{"first request gets the full budget", perMin, []step{
			{0, "", 1, want{true, 9, 6 * sec, 0}},
		}},
		{"burst admits exactly Limit and refuses Limit+1", perMin, join(burst(0, 10, 10, 6*sec), []step{
			{0, "", 1, want{false, 0, 60 * sec, 6 * sec}},
			{0, "", 1, want{false, 0, 60 * sec, 6 * sec}}, // a refusal takes nothing
		})},
		{"refill is one unit per Window/Limit", perMin, join(burst(0, 10, 10, 6*sec), []step{
			{6*sec - 1, "", 1, want{false, 0, 60 * sec, 1}},
			{6 * sec, "", 1, want{true, 0, 66 * sec, 0}},
			{6 * sec, "", 1, want{false, 0, 66 * sec, 6 * sec}},
			{30 * sec, "", 1, want{true, 3, 72 * sec, 0}},
			{72 * sec, "", 0, want{true, 10, 72 * sec, 0}}, // full again at Reset
		})},
		{"cost above 1", perMin, []step{
			{0, "", 4, want{true, 6, 24 * sec, 0}},
			{0, "", 4, want{true, 2, 48 * sec, 0}},
			{0, "", 4, want{false, 0, 48 * sec, 12 * sec}},
			{0, "", 2, want{true, 0, 60 * sec, 0}},
			{12 * sec, "", 2, want{true, 0, 72 * sec, 0}},
			{12 * sec, "", 3, want{false, 0, 72 * sec, 18 * sec}},
		}},
		{"cost above Limit is refused and takes nothing", perMin, []step{
			{0, "", 11, want{false, 0, 0, minute}},
			{0, "", 1, want{true, 9, 6 * sec, 0}},
			{0, "", 11, want{false, 0, 6 * sec, minute}},
			{0, "", 10, want{false, 0, 6 * sec, 6 * sec}},
			{0, "", 9, want{true, 0, 60 * sec, 0}},
		}},
		{"cost 0 peeks", perMin, []step{
			{0, "", 0, want{true, 10, 0, 0}},
			{0, "", 3, want{true, 7, 18 * sec, 0}},
			{0, "", 0, want{true, 7, 18 * sec, 0}},
			{0, "", 0, want{true, 7, 18 * sec, 0}},
			{0, "", 7, want{true, 0, 60 * sec, 0}},
			{0, "", 0, want{false, 0, 60 * sec, 6 * sec}},
			{6 * sec, "", 0, want{true, 1, 60 * sec, 0}},
			{59 * sec, "", 0, want{true, 9, 60 * sec, 0}},
		}},
		{"Reset and RetryAfter after a partial refill", perMin, []step{
			{0, "", 10, want{true, 0, 60 * sec, 0}},
			{15 * sec, "", 3, want{false, 0, 60 * sec, 3 * sec}},
			{15 * sec, "", 2, want{true, 0, 72 * sec, 0}},
			{40 * sec, "", 5, want{false, 0, 72 * sec, 2 * sec}},
			{42 * sec, "", 5, want{true, 0, 102 * sec, 0}},
		}},
		{"keys are independent", perMin, []step{
			{0, "a", 10, want{true, 0, 60 * sec, 0}},
			{0, "a", 1, want{false, 0, 60 * sec, 6 * sec}},
			{0, "b", 1, want{true, 9, 6 * sec, 0}},
		}},
		{"boundary effect: 2·Limit−1 in one window", perMin, join(burst(0, 10, 10, 6*sec), boundary, []step{
			{60 * sec, "", 1, want{true, 0, 120 * sec, 0}},
			{60 * sec, "", 1, want{false, 0, 120 * sec, 6 * sec}},
		})},
		{"emission interval of a third of a second is exact", third, []step{
			{0, "", 1, want{true, 2, 333333334, 0}},
			{0, "", 1, want{true, 1, 666666667, 0}},
			{0, "", 1, want{true, 0, sec, 0}},
			{0, "", 1, want{false, 0, sec, 333333334}},
			{333333333, "", 1, want{false, 0, sec, 1}},
			{333333334, "", 1, want{true, 0, 1333333334, 0}},
			{10 * sec, "", 3, want{true, 0, 11 * sec, 0}},
			{20 * sec, "", 0, want{true, 3, 20 * sec, 0}},
		}},
		{"744h window and 1e9 limit do not overflow", huge, []step{
			{0, "", 1e9, want{true, 0, 744 * hr, 0}},
			{0, "", 1, want{false, 0, 744 * hr, 2678400}},
			{0, "", 1e9, want{false, 0, 744 * hr, 744 * hr}},
			{744 * hr, "", 1e9, want{true, 0, 1488 * hr, 0}},
			{745 * hr, "", 0, want{true, 1344086, 1488 * hr, 0}},
			{0, "b", 1, want{true, 999999999, 2678400, 0}},
			{0, "b", 999999999, want{true, 0, 744 * hr, 0}},
		}},
		{"744h window with a fractional interval", seven, []step{
			{0, "", 7, want{true, 0, 744 * hr, 0}},
			{0, "", 1, want{false, 0, 744 * hr, 382628571428572}},
			{382628571428571, "", 1, want{false, 0, 744 * hr, 1}},
			{382628571428572, "", 1, want{true, 0, 744*hr + 382628571428572, 0}},
		}},
		{"a clock that steps back", perMin, []step{
			{10 * sec, "", 10, want{true, 0, 70 * sec, 0}},
			{5 * sec, "", 1, want{false, 0, 70 * sec, 11 * sec}},
			{5 * sec, "", 0, want{false, 0, 70 * sec, 11 * sec}},
		}},
	}
}
