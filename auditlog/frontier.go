package auditlog

import (
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Frontier is the state of a tree that appending needs: its size and the
// hashes of the complete subtrees its records split into (one per set bit
// of Size, the largest first). That is every stored hash that
// tlog.StoredHashes reads for the next record and tlog.TreeHash reads for
// the root, so a writer reads one row, not the hash table.
type Frontier struct {
	Size   int64
	Hashes []tlog.Hash
}

// frontierIndexes returns the stored-hash indexes of the frontier of a
// tree of n records, in the order of Frontier.Hashes.
func frontierIndexes(n int64) []int64 {
	var out []int64
	for l := 63; l >= 0; l-- {
		if n&(1<<l) != 0 {
			out = append(out, tlog.StoredHashIndex(l, n>>l-1))
		}
	}
	return out
}

// reader reads f's hashes (and those in extra, stored from index first
// on) by stored-hash index. The sets are small (at most 64 and 65 hashes):
// a search beats a map.
func (f Frontier) reader(first int64, extra []tlog.Hash) tlog.HashReader {
	idxs := frontierIndexes(f.Size)
	return tlog.HashReaderFunc(func(want []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(want))
	next:
		for i, x := range want {
			if x >= first && x < first+int64(len(extra)) {
				out[i] = extra[x-first]
				continue
			}
			for j, idx := range idxs {
				if idx == x && j < len(f.Hashes) {
					out[i] = f.Hashes[j]
					continue next
				}
			}
			return nil, fmt.Errorf("auditlog: hash %d is not in the frontier of a tree of %d records", x, f.Size)
		}
		return out, nil
	})
}

// Append adds the record with the given leaf data at position f.Size. It
// returns the hashes to store from index tlog.StoredHashIndex(0, f.Size)
// on, in order, and the frontier of the grown tree.
func (f Frontier) Append(leaf []byte) ([]tlog.Hash, Frontier, error) {
	if len(f.Hashes) != bits.OnesCount64(uint64(f.Size)) {
		return nil, Frontier{}, fmt.Errorf("auditlog: frontier of %d records has %d hashes", f.Size, len(f.Hashes))
	}
	stored, err := tlog.StoredHashes(f.Size, leaf, f.reader(0, nil))
	if err != nil {
		return nil, Frontier{}, err
	}
	next := Frontier{Size: f.Size + 1}
	if next.Hashes, err = f.reader(tlog.StoredHashIndex(0, f.Size), stored).ReadHashes(frontierIndexes(next.Size)); err != nil {
		return nil, Frontier{}, err
	}
	return stored, next, nil
}

// Root returns the tree's root hash (RFC 6962 Merkle tree hash).
func (f Frontier) Root() (tlog.Hash, error) {
	return tlog.TreeHash(f.Size, f.reader(0, nil))
}

// Encode returns f.Hashes concatenated, as the store keeps them.
func (f Frontier) Encode() []byte {
	b := make([]byte, 0, len(f.Hashes)*tlog.HashSize)
	for _, h := range f.Hashes {
		b = append(b, h[:]...)
	}
	return b
}

// DecodeFrontier returns the frontier of a tree of size records from the
// bytes Encode wrote.
func DecodeFrontier(size int64, b []byte) (Frontier, error) {
	n := bits.OnesCount64(uint64(size))
	if size < 0 || len(b) != n*tlog.HashSize {
		return Frontier{}, fmt.Errorf("auditlog: frontier of %d records is %d bytes, not %d", size, len(b), n*tlog.HashSize)
	}
	f := Frontier{Size: size, Hashes: make([]tlog.Hash, n)}
	for i := range f.Hashes {
		copy(f.Hashes[i][:], b[i*tlog.HashSize:])
	}
	return f, nil
}
