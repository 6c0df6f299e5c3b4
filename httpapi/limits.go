package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// rateLimits converts API limits ("window": "1m") to domain limits.
func rateLimits(field string, in []api.RateLimit) ([]ratelimit.Limit, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]ratelimit.Limit, len(in))
	for i, l := range in {
		w, err := parseDuration(field+"["+strconv.Itoa(i)+"].window", l.Window)
		if err != nil {
			return nil, err
		}
		out[i] = ratelimit.Limit{Name: l.Name, Limit: l.Limit, Window: w}
	}
	return out, nil
}

func rateLimitsPtr(field string, in *[]api.RateLimit) (*[]ratelimit.Limit, error) {
	if in == nil {
		return nil, nil
	}
	ls, err := rateLimits(field, *in)
	if ls == nil {
		ls = []ratelimit.Limit{}
	}
	return &ls, err
}

func apiRateLimits(ls []ratelimit.Limit) []api.RateLimit {
	if len(ls) == 0 {
		return nil
	}
	out := make([]api.RateLimit, len(ls))
	for i, l := range ls {
		out[i] = api.RateLimit{Name: l.Name, Limit: l.Limit, Window: l.Window.String()}
	}
	return out
}

func apiRefill(r *token.Refill) *api.Refill {
	if r == nil {
		return nil
	}
	return &api.Refill{Interval: r.Interval, Amount: r.Amount}
}

func refill(r *api.Refill) *token.Refill {
	if r == nil {
		return nil
	}
	return &token.Refill{Interval: r.Interval, Amount: r.Amount}
}

// refillPatch decodes PATCH's refill: absent, null (remove) or an object.
func refillPatch(raw json.RawMessage) (set *token.Refill, clear bool, err error) {
	if len(raw) == 0 {
		return nil, false, nil
	}
	if isNull(raw) {
		return nil, true, nil
	}
	var r api.Refill
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, false, badRequest("bad_refill", `refill must be {"interval": "daily"|"monthly", "amount": N} or null`)
	}
	return refill(&r), false, nil
}

func apiRateLimitStates(rs []ratelimit.Result) []api.RateLimitState {
	if len(rs) == 0 {
		return nil
	}
	out := make([]api.RateLimitState, len(rs))
	for i, r := range rs {
		out[i] = api.RateLimitState{
			Name: r.Limit.Name, Limit: r.Limit.Limit, Remaining: r.Remaining,
			Reset: r.Reset.UnixMilli(), Window: r.Limit.Window.String(),
		}
	}
	return out
}

func ipStrings(k *token.Key) []string {
	if len(k.IPAllow) == 0 {
		return nil
	}
	out := make([]string, len(k.IPAllow))
	for i, p := range k.IPAllow {
		out[i] = p.String()
	}
	return out
}

// tooManyFailures is the refusal of a throttled client.
func tooManyFailures(w http.ResponseWriter, retry time.Duration) error {
	ratelimit.SetRetryAfter(w.Header(), retry)
	return &httpError{status: http.StatusTooManyRequests, code: "too_many_failures", msg: "too many failed attempts from this address; retry later"}
}
