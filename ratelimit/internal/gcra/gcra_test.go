package gcra

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// TestAgainstBig checks Inc and Remaining against math/big over random parameters up to
// Limit 1e9 and Window 744h, where cost·Window overflows int64.
func TestAgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 100_000; i++ {
		w := int64(time.Second) + rng.Int64N(int64(744*time.Hour-time.Second)+1)
		l := 1 + rng.Int64N(1e9)
		if i%4 == 0 {
			w, l = int64(744*time.Hour), 1e9-rng.Int64N(3)
		}
		p := Params{Limit: l, Window: w}
		cost := rng.Int64N(l + 1)
		inc := p.Inc(cost)
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(cost), big.NewInt(w)), big.NewInt(l), new(big.Int))
		if inc.NS != q.Int64() || inc.Rem != r.Int64() {
			t.Fatalf("%+v.Inc(%d) = %+v, want %v %v", p, cost, inc, q, r)
		}
		// d = inc fits (cost ≤ Limit); Remaining = ⌊((W − NS)·L − Rem)/W⌋.
		want := new(big.Int).Mul(big.NewInt(w-inc.NS), big.NewInt(l))
		want.Sub(want, big.NewInt(inc.Rem)).Quo(want, big.NewInt(w))
		if got := p.Remaining(inc); !p.Fits(inc) || got != want.Int64() || got != l-cost {
			t.Fatalf("%+v.Remaining(%+v) = %d, want %v (= %d − %d)", p, inc, got, want, l, cost)
		}
	}
}
