package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/internal/browsertest"
)

// usageWait bounds the wait for the usage flush (every 50 ms in tests)
// to write a verification.
const usageWait = 20 * time.Second

// waitVerified polls the key's usage through the API until it counts at
// least n verifications (the flush has written them), or fails at the
// deadline.
func waitVerified(t *testing.T, s *browserServer, id string, n int64) {
	t.Helper()
	deadline := time.Now().Add(usageWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r := s.doJSON(t, "GET", "/v1/keys/"+id+"/usage?granularity=minute", s.Root, "")
		var u api.KeyUsage
		if err := json.Unmarshal(r.Body, &u); err != nil || r.Status != 200 {
			t.Fatalf("usage of %s: %d %.300s", id, r.Status, r.Body)
		}
		var got int64
		for _, c := range u.Totals {
			got += c
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage of %s: %d verifications after %v, want %d", id, got, usageWait, n)
		}
		<-tick.C
	}
}

// chartCount sums the data-count of the bars of code on the page's chart.
func chartCount(tab *browsertest.Tab, code string) int {
	return browsertest.Eval[int](tab, `[...document.querySelectorAll('svg.chart[role="img"] rect.bar[data-code="`+code+`"]')]
		.reduce((n, r) => n + Number(r.dataset.count), 0)`)
}

// chartLabel is the accessible name of the page's chart ("" if none).
func chartLabel(tab *browsertest.Tab) string {
	return browsertest.Eval[string](tab, `(document.querySelector('svg.chart[role="img"]') || {getAttribute: () => ""}).getAttribute("aria-label") || ""`)
}
