package auditlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Origin is the first line of every checkpoint: which log it is of.
const Origin = "latchkey audit log v1"

// KeyName is the name of the audit signing key in its signed notes.
const KeyName = "latchkey-audit"

// Checkpoint is a signed statement of the tree's size and root hash.
type Checkpoint struct {
	Size      int64
	Root      tlog.Hash
	Note      []byte // the signed note: the text of FormatTree and its signature lines
	CreatedAt time.Time
}

// FormatTree returns the text of a checkpoint in the C2SP tlog-checkpoint
// form: the origin line, the size in decimal and the root hash in standard
// base64, each ending in a newline.
func FormatTree(size int64, root tlog.Hash) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", Origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// ParseTree reads the text FormatTree wrote.
func ParseTree(text string) (int64, tlog.Hash, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) != 4 || lines[0] != Origin || lines[3] != "" {
		return 0, tlog.Hash{}, errors.New("not a latchkey audit checkpoint")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || lines[1] != strconv.FormatInt(size, 10) {
		return 0, tlog.Hash{}, fmt.Errorf("checkpoint size %q is not a number", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return 0, tlog.Hash{}, errors.New("checkpoint root hash is not 32 bytes of base64")
	}
	var h tlog.Hash
	copy(h[:], raw)
	return size, h, nil
}

// Key is an audit signing key: its note signer key (the secret) and
// verifier key (public, "latchkey-audit+hash+base64").
type Key struct {
	Signer   string
	Verifier string
}

// GenerateKey returns a new Ed25519 audit key drawing on rand.
func GenerateKey(rand io.Reader) (Key, error) {
	skey, vkey, err := note.GenerateKey(rand, KeyName)
	if err != nil {
		return Key{}, fmt.Errorf("auditlog: generate key: %w", err)
	}
	return Key{Signer: skey, Verifier: vkey}, nil
}

// Sign returns the signed checkpoint of a tree of size records with the
// given root.
func Sign(k Key, size int64, root tlog.Hash, now time.Time) (*Checkpoint, error) {
	s, err := note.NewSigner(k.Signer)
	if err != nil {
		return nil, fmt.Errorf("auditlog: signing key: %w", err)
	}
	msg, err := note.Sign(&note.Note{Text: string(FormatTree(size, root))}, s)
	if err != nil {
		return nil, fmt.Errorf("auditlog: sign checkpoint: %w", err)
	}
	return &Checkpoint{Size: size, Root: root, Note: msg, CreatedAt: now}, nil
}

// Open checks the signature of a signed checkpoint against the verifier
// keys and returns its size and root. A note signed by none of them, or
// altered, is an error.
func Open(msg []byte, verifiers []string) (*Checkpoint, error) {
	var vs []note.Verifier
	for _, vk := range verifiers {
		v, err := note.NewVerifier(vk)
		if err != nil {
			return nil, fmt.Errorf("audit key %q: %w", vk, err)
		}
		vs = append(vs, v)
	}
	// note.Open wants the exact bytes; a copy saved by an editor may have
	// lost the final newline.
	if !bytes.HasSuffix(msg, []byte("\n")) {
		msg = append(bytes.Clone(msg), '\n')
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return nil, fmt.Errorf("checkpoint is not signed by a known audit key: %w", err)
		}
		return nil, fmt.Errorf("checkpoint does not verify: %w", err)
	}
	size, root, err := ParseTree(n.Text)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Size: size, Root: root, Note: msg}, nil
}

// StoredKey is an audit key as the store keeps it: the verifier key, and
// for a key this installation signs with, the signer key sealed with the
// master key (nil for a key known only to verify, such as one of an
// installation whose log was imported). The key with ID 1 signs.
type StoredKey struct {
	ID        int64
	Verifier  string
	Sealed    []byte
	CreatedAt time.Time
}
