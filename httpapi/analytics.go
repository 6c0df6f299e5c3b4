package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
)

// usageRange reads from, to and granularity; a bad value or range is 400.
func (h *Handler) usageRange(q url.Values) (token.UsageRange, error) {
	r := token.UsageRange{Granularity: token.Granularity(q.Get("granularity"))}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &r.From}, {"to", &r.To}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return r, badRequest("bad_time", p.name+" must be an RFC 3339 time such as 2026-05-17T10:00:00Z")
			}
			*p.dst = t
		}
	}
	if err := token.NormalizeUsageRange(&r, h.svc.Now()); err != nil {
		var e *token.Error
		if errors.As(err, &e) {
			return r, badRequest(e.Code, e.Msg)
		}
		return r, err
	}
	return r, nil
}

func apiCounts(cs map[token.Code]int64) (map[string]int64, int64) {
	out := make(map[string]int64, len(cs))
	var total int64
	for c, n := range cs {
		out[string(c)] = n
		total += n
	}
	return out, total
}

func apiBuckets(bs []token.UsageBucket) []api.UsageBucket {
	out := make([]api.UsageBucket, 0, len(bs))
	for _, b := range bs {
		c, _ := apiCounts(b.Counts)
		out = append(out, api.UsageBucket{Start: b.Start, Counts: c})
	}
	return out
}

// keyUsage serves GET /v1/keys/{id}/usage.
func (h *Handler) keyUsage(w http.ResponseWriter, r *http.Request) error {
	rng, err := h.usageRange(r.URL.Query())
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	bs, rng, err := h.svc.KeyUsageBuckets(r.Context(), actorFrom(r.Context()), id, rng)
	if err != nil {
		return err
	}
	out := api.KeyUsage{KeyID: id, Granularity: string(rng.Granularity), From: rng.From, To: rng.To,
		Buckets: apiBuckets(bs), Totals: map[string]int64{}}
	for _, b := range bs {
		for c, n := range b.Counts {
			out.Totals[string(c)] += n
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// analytics serves GET /v1/analytics.
func (h *Handler) analytics(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	rng, err := h.usageRange(q)
	if err != nil {
		return err
	}
	aq := token.AnalyticsQuery{Keyspace: q.Get("keyspace"), UsageRange: rng, GroupBy: token.GroupBy(q.Get("group_by")), After: q.Get("cursor")}
	switch aq.GroupBy {
	case "":
		aq.GroupBy = token.GroupByCode
	case token.GroupByCode, token.GroupByKey, token.GroupByOwner:
	default:
		return badRequest("bad_group_by", `group_by must be "key", "code" or "owner"`)
	}
	if aq.Keyspace == "" {
		return badRequest("bad_keyspace", "keyspace is required")
	}
	if aq.Limit, err = limitParam(r); err != nil {
		return err
	}
	res, err := h.svc.Analytics(r.Context(), actorFrom(r.Context()), aq)
	if err != nil {
		return err
	}
	out := api.Analytics{Keyspace: aq.Keyspace, GroupBy: string(aq.GroupBy), Granularity: string(res.Granularity),
		From: res.From, To: res.To, Groups: make([]api.UsageGroup, 0, len(res.Groups)), NextCursor: res.Next}
	if aq.GroupBy == token.GroupByCode {
		out.Buckets = apiBuckets(res.Buckets)
	}
	for _, g := range res.Groups {
		c, total := apiCounts(g.Counts)
		ag := api.UsageGroup{KeyID: g.KeyID, Code: string(g.Code), Counts: c, Total: total}
		if g.Owner != nil {
			ag.Owner = &api.Owner{Type: string(g.Owner.Type), ID: g.Owner.ID}
		}
		out.Groups = append(out.Groups, ag)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
