package sqlite

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
)

// storedLimit is a rate limit as stored in a JSON column.
type storedLimit struct {
	Name     string `json:"name"`
	Limit    int64  `json:"limit"`
	WindowNS int64  `json:"window_ns"`
}

// limits returns ls as a JSON array; nil is "[]".
func (e *enc) limits(ls []ratelimit.Limit) any {
	out := make([]storedLimit, len(ls))
	for i, l := range ls {
		out[i] = storedLimit{l.Name, l.Limit, int64(l.Window)}
	}
	b, err := json.Marshal(out)
	e.fail(err)
	return string(b)
}

// prefixes returns ps as a JSON array of CIDR strings.
func (e *enc) prefixes(ps []netip.Prefix) any {
	ss := make([]string, len(ps))
	for i, p := range ps {
		ss[i] = p.String()
	}
	return e.strings(ss)
}

func (d *dec) limits(col, s string) []ratelimit.Limit {
	var stored []storedLimit
	if err := json.Unmarshal([]byte(s), &stored); err != nil {
		d.fail(fmt.Errorf("decode %s: %w", col, err))
	}
	if len(stored) == 0 {
		return nil
	}
	ls := make([]ratelimit.Limit, len(stored))
	for i, l := range stored {
		ls[i] = ratelimit.Limit{Name: l.Name, Limit: l.Limit, Window: time.Duration(l.WindowNS)}
	}
	return ls
}

func (d *dec) prefixes(col, s string) []netip.Prefix {
	ss := d.strings(col, s)
	if len(ss) == 0 {
		return nil
	}
	ps := make([]netip.Prefix, len(ss))
	for i, x := range ss {
		p, err := netip.ParsePrefix(x)
		if err != nil {
			d.fail(fmt.Errorf("decode %s: %w", col, err))
		}
		ps[i] = p
	}
	return ps
}
