package web

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/token"
)

// Verification charts: usage buckets become a chart model (stacked bars
// with their coordinates, axis labels, a legend and a table) that the
// template "chart" (templates/part_chart.html) draws as SVG. Everything
// here is arithmetic on the buckets; html/template escapes the text.

// usageSpan is a range a chart can show: the last N buckets of one
// granularity, the newest being the one now falls in.
type usageSpan struct {
	Name        string // the query value: 1h, 24h, 7d
	Label       string // "Last 24 hours"
	Granularity token.Granularity
	Buckets     int
}

// usageSpans are the ranges the console offers; the default is 24h.
var usageSpans = []usageSpan{
	{"1h", "Last hour", token.Minute, 60},
	{"24h", "Last 24 hours", token.Hour, 24},
	{"7d", "Last 7 days", token.Hour, 7 * 24},
}

// defaultSpan is the range of a page asked for none.
const defaultSpan = "24h"

// parseSpan reads a range's query value ("" is the default); anything
// else is Invalid.
func parseSpan(s string) (usageSpan, error) {
	if s == "" {
		s = defaultSpan
	}
	for _, sp := range usageSpans {
		if sp.Name == s {
			return sp, nil
		}
	}
	sp, _ := parseSpan(defaultSpan)
	return sp, token.Errorf(token.Invalid, "bad_range", "the range must be 1h (the last hour, by minute), 24h or 7d (by hour); showing the last 24 hours")
}

// Range returns the span's buckets ending with the one now falls in.
func (sp usageSpan) Range(now time.Time) token.UsageRange {
	d := sp.Granularity.Duration()
	to := now.UTC().Truncate(d).Add(d)
	return token.UsageRange{From: to.Add(-time.Duration(sp.Buckets) * d), To: to, Granularity: sp.Granularity}
}

// Chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartW, chartH = 720, 240
	plotL, plotR   = 56, 8  // room for the y labels, right margin
	plotT, plotB   = 12, 30 // top margin, room for the x labels
	labelRoom      = 30     // half an x label's width
)

// chart is what the template "chart" draws.
type chart struct {
	Title   string // "Verifications per hour, last 24 hours"
	Summary string // the SVG's accessible name: title and totals
	W, H    int
	// The plot area, and where the axis labels stand.
	X0, Y0, X1, Y1   float64
	YLabelX, XLabelY float64
	Columns          []chartColumn
	YTicks, XTicks   []chartTick
	YMax             int64
	Series           []chartSeries // the legend: VALID first, then the failure codes
	Total            int64
	Granularity      string
	// Rows are the non-empty buckets, for the table under the chart.
	Rows []chartRow
}

// chartColumn is one bucket: its bars stacked from the bottom.
type chartColumn struct {
	Start time.Time
	Total int64
	Bars  []chartBar
}

// chartBar is one code's count in a bucket.
type chartBar struct {
	X, Y, W, H float64
	Code       string
	Class      string
	Count      int64
	Title      string // "2026-12-04 18:00 UTC: 3 VALID"
}

// chartTick is an axis label at a position (y for the y axis, x for the
// x axis).
type chartTick struct {
	Pos   float64
	Label string
}

// chartSeries is one code in the legend.
type chartSeries struct {
	Code  string
	Class string
	Total int64
}

// chartRow is one bucket of the table: a count per series, in the
// legend's order.
type chartRow struct {
	Start  time.Time
	Counts []int64
}

// codeClass gives each known result code its colour (style.css,
// .c-*); a code the console does not know is drawn grey.
var codeClass = map[token.Code]string{
	token.CodeValid:             "c-valid",
	token.CodeRevoked:           "c-revoked",
	token.CodeExpired:           "c-expired",
	token.CodeDisabled:          "c-disabled",
	token.CodeOwnerDisabled:     "c-owner-disabled",
	token.CodeInsufficientScope: "c-scope",
	token.CodeUsageExceeded:     "c-usage",
	token.CodeForbiddenIP:       "c-ip",
	token.CodeRateLimited:       "c-rate",
	token.CodeInvalidSignature:  "c-signature",
	token.CodeInvalidDPoPProof:  "c-dpop",
	token.CodeUseDPoPNonce:      "c-dpop",
}

func classOf(c token.Code) string {
	if cl, ok := codeClass[c]; ok {
		return cl
	}
	return "c-other"
}

// mergeBuckets adds several series (one per keyspace) into one, in time
// order.
func mergeBuckets(series ...[]token.UsageBucket) []token.UsageBucket {
	byStart := map[int64]map[token.Code]int64{}
	for _, bs := range series {
		for _, b := range bs {
			m := byStart[b.Start.Unix()]
			if m == nil {
				m = map[token.Code]int64{}
				byStart[b.Start.Unix()] = m
			}
			for c, n := range b.Counts {
				m[c] += n
			}
		}
	}
	out := make([]token.UsageBucket, 0, len(byStart))
	for s, m := range byStart {
		out = append(out, token.UsageBucket{Start: time.Unix(s, 0).UTC(), Counts: m})
	}
	slices.SortFunc(out, func(a, b token.UsageBucket) int { return a.Start.Compare(b.Start) })
	return out
}

