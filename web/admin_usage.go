package web

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/latchkey/latchkey/token"
)

// The console's verification views: the dashboard's chart, top keys and
// failure codes (the domain call behind GET /v1/analytics, one keyspace
// at a time) and a key's usage chart (the one behind GET
// /v1/keys/{id}/usage), both with the admin's actor.

const (
	// dashKeyspaces bounds the keyspaces "all keyspaces" sums.
	dashKeyspaces = 20
	// topKeys is the length of the top keys list.
	topKeys = 10
)

// spanLink is one range a chart can switch to.
type spanLink struct{ Name, Label, URL string }

// spanLinks are the ranges' links of page path, keeping q's other
// parameters.
func spanLinks(path string, q url.Values) []spanLink {
	out := make([]spanLink, 0, len(usageSpans))
	for _, sp := range usageSpans {
		nq := url.Values{}
		for k, v := range q {
			if k != "range" {
				nq[k] = v
			}
		}
		nq.Set("range", sp.Name)
		out = append(out, spanLink{Name: sp.Name, Label: spanLabel(sp), URL: path + "?" + nq.Encode()})
	}
	return out
}

func spanLabel(sp usageSpan) string { return sp.Label + " (by " + string(sp.Granularity) + ")" }

// topKey is a row of the dashboard's top keys.
type topKey struct {
	ID, Keyspace         string
	Total, Valid, Failed int64
}

// dashUsage is the dashboard's verification sections.
type dashUsage struct {
	Chart     *chart
	Failures  []chartSeries
	Valid     int64
	Refused   int64
	Top       []topKey
	Keyspace  string
	Keyspaces []string
	Summed    int // keyspaces in the chart
	Capped    bool
	Span      string
	Spans     []spanLink
}

// dashboardUsage reads the dashboard's verifications. A bad range or an
// unknown keyspace is a message (status 400 or 404) and the default view.
func (h *Handler) dashboardUsage(ctx context.Context, a *token.Actor, q url.Values, spaces []*token.Keyspace) (*dashUsage, int, string, error) {
	status, msg := http.StatusOK, ""
	sp, err := parseSpan(q.Get("range"))
	if err != nil {
		status, msg = statusOf(err)
	}
	u := &dashUsage{Span: sp.Name}
	for _, ks := range spaces {
		u.Keyspaces = append(u.Keyspaces, ks.Name)
	}
	names := u.Keyspaces
	if want := q.Get("keyspace"); want != "" {
		if slices.Contains(u.Keyspaces, want) {
			names, u.Keyspace = []string{want}, want
		} else if status == http.StatusOK {
			status, msg = http.StatusNotFound, "There is no keyspace named "+truncate(want, 64)+"; showing all keyspaces."
		}
	}
	if len(names) > dashKeyspaces {
		names, u.Capped = names[:dashKeyspaces], true
	}
	lq := url.Values{}
	if u.Keyspace != "" {
		lq.Set("keyspace", u.Keyspace)
	}
	u.Spans = spanLinks("/ui", lq)
	rng := sp.Range(h.tokens.Now())
	var series [][]token.UsageBucket
	var keys []topKey
	for _, name := range names {
		res, err := h.tokens.Analytics(ctx, a, token.AnalyticsQuery{Keyspace: name, UsageRange: rng, GroupBy: token.GroupByCode})
		if token.KindOf(err) == token.NotFound {
			continue // deleted since it was listed
		}
		if err != nil {
			return nil, 0, "", err
		}
		series = append(series, res.Buckets)
		u.Summed++
		// The keyspace's own top keys: the top keys of all keyspaces are
		// among them. TopKeys reads the range's usage, not every key.
		top, _, err := h.tokens.TopKeys(ctx, a, name, rng, topKeys)
		if token.KindOf(err) == token.NotFound {
			continue
		}
		if err != nil {
			return nil, 0, "", err
		}
		for _, g := range top {
			keys = append(keys, keyTotals(name, g))
		}
	}
	what := strings.ToLower(sp.Label[:1]) + sp.Label[1:]
	u.Chart = buildChart(mergeBuckets(series...), rng, what)
	for _, s := range u.Chart.Series {
		if s.Code == string(token.CodeValid) {
			u.Valid = s.Total
		} else {
			u.Failures = append(u.Failures, s)
		}
	}
	u.Refused = u.Chart.Total - u.Valid
	u.Top = rankKeys(keys, topKeys)
	return u, status, msg, nil
}

// keyTotals is a key's row of the top keys.
func keyTotals(keyspace string, g token.UsageGroup) topKey {
	k := topKey{ID: g.KeyID, Keyspace: keyspace}
	for c, v := range g.Counts {
		k.Total += v
		if c == token.CodeValid {
			k.Valid += v
		}
	}
	k.Failed = k.Total - k.Valid
	return k
}

// rankKeys returns the n keys with the most verifications, most first
// (ties by ID).
func rankKeys(keys []topKey, n int) []topKey {
	out := slices.DeleteFunc(slices.Clone(keys), func(k topKey) bool { return k.Total == 0 })
	slices.SortFunc(out, func(a, b topKey) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), strings.Compare(a.ID, b.ID))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// keyUsage is a key page's chart.
type keyUsage struct {
	Chart *chart
	Span  string
	Spans []spanLink
	// AllTime is the key's verifications since it was created, by code
	// (VALID first), and their sum.
	AllTime []chartSeries
	Total   int64
}

// keyUsageChart reads a key's verifications in the range q asks for. A
// bad range is a message (status 400) and the default range.
func (h *Handler) keyUsageChart(ctx context.Context, a *token.Actor, id string, q url.Values) (*keyUsage, int, string, error) {
	status, msg := http.StatusOK, ""
	sp, err := parseSpan(q.Get("range"))
	if err != nil {
		status, msg = statusOf(err)
	}
	bs, rng, err := h.tokens.KeyUsageBuckets(ctx, a, id, sp.Range(h.tokens.Now()))
	if err != nil {
		return nil, 0, "", err
	}
	all, err := h.tokens.KeyUsage(ctx, a, id)
	if err != nil {
		return nil, 0, "", err
	}
	what := strings.ToLower(sp.Label[:1]) + sp.Label[1:]
	u := &keyUsage{Chart: buildChart(bs, rng, what), Span: sp.Name, Spans: spanLinks("/ui/keys/"+url.PathEscape(id), nil)}
	for _, c := range sortedCodes(all) {
		u.AllTime = append(u.AllTime, chartSeries{Code: string(c), Class: classOf(c), Total: all[c]})
		u.Total += all[c]
	}
	return u, status, msg, nil
}
