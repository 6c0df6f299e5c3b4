package auditlog

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/mod/sumdb/tlog"
)

// Source is what Verify reads of a store, all from one snapshot.
type Source interface {
	// Tree returns the stored frontier: the size of the tree and the
	// hashes a writer appends with.
	Tree(ctx context.Context) (Frontier, error)
	// Records returns up to limit records with Seq >= from, by Seq.
	Records(ctx context.Context, from int64, limit int) ([]Record, error)
	// Hashes returns the stored hashes with an index in [lo, hi).
	Hashes(ctx context.Context, lo, hi int64) (map[int64]tlog.Hash, error)
	// Unchained returns the IDs of up to limit records without a
	// sequence number.
	Unchained(ctx context.Context, limit int) ([]string, error)
	// Checkpoints returns the stored checkpoints, smallest first.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
	// Verifiers returns the verifier keys of the audit keys the store
	// knows.
	Verifiers(ctx context.Context) ([]string, error)
}

// VerifyOptions are the operator's inputs to Verify.
type VerifyOptions struct {
	// Checkpoint is a signed checkpoint the operator saved elsewhere
	// (optional).
	Checkpoint []byte
	// Verifiers, if set, are the only keys the operator's checkpoint may
	// be signed by (otherwise: the keys the store knows).
	Verifiers []string
}

// Report is the outcome of Verify.
type Report struct {
	Size        int64 // records in the tree
	Checkpoints int   // stored checkpoints checked
	Operator    bool  // the operator's checkpoint was checked
	Failure     *Failure
}

// Failure is the first thing Verify found that does not match.
type Failure struct {
	Seq    int64  // the first record that does not match; -1 if it is no record's fault
	ID     string // its ID, where known
	Reason string
}

func (f *Failure) Error() string {
	switch {
	case f.Seq < 0 && f.ID == "":
		return f.Reason
	case f.Seq < 0:
		return fmt.Sprintf("record %s: %s", f.ID, f.Reason)
	case f.ID == "":
		return fmt.Sprintf("record seq %d: %s", f.Seq, f.Reason)
	}
	return fmt.Sprintf("record seq %d (id %s): %s", f.Seq, f.ID, f.Reason)
}

// verifyPage is how many records Verify reads at a time.
const verifyPage = 1000

// claim is a root hash the tree must have at a size.
type claim struct {
	root tlog.Hash
	what string
}

