// Package gcra is the exact integer arithmetic of the generic cell rate algorithm (GCRA)
// shared by ratelimit.Local and ratelimit/redisrate, whose Lua script mirrors Params.Step.
//
// The emission interval T = Window/Limit is rarely a whole number of nanoseconds (3 per
// second is 333333333⅓ ns), so times are kept as Nanos: NS + Rem/Limit nanoseconds. With
// that, a burst admits exactly Limit units and the refill is exactly Limit per Window; no
// floats, and products such as cost·Window (up to 2.7e24) go through math/bits.
package gcra

import "math/bits"

// Nanos is NS + Rem/Limit nanoseconds, 0 ≤ Rem < Limit, for the Limit of the Params it is
// used with. It holds either an instant (a TAT, NS in Unix nanoseconds) or a duration.
type Nanos struct{ NS, Rem int64 }

// Ceil returns n rounded up to whole nanoseconds.
func (n Nanos) Ceil() int64 {
	if n.Rem > 0 {
		return n.NS + 1
	}
	return n.NS
}

// Params is one budget: Limit units per Window nanoseconds. Both must be positive, and
// Window ≥ Limit (ratelimit.Limit.Validate guarantees it), so T ≥ 1 ns.
type Params struct{ Limit, Window int64 }

// Outcome is the result of one step, in nanoseconds.
type Outcome struct {
	Allowed    bool
	Remaining  int64 // whole units left after the step; 0 when refused
	Reset      int64 // Unix ns when the budget is full again (the TAT, rounded up)
	RetryAfter int64 // ns until the request would fit; 0 when allowed
}

// Inc returns cost·T = cost·Window/Limit exactly, for 0 ≤ cost ≤ Limit.
func (p Params) Inc(cost int64) Nanos {
	hi, lo := bits.Mul64(uint64(cost), uint64(p.Window))
	q, r := bits.Div64(hi, lo, uint64(p.Limit)) // hi < Limit because cost ≤ Limit
	return Nanos{int64(q), int64(r)}
}

// Probe returns the increment a request of cost is tested with: cost·T, or T for a peek
// (cost 0), which is allowed iff one more unit would fit.
func (p Params) Probe(cost int64) Nanos {
	if cost == 0 {
		cost = 1
	}
	return p.Inc(cost)
}

// Add returns a + b.
func (p Params) Add(a, b Nanos) Nanos {
	n := Nanos{a.NS + b.NS, a.Rem + b.Rem}
	if n.Rem >= p.Limit {
		n.Rem -= p.Limit
		n.NS++
	}
	return n
}

// Fits reports whether d ≤ Window: the burst tolerance of this GCRA is one Window.
func (p Params) Fits(d Nanos) bool {
	return d.NS < p.Window || d.NS == p.Window && d.Rem == 0
}

// Remaining returns ⌊(Window − d)/T⌋ = ⌊(Window − d)·Limit/Window⌋ for a d that Fits: the
// whole units that still fit on top of d.
func (p Params) Remaining(d Nanos) int64 {
	hi, lo := bits.Mul64(uint64(p.Window-d.NS), uint64(p.Limit))
	lo, borrow := bits.Sub64(lo, uint64(d.Rem), 0)
	hi -= borrow
	q, _ := bits.Div64(hi, lo, uint64(p.Window)) // the quotient is ≤ Limit
	return int64(q)
}

// Until returns d = max(tat − now, 0), the part of the budget in use at now. A Rem not
// below Limit (the state was written under another Limit) is clamped: an error under 1 ns.
func (p Params) Until(tat Nanos, now int64) Nanos {
	if tat.NS < now || tat.NS == now && tat.Rem == 0 {
		return Nanos{}
	}
	return Nanos{tat.NS - now, min(tat.Rem, p.Limit-1)}
}

// Step decides a request of cost at now against d = Until(TAT, now). It returns the
// outcome and, when store is true, the new d (the caller stores TAT = now + next). A
// cost above Limit is always refused; cost 0 peeks and never stores.
func (p Params) Step(cost, now int64, d Nanos) (o Outcome, next Nanos, store bool) {
	if cost > p.Limit {
		return p.Finish(cost, now, d, false), d, false
	}
	nd := p.Add(d, p.Probe(cost))
	switch {
	case !p.Fits(nd):
		return p.Finish(cost, now, d, false), d, false
	case cost == 0:
		return p.Finish(cost, now, d, true), d, false
	}
	return p.Finish(cost, now, nd, true), nd, true
}

// Finish builds the outcome of a step at now from the d in force after it and the
// decision. RetryAfter is exact: the request fits at now+RetryAfter and not 1 ns before
// (unless others consume meanwhile); for cost > Limit, which never fits, it is Window.
func (p Params) Finish(cost, now int64, d Nanos, allowed bool) Outcome {
	o := Outcome{Allowed: allowed, Reset: now + d.Ceil()}
	switch {
	case allowed:
		o.Remaining = p.Remaining(d)
	case cost > p.Limit:
		o.RetryAfter = p.Window
	default:
		o.RetryAfter = p.Add(d, p.Probe(cost)).Ceil() - p.Window
	}
	return o
}
