package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/httpapi"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
)

// TestKeysUsageChart runs "latchkey keys usage" against the real API on
// SQLite after verifications with two outcomes and a flush: one bar per
// minute, VALID and the other codes in different glyphs, totals per code.
func TestKeysUsageChart(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenSQLite(ctx, t.TempDir()+"/db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := token.NewService(token.Config{Store: db})
	root, err := svc.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateKey(ctx, token.SystemActor, token.CreateKeyParams{Scopes: []string{"orders:read"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		scope := "orders:read"
		if i == 3 {
			scope = "orders:write"
		}
		if _, err := svc.Verify(ctx, token.VerifyRequest{Key: k.Secret.Reveal(), Scopes: []string{scope}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Service: svc}))
	defer srv.Close()
	env := map[string]string{"LATCHKEY_URL": srv.URL, "LATCHKEY_TOKEN": root.Reveal()}
	var stdout, stderr bytes.Buffer
	code := run([]string{"keys", "usage", k.Key.ID, "--granularity", "minute", "--from", "10m"}, &stdout, &stderr, func(s string) string { return env[s] })
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	t.Logf("output:\n%s", out)
	for _, want := range []string{"Verifications of " + k.Key.ID, "a row per one minute", "███", "░", "(1 not VALID)", "VALID", "INSUFFICIENT_SCOPE", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("output has colour escapes:\n%s", out)
	}
	if rows := strings.Count(out, "\n"); rows < 10 || rows > 20 {
		t.Errorf("%d lines for 10 or 11 minutes:\n%s", rows, out)
	}
}

// TestUsageChartGroupsLongRanges: a range of more than 60 buckets is drawn
// in at most 60 rows, the longest bar 40 cells, a small count one cell.
func TestUsageChartGroupsLongRanges(t *testing.T) {
	from := time.Date(2026, 5, 17, 0, 0, 0, 0, time.UTC)
	u := &api.KeyUsage{KeyID: "key_x", Granularity: "hour", From: from, To: from.Add(7 * 24 * time.Hour),
		Buckets: []api.UsageBucket{
			{Start: from, Counts: map[string]int64{"VALID": 1000}},
			{Start: from.Add(time.Hour), Counts: map[string]int64{"VALID": 1000}},
			{Start: from.Add(100 * time.Hour), Counts: map[string]int64{"RATE_LIMITED": 1}},
		},
		Totals: map[string]int64{"VALID": 2000, "RATE_LIMITED": 1}}
	var b bytes.Buffer
	if err := usageChart(&b, u); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(out, "\n")
	bars := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "05-") {
			bars++
		}
	}
	if bars != 56 { // 168 hours, 3 per row
		t.Errorf("%d rows, want 56 (3 hours each):\n%s", bars, out)
	}
	if !strings.Contains(out, "a row per 3 hours") || !strings.Contains(out, strings.Repeat("█", chartWidth)+" ") ||
		strings.Contains(out, strings.Repeat("█", chartWidth+1)) || !strings.Contains(out, "  ░ ") {
		t.Errorf("chart:\n%s", out)
	}
}
