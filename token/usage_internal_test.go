package token

import (
	"testing"
	"time"
)

// TestUsageMinutesCompactedWhileStoreDown: a key's minutes that wait for
// a flush beyond 2×keptMinutes fold into one entry per hour, all but the
// newest keptMinutes: memory grows by the hour while the store is down,
// and totals and hour sums stay exact.
func TestUsageMinutesCompactedWhileStoreDown(t *testing.T) {
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var past []MinuteCounts
	for i := range 300 { // five hours
		past = append(past, MinuteCounts{Minute: start.Add(time.Duration(i) * time.Minute), Counts: map[Code]int64{CodeValid: 1, CodeRateLimited: 2}})
	}
	if got := compactMinutes(past[:2*keptMinutes]); len(got) != 2*keptMinutes {
		t.Fatalf("%d minutes compacted to %d entries, want them kept", 2*keptMinutes, len(got))
	}
	got := compactMinutes(past)
	if want := 4 + keptMinutes; len(got) != want { // hours 10–13 folded, the last 60 minutes (14:00–14:59) kept
		t.Fatalf("%d entries, want %d", len(got), want)
	}
	hours := map[time.Time]int64{}
	var total int64
	for i, mc := range got {
		if i > 0 && !got[i-1].Minute.Before(mc.Minute) {
			t.Fatalf("entries out of order at %d: %v then %v", i, got[i-1].Minute, mc.Minute)
		}
		hours[mc.Minute.Truncate(time.Hour)] += mc.Counts[CodeValid]
		total += mc.Counts[CodeValid] + mc.Counts[CodeRateLimited]
	}
	if total != 900 {
		t.Errorf("total %d after compaction, want 900", total)
	}
	for h, n := range hours {
		if n != 60 {
			t.Errorf("hour %v: %d valid, want 60", h, n)
		}
	}
	if again := compactMinutes(append(got, past[len(past)-1])); len(again) > len(got)+1 {
		t.Errorf("compacting again grew to %d", len(again))
	}
}