// buildChart lays out the buckets of r (aligned to whole buckets, as
// token.NormalizeUsageRange leaves it) as stacked bars, one column per
// bucket of the range: buckets missing from bs are zero, buckets outside
// r are left out. what names the range ("last 24 hours").
func buildChart(bs []token.UsageBucket, r token.UsageRange, what string) *chart {
	d := r.Granularity.Duration()
	n := int(r.To.Sub(r.From) / d)
	if n < 1 {
		n = 1
	}
	c := &chart{W: chartW, H: chartH, X0: plotL, Y0: plotT, X1: chartW - plotR, Y1: chartH - plotB, Granularity: string(r.Granularity)}
	c.YLabelX, c.XLabelY = c.X0-6, c.Y1+20
	c.Title = "Verifications per " + string(r.Granularity) + ", " + what

	// Counts per column, and totals per code.
	cols := make([]map[token.Code]int64, n)
	totals := map[token.Code]int64{}
	for _, b := range bs {
		i := int(b.Start.Sub(r.From) / d)
		if b.Start.Before(r.From) || i >= n {
			continue
		}
		if cols[i] == nil {
			cols[i] = map[token.Code]int64{}
		}
		for code, k := range b.Counts {
			if k <= 0 {
				continue
			}
			cols[i][code] += k
			totals[code] += k
		}
	}
	codes := sortedCodes(totals)
	var parts []string
	for _, code := range codes {
		c.Series = append(c.Series, chartSeries{Code: string(code), Class: classOf(code), Total: totals[code]})
		c.Total += totals[code]
		parts = append(parts, strconv.FormatInt(totals[code], 10)+" "+string(code))
	}
	if c.Total == 0 {
		c.Summary = c.Title + ": none"
	} else {
		c.Summary = c.Title + ": " + strings.Join(parts, ", ")
	}

	var tallest int64
	for _, m := range cols {
		var t int64
		for _, k := range m {
			t += k
		}
		tallest = max(tallest, t)
	}
	step := niceStep(tallest)
	c.YMax = step * ((tallest + step - 1) / step)
	if c.YMax == 0 {
		c.YMax = step
	}
	plotH := c.Y1 - c.Y0
	scale := plotH / float64(c.YMax)
	for v := int64(0); v <= c.YMax; v += step {
		c.YTicks = append(c.YTicks, chartTick{Pos: round2(c.Y1 - float64(v)*scale), Label: compact(v)})
	}

	colW := (c.X1 - c.X0) / float64(n)
	barW := colW * 0.8
	if colW-barW > 4 {
		barW = colW - 4
	}
	for i := range n {
		start := r.From.Add(time.Duration(i) * d).UTC()
		col := chartColumn{Start: start}
		x := c.X0 + float64(i)*colW + (colW-barW)/2
		y := c.Y1
		row := chartRow{Start: start, Counts: make([]int64, len(codes))}
		for j, code := range codes {
			k := cols[i][code]
			row.Counts[j] = k
			if k == 0 {
				continue
			}
			col.Total += k
			h := float64(k) * scale
			y -= h
			col.Bars = append(col.Bars, chartBar{X: round2(x), Y: round2(y), W: round2(barW), H: round2(h), Code: string(code),
				Class: classOf(code), Count: k, Title: bucketLabel(start, r.Granularity) + ": " + strconv.FormatInt(k, 10) + " " + string(code)})
		}
		c.Columns = append(c.Columns, col)
		if col.Total > 0 {
			c.Rows = append(c.Rows, row)
		}
		// A label too near either end would run over the "0" of the y
		// axis or off the picture (labels are larger at phone width).
		pos := c.X0 + float64(i)*colW + colW/2
		if lbl, ok := xLabel(start, r.Granularity, n); ok && pos >= c.X0+labelRoom && pos <= c.X1-labelRoom {
			c.XTicks = append(c.XTicks, chartTick{Pos: round2(pos), Label: lbl})
		}
	}
	return c
}

// sortedCodes returns the codes of m with a count: VALID first (the
// bottom of each bar, first in the legend), then the failures by name.
func sortedCodes(m map[token.Code]int64) []token.Code {
	codes := make([]token.Code, 0, len(m))
	for code, n := range m {
		if n > 0 {
			codes = append(codes, code)
		}
	}
	slices.SortFunc(codes, func(a, b token.Code) int {
		switch {
		case a == b:
			return 0
		case a == token.CodeValid:
			return -1
		case b == token.CodeValid:
			return 1
		}
		return strings.Compare(string(a), string(b))
	})
	return codes
}

// niceStep is the y axis' tick step for the tallest bar: 1, 2 or 5
// times a power of ten, so that about four steps reach max.
func niceStep(tallest int64) int64 {
	if tallest <= 4 {
		return 1
	}
	raw := float64(tallest) / 4
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return int64(m * p)
		}
	}
	return int64(10 * p)
}

// xLabel labels some columns: every 10 minutes, every 4 hours, or each
// day at midnight on longer hour ranges. All in UTC.
func xLabel(t time.Time, g token.Granularity, n int) (string, bool) {
	switch {
	case g == token.Minute:
		return t.Format("15:04"), t.Minute()%10 == 0
	case n <= 48:
		return t.Format("15:04"), t.Hour()%4 == 0
	}
	return t.Format("Jan 2"), t.Hour() == 0
}

// bucketLabel names a bucket in a bar's title.
func bucketLabel(t time.Time, g token.Granularity) string {
	if g == token.Minute {
		return t.Format("2006-01-02 15:04 UTC")
	}
	return t.Format("2006-01-02 15:00") + "–" + t.Add(time.Hour).Format("15:00 UTC")
}

// compact writes a y-axis count short: 950, 1.5k, 20k, 1.2M.
func compact(v int64) string {
	switch {
	case v < 1000:
		return strconv.FormatInt(v, 10)
	case v < 1_000_000:
		return trimZero(strconv.FormatFloat(float64(v)/1e3, 'f', 1, 64)) + "k"
	}
	return trimZero(strconv.FormatFloat(float64(v)/1e6, 'f', 1, 64)) + "M"
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

func round2(f float64) float64 { return math.Round(f*100) / 100 }
