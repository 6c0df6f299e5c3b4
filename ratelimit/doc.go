// Package ratelimit limits how often a key (an API key, a principal, a client address)
// may act: named budgets of Limit cost units per Window, the in-process Local limiter,
// Fallback from a shared limiter (ratelimit/redisrate) to a local one, and the HTTP
// response fields that describe a budget (X-RateLimit-*, RateLimit, RateLimit-Policy,
// Retry-After).
//
// # Algorithm
//
// Every Limiter runs the generic cell rate algorithm (GCRA) with emission interval
// T = Window/Limit and burst tolerance Window: a full budget of Limit units is available
// at once and refills continuously at Limit per Window. The state of a key is one
// instant, its theoretical arrival time (TAT). A request of cost c at now computes
// newTAT = max(TAT, now) + c·T and is allowed iff newTAT − now ≤ Window; then
// Remaining = ⌊(Window − (newTAT − now))/T⌋, Reset = newTAT (the instant the budget is
// full again) and, when refused, RetryAfter = newTAT − Window − now. Cost 0 peeks: it
// is allowed iff one more unit would fit and consumes nothing. A cost above Limit is
// always refused. Arithmetic is integer and exact: T is kept as a whole number of
// nanoseconds plus a remainder in 1/Limit ns, so a burst admits exactly Limit units
// even when Limit does not divide Window, and no product overflows (Window up to 744h
// with Limit up to 1e9).
//
// # Accuracy
//
// For one key, in any interval of length Δ the admitted cost is less than
// Limit·(1 + Δ/Window); with times in whole nanoseconds it is at most
// ⌊Limit·(Window + Δ − 1ns)/Window⌋. In particular:
//
//   - in any window of length Window at most 2·Limit − 1 units are admitted (the
//     boundary effect: a full burst at the start of the window, then the refill
//     during it);
//   - over n consecutive windows at most (n+1)·Limit − 1, so the long-run rate is
//     exactly Limit per Window.
//
// The bound is tight: a burst of Limit followed by one unit every T admits 2·Limit − 1
// in a window. Proof: if requests a…b (costs c_i) are admitted at t_a ≤ … ≤ t_b inside
// the interval, each admission advances the TAT by c_i·T from at least t_a, so
// Σc_i·T ≤ TAT_b − t_a ≤ (t_b + Window) − t_a ≤ Window + Δ − 1ns.
//
// Where the bound holds: Local enforces it per process, as long as the key is not
// evicted (see NewLocal). ratelimit/redisrate enforces it across all nodes sharing one
// Redis, up to the clock skew ε between nodes (each caller passes its own now):
// less than Limit·(1 + (Δ+ε)/Window). While a Fallback is degraded each of N nodes
// enforces the bound separately, so the cluster admits less than N·Limit·(1 + Δ/Window),
// and across the switch from Redis to local limits one more budget, (N+1)·Limit·(1 + Δ/Window).
package ratelimit
