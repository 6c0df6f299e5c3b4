package auditlog

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// Appending through the frontier stores what tlog stores with every hash at
// hand, and the frontier's root is tlog's tree hash, at every size; the
// frontier survives Encode/DecodeFrontier.
func TestAuditChain_FrontierMatchesTlog(t *testing.T) {
	var all []tlog.Hash // every stored hash, by index
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = all[x]
		}
		return out, nil
	})
	var f Frontier
	for n := int64(0); n < 300; n++ {
		leaf := []byte(fmt.Sprintf("record %d", n))
		want, err := tlog.StoredHashes(n, leaf, reader)
		if err != nil {
			t.Fatal(err)
		}
		got, next, err := f.Append(leaf)
		if err != nil {
			t.Fatalf("Append(%d): %v", n, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stored hashes of %d differ", n)
		}
		all = append(all, want...)
		if f, err = DecodeFrontier(next.Size, next.Encode()); err != nil {
			t.Fatal(err)
		}
		root, err := f.Root()
		if err != nil {
			t.Fatal(err)
		}
		if th, _ := tlog.TreeHash(n+1, reader); root != th {
			t.Fatalf("root of %d records differs from tlog's", n+1)
		}
	}
	if _, err := DecodeFrontier(3, make([]byte, 32)); err == nil {
		t.Fatal("a frontier of 3 records with one hash decoded")
	}
}
