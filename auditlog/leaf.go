// Package auditlog makes latchkey's audit log tamper-evident: every audit
// record is a leaf of an append-only Merkle tree (RFC 6962 hashing, Go's
// golang.org/x/mod/sumdb/tlog), numbered by a gap-free sequence and
// chained in the transaction that writes it (the store does that with
// Frontier). Signed checkpoints (tree size and root hash as a sumdb/note
// signed by an Ed25519 key sealed with the master key) are made by Log,
// which also proves inclusion and consistency; Verify recomputes the tree
// from the stored records and checks it against the stored hashes, every
// stored checkpoint and one the operator kept elsewhere.
package auditlog

import (
	"encoding/binary"
	"sort"

	"github.com/latchkey/latchkey/token"
)

// leafVersion starts every leaf: a later encoding gets another version, and
// the records already chained keep theirs.
const leafVersion = "latchkey audit record v1\n"

// Record is an audit event with its place in the tree.
type Record struct {
	Seq   int64
	Event *token.AuditEvent
}

// Leaf returns the canonical encoding of the event at seq, the data whose
// tlog.RecordHash is its leaf hash: the version line, then seq and the time
// (UTC Unix nanoseconds, with a flag for "no time") as 8-byte big-endian
// integers, then ID, actor, action, target type, target ID, outcome and
// request ID, each as a uvarint length and its bytes, then the number of
// detail entries and each key and value the same way, keys sorted. Only
// what the store keeps is encoded (not Answer), so the leaf of a record read
// back equals the leaf of the record written.
func Leaf(seq int64, ev *token.AuditEvent) []byte {
	b := make([]byte, 0, 256)
	b = append(b, leafVersion...)
	b = binary.BigEndian.AppendUint64(b, uint64(seq))
	if ev.Time.IsZero() {
		b = append(b, 0)
		b = binary.BigEndian.AppendUint64(b, 0)
	} else {
		b = append(b, 1)
		b = binary.BigEndian.AppendUint64(b, uint64(ev.Time.UnixNano()))
	}
	for _, s := range []string{ev.ID, ev.ActorKeyID, ev.Action, ev.TargetType, ev.TargetID, ev.Outcome, ev.RequestID} {
		b = appendString(b, s)
	}
	keys := make([]string, 0, len(ev.Detail))
	for k := range ev.Detail {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, ev.Detail[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
