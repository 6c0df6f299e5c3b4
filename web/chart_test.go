package web

import (
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// day is a 24-hour range of hourly buckets from 2026-12-04 00:00 UTC.
func day() token.UsageRange {
	from := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	return token.UsageRange{From: from, To: from.Add(24 * time.Hour), Granularity: token.Hour}
}

func bucket(r token.UsageRange, i int, counts map[token.Code]int64) token.UsageBucket {
	return token.UsageBucket{Start: r.From.Add(time.Duration(i) * r.Granularity.Duration()), Counts: counts}
}

// TestChartGapsAreZero: one column per bucket of the range, the missing
// ones empty; buckets outside the range are left out.
func TestChartGapsAreZero(t *testing.T) {
	r := day()
	c := buildChart([]token.UsageBucket{
		bucket(r, -1, map[token.Code]int64{token.CodeValid: 99}), // before the range
		bucket(r, 2, map[token.Code]int64{token.CodeValid: 3}),
		bucket(r, 5, map[token.Code]int64{token.CodeValid: 1}),
		bucket(r, 24, map[token.Code]int64{token.CodeValid: 99}), // at To: after it
	}, r, "last 24 hours")
	if len(c.Columns) != 24 {
		t.Fatalf("%d columns, want 24", len(c.Columns))
	}
	for i, col := range c.Columns {
		want := int64(0)
		switch i {
		case 2:
			want = 3
		case 5:
			want = 1
		}
		if col.Total != want || (want == 0) != (len(col.Bars) == 0) {
			t.Errorf("column %d: total %d with %d bars, want %d", i, col.Total, len(col.Bars), want)
		}
		if !col.Start.Equal(r.From.Add(time.Duration(i) * time.Hour)) {
			t.Errorf("column %d starts %v", i, col.Start)
		}
	}
	if c.Total != 4 || len(c.Rows) != 2 {
		t.Errorf("total %d, %d table rows; want 4 and 2 (the empty hours are not listed)", c.Total, len(c.Rows))
	}
	// Columns are evenly spaced across the plot, left to right.
	w := (c.X1 - c.X0) / 24
	if b := c.Columns[5].Bars[0]; b.X < c.X0+5*w || b.X+b.W > c.X0+6*w {
		t.Errorf("column 5's bar spans %v..%v, want within %v..%v", b.X, b.X+b.W, c.X0+5*w, c.X0+6*w)
	}
}

// TestChartStacking: VALID at the bottom, the failures stacked above it
// by name, heights in proportion, the legend in the same order.
func TestChartStacking(t *testing.T) {
	r := day()
	c := buildChart([]token.UsageBucket{
		bucket(r, 0, map[token.Code]int64{token.CodeRevoked: 1, token.CodeValid: 2, token.CodeExpired: 1}),
	}, r, "last 24 hours")
	bars := c.Columns[0].Bars
	var codes []string
	for _, b := range bars {
		codes = append(codes, b.Code)
	}
	if got := strings.Join(codes, " "); got != "VALID EXPIRED REVOKED" {
		t.Fatalf("stacked %s, want VALID EXPIRED REVOKED", got)
	}
	const eps = 0.02
	near := func(a, b float64) bool { return a-b < eps && b-a < eps }
	if !near(bars[0].Y+bars[0].H, c.Y1) {
		t.Errorf("VALID ends at %v, want the baseline %v", bars[0].Y+bars[0].H, c.Y1)
	}
	for i := 1; i < len(bars); i++ {
		if !near(bars[i].Y+bars[i].H, bars[i-1].Y) {
			t.Errorf("%s does not sit on %s: %v vs %v", bars[i].Code, bars[i-1].Code, bars[i].Y+bars[i].H, bars[i-1].Y)
		}
		if bars[i].X != bars[0].X || bars[i].W != bars[0].W {
			t.Errorf("%s is not in VALID's column", bars[i].Code)
		}
	}
	if !near(bars[0].H, 2*bars[1].H) {
		t.Errorf("VALID (2) is %v high, EXPIRED (1) %v", bars[0].H, bars[1].H)
	}
	// The tallest column (4) fills the plot exactly: y axis 0..4.
	if c.YMax != 4 || !near(bars[2].Y, c.Y0) {
		t.Errorf("y max %d, top at %v; want 4 and %v", c.YMax, bars[2].Y, c.Y0)
	}
	var legend []string
	for _, s := range c.Series {
		legend = append(legend, s.Code+"="+compact(s.Total))
	}
	if got := strings.Join(legend, " "); got != "VALID=2 EXPIRED=1 REVOKED=1" {
		t.Errorf("legend %s", got)
	}
	if want := "Verifications per hour, last 24 hours: 2 VALID, 1 EXPIRED, 1 REVOKED"; c.Summary != want {
		t.Errorf("summary %q, want %q", c.Summary, want)
	}
	if b := bars[0]; b.Title != "2026-12-04 00:00–01:00 UTC: 2 VALID" || b.Class != "c-valid" || b.Count != 2 {
		t.Errorf("VALID bar: %+v", b)
	}
	if r := c.Rows[0]; len(r.Counts) != 3 || r.Counts[0] != 2 || r.Counts[1] != 1 || r.Counts[2] != 1 {
		t.Errorf("table row %v, want [2 1 1] in the legend's order", r.Counts)
	}
}

// TestChartYAxis: the axis ends at a round number at or above the tallest
// column, with ticks from 0 in equal steps.
func TestChartYAxis(t *testing.T) {
	for _, tc := range []struct {
		tallest, max int64
		ticks        string
	}{
		{0, 1, "0 1"},
		{1, 1, "0 1"},
		{3, 3, "0 1 2 3"},
		{7, 8, "0 2 4 6 8"},
		{10, 10, "0 5 10"},
		{120, 150, "0 50 100 150"},
		{999, 1000, "0 500 1k"},
		{4100, 6000, "0 2k 4k 6k"},
		{1_200_000, 1_500_000, "0 500k 1M 1.5M"},
	} {
		r := day()
		var bs []token.UsageBucket
		if tc.tallest > 0 {
			bs = append(bs, bucket(r, 3, map[token.Code]int64{token.CodeValid: tc.tallest}))
		}
		c := buildChart(bs, r, "last 24 hours")
		var ticks []string
		for _, tk := range c.YTicks {
			ticks = append(ticks, tk.Label)
		}
		if c.YMax != tc.max || strings.Join(ticks, " ") != tc.ticks {
			t.Errorf("tallest %d: axis to %d, ticks %v; want %d, %s", tc.tallest, c.YMax, ticks, tc.max, tc.ticks)
		}
		if c.YTicks[0].Pos != c.Y1 || c.YTicks[len(c.YTicks)-1].Pos != c.Y0 {
			t.Errorf("tallest %d: ticks from %v to %v, want %v to %v", tc.tallest, c.YTicks[0].Pos, c.YTicks[len(c.YTicks)-1].Pos, c.Y1, c.Y0)
		}
		if tc.tallest > 0 {
			b := c.Columns[3].Bars[0]
			want := (c.Y1 - c.Y0) * float64(tc.tallest) / float64(c.YMax)
			if d := b.H - want; d > 0.01 || d < -0.01 {
				t.Errorf("tallest %d: bar %v high, want %v", tc.tallest, b.H, want)
			}
		}
	}
}

// TestChartTimeLabelsUTC: axis labels and bar titles are UTC whatever the
// buckets' location; minutes every 10, hours every 4, days at midnight.
func TestChartTimeLabelsUTC(t *testing.T) {
	india := time.FixedZone("IST", 5*3600+1800)
	from := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).In(india)
	labels := func(c *chart) string {
		var l []string
		for _, tk := range c.XTicks {
			l = append(l, tk.Label)
		}
		return strings.Join(l, " ")
	}
	hours := token.UsageRange{From: from, To: from.Add(24 * time.Hour), Granularity: token.Hour}
	c := buildChart([]token.UsageBucket{{Start: from.Add(time.Hour), Counts: map[token.Code]int64{token.CodeValid: 1}}}, hours, "last 24 hours")
	if got := labels(c); got != "12:00 16:00 20:00 00:00 04:00 08:00" {
		t.Errorf("24 h labels %q", got)
	}
	if b := c.Columns[1].Bars[0]; b.Title != "2026-12-04 11:00–12:00 UTC: 1 VALID" {
		t.Errorf("bar title %q", b.Title)
	}
	// A label at either end of the axis is left out: it would run over
	// the y axis' "0" or off the picture.
	if got := labels(buildChart(nil, day(), "last 24 hours")); got != "04:00 08:00 12:00 16:00 20:00" {
		t.Errorf("24 h from midnight: labels %q", got)
	}
	minutes := token.UsageRange{From: from.Add(-5 * time.Minute), To: from.Add(55 * time.Minute), Granularity: token.Minute}
	c = buildChart([]token.UsageBucket{{Start: from, Counts: map[token.Code]int64{token.CodeRateLimited: 2}}}, minutes, "last hour")
	if got := labels(c); got != "10:00 10:10 10:20 10:30 10:40 10:50" || len(c.Columns) != 60 {
		t.Errorf("minute labels %q over %d columns", got, len(c.Columns))
	}
	if b := c.Columns[5].Bars[0]; b.Title != "2026-12-04 10:00 UTC: 2 RATE_LIMITED" || b.Class != "c-rate" {
		t.Errorf("minute bar %+v", b)
	}
	week := token.UsageRange{From: from, To: from.Add(7 * 24 * time.Hour), Granularity: token.Hour}
	c = buildChart(nil, week, "last 7 days")
	if got := labels(c); got != "Dec 5 Dec 6 Dec 7 Dec 8 Dec 9 Dec 10 Dec 11" || len(c.Columns) != 168 {
		t.Errorf("7 day labels %q over %d columns", got, len(c.Columns))
	}
	if c.Summary != "Verifications per hour, last 7 days: none" {
		t.Errorf("empty summary %q", c.Summary)
	}
}

