package auditlog

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/latchkey/latchkey/token"
)

// The leaf encoding is part of every stored tree: changing it breaks the
// verification of every log written before. A new encoding needs a new
// version line.
func TestAuditChain_LeafEncodingIsStable(t *testing.T) {
	ev := &token.AuditEvent{ID: "aud_1", Time: time.Unix(1700000000, 5).UTC(), ActorKeyID: "key_a", Action: "key.create",
		TargetType: "key", TargetID: "key_b", Outcome: "success", RequestID: "req", Detail: map[string]string{"z": "1", "a": "é"}}
	leaf := Leaf(7, ev)
	if !strings.HasPrefix(string(leaf), "latchkey audit record v1\n") {
		t.Fatalf("leaf %q", leaf)
	}
	// RFC 6962 leaf hash (SHA-256 of 0x00 and the leaf), computed apart from this code.
	const want = "1808b1ded16347d1b3a80540372e36e0e3092116cddc87a1dbb7a39aaa782689"
	if got := tlog.RecordHash(leaf); hex.EncodeToString(got[:]) != want {
		t.Fatalf("leaf hash %s, want %s (leaf %q)", hex.EncodeToString(got[:]), want, leaf)
	}
	// Field boundaries are unambiguous: moving a byte between fields
	// changes the leaf.
	ev2 := *ev
	ev2.ActorKeyID, ev2.Action = "key_ak", "ey.create"
	if string(Leaf(7, &ev2)) == string(leaf) {
		t.Fatal("two events share a leaf")
	}
	if string(Leaf(8, ev)) == string(leaf) {
		t.Fatal("the leaf does not bind the sequence number")
	}
}

func FuzzOpenCheckpoint(f *testing.F) {
	k, err := GenerateKey(strings.NewReader(strings.Repeat("k", 64)))
	if err != nil {
		f.Fatal(err)
	}
	c, err := Sign(k, 12, tlog.Hash{1}, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.Note)
	f.Add([]byte(Origin + "\n12\nAA==\n\n— latchkey-audit x\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, msg []byte) {
		o, err := Open(msg, []string{k.Verifier})
		if err != nil {
			return
		}
		// Whatever opens is a checkpoint k signed: its text round-trips.
		size, root, err := ParseTree(string(FormatTree(o.Size, o.Root)))
		if err != nil || size != o.Size || root != o.Root {
			t.Fatalf("ParseTree(FormatTree(%d, %v)) = %d, %v, %v", o.Size, o.Root, size, root, err)
		}
	})
}
