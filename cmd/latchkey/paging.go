package main

import "fmt"

// pageFlags are the paging flags of a list command.
type pageFlags struct {
	limit  int
	cursor string
	all    bool
}

// pageFlags registers --limit, --cursor and --all.
func (f *cmdFlags) pageFlags() *pageFlags {
	p := &pageFlags{}
	f.IntVar(&p.limit, "limit", 0, "page size (default: the server's)")
	f.StringVar(&p.cursor, "cursor", "", "start at this `cursor` (printed after a partial list)")
	f.BoolVar(&p.all, "all", false, "follow the cursor and list everything")
	return p
}

// collect fetches one page, or with --all every page, starting at the
// --cursor. It returns the items (never nil) and the cursor of the next
// page, empty when there is none.
func collect[T any](p *pageFlags, fetch func(cursor string) ([]T, string, error)) ([]T, string, error) {
	if p.limit < 0 {
		return nil, "", usagef("--limit must not be negative")
	}
	items := []T{}
	cursor := p.cursor
	for {
		page, next, err := fetch(cursor)
		if err != nil {
			return nil, "", err
		}
		items = append(items, page...)
		if !p.all || next == "" {
			return items, next, nil
		}
		if next == cursor {
			return nil, "", fmt.Errorf("the server returned the same cursor twice")
		}
		cursor = next
	}
}

// moreHint tells a human reader of a table that there is a next page.
func (c *cli) moreHint(next string) {
	if next != "" {
		fmt.Fprintf(c.stderr, "More results: repeat with --cursor %s (or --all).\n", next)
	}
}
