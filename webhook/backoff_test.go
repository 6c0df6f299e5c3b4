package webhook

import (
	"net/http"
	"testing"
	"time"
)

// The default schedule retries for about three days, never waiting more
// than Max, each wait jittered within [d/2, d].
func TestWebhooks_BackoffAboutThreeDays(t *testing.T) {
	b := DefaultBackoff
	var least, most time.Duration
	attempts := 0
	for least < b.GiveUp {
		attempts++
		d := b.delay(attempts)
		full := min(b.Base<<min(attempts-1, 20), b.Max)
		if d < full/2 || d > full {
			t.Fatalf("attempt %d waits %s, want within [%s, %s]", attempts, d, full/2, full)
		}
		least += full / 2
		most += full
	}
	if attempts < 15 || attempts > 40 || most < 72*time.Hour {
		t.Fatalf("%d attempts until %s (at most %s)", attempts, least, most)
	}
}

func TestWebhooks_RetryAfterParsing(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"120": 2 * time.Minute, "": 0, "-1": 0, "soon": 0,
		now.Add(time.Hour).Format(http.TimeFormat): time.Hour} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", v, got, want)
		}
	}
}