// TestMergeBuckets: keyspaces' series add up per bucket, in time order.
func TestMergeBuckets(t *testing.T) {
	r := day()
	got := mergeBuckets(
		[]token.UsageBucket{bucket(r, 3, map[token.Code]int64{token.CodeValid: 1}), bucket(r, 1, map[token.Code]int64{token.CodeValid: 2})},
		[]token.UsageBucket{bucket(r, 1, map[token.Code]int64{token.CodeValid: 5, token.CodeRevoked: 1})},
	)
	if len(got) != 2 || !got[0].Start.Equal(r.From.Add(time.Hour)) || got[0].Counts[token.CodeValid] != 7 || got[0].Counts[token.CodeRevoked] != 1 ||
		got[1].Counts[token.CodeValid] != 1 {
		t.Fatalf("merged %+v", got)
	}
}

// TestParseSpan: the three ranges and their buckets, ending with the one
// now falls in; anything else is refused (and the default returned).
func TestParseSpan(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 17, 30, 0, time.UTC)
	for _, tc := range []struct {
		in       string
		from, to string
		g        token.Granularity
	}{
		{"", "2026-12-03T11:00:00Z", "2026-12-04T11:00:00Z", token.Hour},
		{"24h", "2026-12-03T11:00:00Z", "2026-12-04T11:00:00Z", token.Hour},
		{"1h", "2026-12-04T09:18:00Z", "2026-12-04T10:18:00Z", token.Minute},
		{"7d", "2026-11-27T11:00:00Z", "2026-12-04T11:00:00Z", token.Hour},
	} {
		sp, err := parseSpan(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		r := sp.Range(now)
		if r.From.Format(time.RFC3339) != tc.from || r.To.Format(time.RFC3339) != tc.to || r.Granularity != tc.g {
			t.Errorf("%q: %v..%v %s", tc.in, r.From, r.To, r.Granularity)
		}
		// The domain accepts it as it is.
		n := r
		if err := token.NormalizeUsageRange(&n, now); err != nil || !n.From.Equal(r.From) || !n.To.Equal(r.To) {
			t.Errorf("%q: normalized to %v..%v (%v)", tc.in, n.From, n.To, err)
		}
	}
	for _, bad := range []string{"1d", "minute", "24H", "-1h", "7d ", "<b>"} {
		sp, err := parseSpan(bad)
		if token.KindOf(err) != token.Invalid || sp.Name != defaultSpan {
			t.Errorf("%q: %v, span %q", bad, err, sp.Name)
		}
	}
}
