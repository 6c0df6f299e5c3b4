package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Status is what a response says about one budget: the Limit and Window of a policy and
// the Remaining units until Reset.
type Status struct {
	Name             string
	Limit, Remaining int64
	Window           time.Duration
	Reset            time.Time
}

// StatusOf returns the status of the budget that r was decided against.
func StatusOf(r Result) Status {
	return Status{
		Name:      r.Limit.Name,
		Limit:     r.Limit.Limit,
		Remaining: r.Remaining,
		Window:    r.Limit.Window,
		Reset:     r.Reset,
	}
}

// SetHeaders describes the budgets ss at now in h; it sets nothing when ss is empty.
//
// X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (Unix seconds, rounded
// up) describe the most restrictive status: the lowest Remaining, ties broken by the
// earliest Reset. RateLimit-Policy lists every policy and RateLimit gives the most
// restrictive one, following draft-ietf-httpapi-ratelimit-headers-11 (May 2026):
//
//	§3: "The "RateLimit-Policy" response header field is a non-empty List[SF] of Quota
//	Policy Items"; "q: The REQUIRED "q" parameter indicates the quota allocated by this
//	policy measured in quota units"; "w: The OPTIONAL "w" parameter value conveys a time
//	window", which "MUST be a non-negative, non-zero, Integer value expressing an
//	interval in seconds"; example: RateLimit-Policy: "burst";q=100;w=60,"daily";q=1000;w=86400
//	§4: "The field is expressed as a List[SF] of Service Limit Items"; "r: This REQUIRED
//	parameter value conveys the available quota"; "t: ... the number of seconds within
//	which the client can use no more than the available quota"; example:
//	RateLimit: "default";r=50;t=30
//
// So h gets, for example:
//
//	RateLimit-Policy: "requests";q=100;w=60, "daily";q=1000;w=86400
//	RateLimit: "requests";r=42;t=18
//
// with t the seconds until Reset (the budget full again), rounded up. The budget refills
// continuously, so a client may use more than r within t; §6 asks that Retry-After not
// point before the end of t, which a refused GCRA request's shorter, exact RetryAfter
// does. Members are separated by ", " as RFC 8941
// serializes a List; the default quota unit "requests" is implied (no qu). Names are
// Structured Field Strings: '"' and '\' are escaped, other bytes outside printable
// ASCII become '_'. Header names are set in canonical form (X-Ratelimit-Limit on the
// wire; field names are case-insensitive), so h.Get finds them.
func SetHeaders(h http.Header, ss []Status, now time.Time) {
	if len(ss) == 0 {
		return
	}
	m := ss[0]
	for _, s := range ss[1:] {
		if s.Remaining < m.Remaining || s.Remaining == m.Remaining && s.Reset.Before(m.Reset) {
			m = s
		}
	}
	h.Set("X-RateLimit-Limit", strconv.FormatInt(m.Limit, 10))
	h.Set("X-RateLimit-Remaining", strconv.FormatInt(max(m.Remaining, 0), 10))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(m.Reset), 10))

	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteString(", ")
		}
		writeSFString(&b, s.Name)
		b.WriteString(";q=")
		b.WriteString(strconv.FormatInt(max(s.Limit, 0), 10))
		b.WriteString(";w=")
		b.WriteString(strconv.FormatInt(max(ceilSeconds(s.Window), 1), 10))
	}
	h.Set("RateLimit-Policy", b.String())

	b.Reset()
	writeSFString(&b, m.Name)
	b.WriteString(";r=")
	b.WriteString(strconv.FormatInt(max(m.Remaining, 0), 10))
	b.WriteString(";t=")
	b.WriteString(strconv.FormatInt(max(ceilSeconds(m.Reset.Sub(now)), 0), 10))
	h.Set("RateLimit", b.String())
}

// SetRetryAfter sets Retry-After to d in whole seconds, rounded up, at least 1.
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d), 1), 10))
}

// ceilSeconds returns d in seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return s
}

// ceilUnix returns t as Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// writeSFString writes s as an RFC 8941 String.
func writeSFString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			b.WriteByte('_')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
