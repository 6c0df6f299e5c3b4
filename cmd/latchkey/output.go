package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON prints v as indented JSON, as the API sent it.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes tab-separated rows as aligned columns.
type table struct{ tw *tabwriter.Writer }

// newTable starts a table with the given column headers.
func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(headers...)
	return t
}

// row adds a row; empty cells are shown as "-".
func (t *table) row(cells ...string) {
	for i, s := range cells {
		if i > 0 {
			io.WriteString(t.tw, "\t")
		}
		io.WriteString(t.tw, orDash(cleanCell(s)))
	}
	io.WriteString(t.tw, "\n")
}

// flush writes the table out.
func (t *table) flush() error { return t.tw.Flush() }

// cleanCell keeps a cell on one line and one column: server data must not
// break the table or smuggle terminal control sequences.
func cleanCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// details prints "Label: value" lines, aligned; empty values are skipped.
type details struct{ tw *tabwriter.Writer }

func newDetails(w io.Writer) *details {
	return &details{tw: tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)}
}

func (d *details) line(label, value string) {
	if value != "" {
		fmt.Fprintf(d.tw, "%s:\t%s\n", label, cleanCell(value))
	}
}

func (d *details) flush() error { return d.tw.Flush() }

// orDash returns s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// timeString formats t as RFC 3339 UTC.
func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// optTime formats an optional time, or returns none when t is nil.
func optTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return timeString(*t)
}

// list joins a list for a table cell.
func list(vals []string) string { return strings.Join(vals, ",") }

// compactJSON returns raw on one line, or "" for absent or null JSON.
func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil || b.String() == "null" {
		return ""
	}
	return b.String()
}