// Verify recomputes the tree from src's records in sequence order and
// reports the first record whose leaf, position or hashes do not match
// what is stored, or the first record not covered by a stored checkpoint
// (or by the operator's) whose root differs. An error is a failure to read
// src, not a finding.
func Verify(ctx context.Context, src Source, opt VerifyOptions) (*Report, error) {
	rep := &Report{}
	fail := func(f *Failure) (*Report, error) { rep.Failure = f; return rep, nil }
	verifiers, err := src.Verifiers(ctx)
	if err != nil {
		return nil, err
	}
	cps, err := src.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	claims := map[int64][]claim{}
	for _, c := range cps {
		o, err := Open(c.Note, verifiers)
		if err != nil {
			return fail(&Failure{Seq: -1, Reason: fmt.Sprintf("stored checkpoint of size %d: %v", c.Size, err)})
		}
		if o.Size != c.Size || o.Root != c.Root {
			return fail(&Failure{Seq: -1, Reason: fmt.Sprintf("stored checkpoint of size %d: its note says size %d, root %s", c.Size, o.Size, o.Root)})
		}
		claims[o.Size] = append(claims[o.Size], claim{o.Root, fmt.Sprintf("the stored checkpoint of size %d", o.Size)})
		rep.Checkpoints++
	}
	if opt.Checkpoint != nil {
		vs := verifiers
		if len(opt.Verifiers) > 0 {
			vs = opt.Verifiers
		}
		o, err := Open(opt.Checkpoint, vs)
		if err != nil {
			return fail(&Failure{Seq: -1, Reason: "the operator's checkpoint: " + err.Error()})
		}
		claims[o.Size] = append(claims[o.Size], claim{o.Root, fmt.Sprintf("the operator's checkpoint (size %d)", o.Size)})
		rep.Operator = true
	}
	sizes := make([]int64, 0, len(claims))
	for n := range claims {
		sizes = append(sizes, n)
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })

	stored, err := src.Tree(ctx)
	if err != nil {
		return nil, err
	}
	rep.Size = stored.Size
	var (
		f        Frontier // recomputed
		good     int64    // records [0, good) are proven by a checkpoint
		goodID   string   // ID of record good, once seen
		claimIdx int
	)
	check := func() *Failure {
		for claimIdx < len(sizes) && sizes[claimIdx] == f.Size {
			root, err := f.Root()
			if err != nil {
				return &Failure{Seq: -1, Reason: err.Error()}
			}
			for _, c := range claims[f.Size] {
				if c.root != root {
					return &Failure{Seq: good, ID: goodID, Reason: fmt.Sprintf(
						"the records from here to seq %d do not match %s (root %s; the stored records give %s)", f.Size-1, c.what, c.root, root)}
				}
			}
			good, goodID = f.Size, ""
			claimIdx++
		}
		return nil
	}
	if ff := check(); ff != nil { // a checkpoint of the empty tree
		return fail(ff)
	}
	for f.Size < stored.Size {
		recs, err := src.Records(ctx, f.Size, verifyPage)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 || recs[0].Seq >= stored.Size {
			break // the rest is missing; records beyond the tree are reported below
		}
		last := min(recs[len(recs)-1].Seq, stored.Size-1)
		hashes, err := src.Hashes(ctx, tlog.StoredHashIndex(0, f.Size), tlog.StoredHashIndex(0, last+1))
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if r.Seq >= stored.Size {
				break
			}
			if r.Seq != f.Size {
				return fail(&Failure{Seq: f.Size, Reason: fmt.Sprintf("missing (the next stored record is seq %d, id %s)", r.Seq, r.Event.ID)})
			}
			if f.Size == good {
				goodID = r.Event.ID
			}
			hs, next, err := f.Append(Leaf(r.Seq, r.Event))
			if err != nil {
				return nil, err
			}
			first := tlog.StoredHashIndex(0, r.Seq)
			for i, h := range hs {
				got, ok := hashes[first+int64(i)]
				switch {
				case !ok:
					return fail(&Failure{Seq: r.Seq, ID: r.Event.ID, Reason: fmt.Sprintf("stored hash %d is missing", first+int64(i))})
				case got != h && i == 0:
					return fail(&Failure{Seq: r.Seq, ID: r.Event.ID, Reason: "the record does not match its stored leaf hash (it was changed, or moved)"})
				case got != h:
					return fail(&Failure{Seq: r.Seq, ID: r.Event.ID, Reason: fmt.Sprintf("stored hash %d does not match the records", first+int64(i))})
				}
			}
			f = next
			if ff := check(); ff != nil {
				return fail(ff)
			}
		}
	}
	if f.Size < stored.Size {
		return fail(&Failure{Seq: f.Size, Reason: fmt.Sprintf("missing (the tree has %d records, the log ends here)", stored.Size)})
	}
	if claimIdx < len(sizes) {
		return fail(&Failure{Seq: f.Size, Reason: fmt.Sprintf("missing: a checkpoint covers %d records, the log has %d", sizes[claimIdx], f.Size)})
	}
	if string(f.Encode()) != string(stored.Encode()) {
		return fail(&Failure{Seq: -1, Reason: "the stored tree state does not match the records"})
	}
	if more, err := src.Records(ctx, stored.Size, 1); err != nil {
		return nil, err
	} else if len(more) > 0 {
		return fail(&Failure{Seq: more[0].Seq, ID: more[0].Event.ID, Reason: fmt.Sprintf("beyond the end of the tree (%d records)", stored.Size)})
	}
	ids, err := src.Unchained(ctx, 1)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		return fail(&Failure{Seq: -1, ID: ids[0], Reason: "has no sequence number: it is not in the tree"})
	}
	return rep, nil
}

// Chain is the whole of a stored chain, as export reads it.
type Chain interface {
	Records(ctx context.Context, from int64, limit int) ([]Record, error)
	Unchained(ctx context.Context, limit int) ([]string, error)
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
	Keys(ctx context.Context) ([]StoredKey, error)
}
