package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

func keysUsage(c *cli, f *cmdFlags, args []string) error {
	from := f.String("from", "", "start of the range: an RFC 3339 `time`, or a duration before now such as 6h (default: 60 buckets before --to, rounded up)")
	to := f.String("to", "", "end of the range: an RFC 3339 `time`, or a duration before now (default: now)")
	gran := f.String("granularity", "", "bucket width: `minute` (kept 48 h) or hour (kept 90 days; the default)")
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	opts := client.UsageOptions{Granularity: *gran}
	now := time.Now()
	if opts.From, err = timeOrAgo("from", *from, now); err != nil {
		return err
	}
	if opts.To, err = timeOrAgo("to", *to, now); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	u, err := cl.KeyUsage(c.ctx, pos[0], opts)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(u)
	}
	return usageChart(c.stdout, u)
}

// timeOrAgo reads an RFC 3339 time or a duration before now ("" is zero).
func timeOrAgo(name, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("--%s must be an RFC 3339 time such as 2030-01-31T12:00:00Z or a duration such as 6h, not %q", name, s)
	}
	return t, nil
}

// chartRows bounds the rows of the chart: longer ranges put several
// buckets on a row.
const chartRows = 60

// chartWidth is the length of the longest bar, in cells.
const chartWidth = 40

// usageChart prints a key's buckets as one bar per bucket (or per group of
// buckets), VALID as "█" and every other code as "░", so that it reads
// without colour, then the totals by code.
func usageChart(w io.Writer, u *api.KeyUsage) error {
	step := time.Hour
	if u.Granularity == "minute" {
		step = time.Minute
	}
	n := int(u.To.Sub(u.From) / step)
	per := max(1, (n+chartRows-1)/chartRows) // buckets per row
	type row struct {
		start      time.Time
		valid, bad int64
	}
	rows := make([]row, 0, (n+per-1)/per)
	for i := 0; i < n; i += per {
		rows = append(rows, row{start: u.From.Add(time.Duration(i) * step)})
	}
	for _, b := range u.Buckets {
		i := int(b.Start.Sub(u.From)/step) / per
		if i < 0 || i >= len(rows) {
			continue
		}
		for code, c := range b.Counts {
			if code == "VALID" {
				rows[i].valid += c
			} else {
				rows[i].bad += c
			}
		}
	}
	var peak int64
	for _, r := range rows {
		peak = max(peak, r.valid+r.bad)
	}
	width := fmt.Sprintf("%d %s", per, u.Granularity)
	if per == 1 {
		width = "one " + u.Granularity
	}
	fmt.Fprintf(w, "Verifications of %s, %s to %s UTC, a row per %s%s\n",
		cleanCell(u.KeyID), u.From.UTC().Format("2006-01-02 15:04"), u.To.UTC().Format("2006-01-02 15:04"), width, plural(per))
	fmt.Fprintf(w, "█ VALID   ░ any other code\n\n")
	layout := "01-02 15:04"
	for _, r := range rows {
		total := r.valid + r.bad
		good, bad := cells(r.valid, peak), cells(r.bad, peak)
		bar := strings.Repeat("█", good) + strings.Repeat("░", bad)
		line := fmt.Sprintf("%s  %-*s %8d", r.start.UTC().Format(layout), chartWidth, bar, total)
		if r.bad > 0 {
			line += fmt.Sprintf("  (%d not VALID)", r.bad)
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w)
	t := newTable(w, "CODE", "COUNT")
	var total int64
	for _, code := range slices.Sorted(maps.Keys(u.Totals)) {
		t.row(code, fmt.Sprint(u.Totals[code]))
		total += u.Totals[code]
	}
	t.row("total", fmt.Sprint(total))
	return t.flush()
}

// cells scales n of peak to the chart width; a count above zero gets at
// least one cell.
func cells(n, peak int64) int {
	if n <= 0 || peak <= 0 {
		return 0
	}
	return max(1, int((n*chartWidth+peak/2)/peak))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
