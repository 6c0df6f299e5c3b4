package transfer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/token"
)

// ErrNotEmpty is returned by Import when the destination already holds
// keys, principals or audit events.
var ErrNotEmpty = errors.New("the destination is not empty")

// maxLine bounds one record (a key with large metadata is a few KiB).
const maxLine = 16 << 20

// Import reads a stream written by Export and stores it in dst, which must
// be empty: no keys, no principals, no audit events. Keyspaces that exist
// already (the built-in "default" and "latchkey") are overwritten with the
// exported ones. Keys are written in batches through ImportKeys exactly as
// exported (IDs, digests, versions, times), and so are the credentials of
// users (into a PeopleStore) and the OAuth clients of apps (into an
// OAuthStore), and no audit event is added;
// audit events are appended in the stream's order, oldest first.
//
// Import is not one transaction: if it fails midway, dst holds a prefix of
// the stream and must be emptied before trying again. A stream without its
// trailer (a truncated file) fails after storing what it held.
func Import(ctx context.Context, dst token.Store, r io.Reader, opt Options) (Counts, error) {
	t := newTracker(opt)
	if err := checkEmpty(ctx, dst); err != nil {
		return t.c, fmt.Errorf("transfer: import: %w", err)
	}
	im := &importer{dst: dst, t: t}
	if err := im.run(ctx, r); err != nil {
		return t.c, fmt.Errorf("transfer: import: %w", err)
	}
	t.done()
	return t.c, nil
}

func checkEmpty(ctx context.Context, dst token.Store) error {
	ks, _, err := dst.ListKeys(ctx, token.KeyFilter{Limit: 1})
	if err != nil {
		return err
	}
	ps, _, err := dst.ListPrincipals(ctx, token.PrincipalFilter{Limit: 1})
	if err != nil {
		return err
	}
	evs, _, err := dst.ListAudit(ctx, token.AuditFilter{Limit: 1})
	if err != nil {
		return err
	}
	if len(ks) > 0 || len(ps) > 0 || len(evs) > 0 {
		return fmt.Errorf("%w: it already has keys, principals or audit events; import into a new data directory or database", ErrNotEmpty)
	}
	return nil
}

type importer struct {
	dst   token.Store
	t     *tracker
	keys  []*token.Key
	usage []token.Usage
}

func (im *importer) run(ctx context.Context, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	var kind struct {
		Kind string `json:"kind"`
	}
	sawHeader, sawEnd := false, false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		if sawEnd {
			return fmt.Errorf("line %d: data after the end record", line)
		}
		if !sawHeader {
			if err := checkHeader(b); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			sawHeader = true
			continue
		}
		kind.Kind = ""
		if err := json.Unmarshal(b, &kind); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if kind.Kind != kindKey {
			// Keys come as one run; store the last batch before anything
			// that follows them.
			if err := im.flush(ctx); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
		}
		var err error
		if kind.Kind == kindEnd {
			err = im.end(b)
			sawEnd = true
		} else {
			err = im.record(ctx, kind.Kind, b)
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	if !sawHeader {
		return errors.New("empty input: not a latchkey export")
	}
	if err := im.flush(ctx); err != nil {
		return err
	}
	if !sawEnd {
		return errors.New("the input ends without its end record: it is truncated")
	}
	return nil
}

func checkHeader(b []byte) error {
	var h header
	if json.Unmarshal(b, &h) != nil || h.Kind != kindHeader || h.Format != Format {
		return errors.New("not a latchkey export (no header line)")
	}
	if h.Version != Version {
		return fmt.Errorf("export format version %d is not supported (this latchkey reads version %d)", h.Version, Version)
	}
	return nil
}

func (im *importer) record(ctx context.Context, kind string, b []byte) error {
	switch kind {
	case kindKeyspace:
		var r keyspaceRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if err := putKeyspace(ctx, im.dst, r.keyspace()); err != nil {
			return err
		}
		im.t.add(&im.t.c.Keyspaces)
	case kindPrincipal:
		var r principalRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if err := im.dst.CreatePrincipal(ctx, r.principal(), nil); err != nil {
			return err
		}
		im.t.add(&im.t.c.Principals)
	case kindCreds:
		var r credentialsRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		c, codes, keys, err := r.parts()
		if err != nil {
			return err
		}
		ps, ok := im.dst.(PeopleStore)
		if !ok {
			return errors.New("the destination store cannot keep the credentials of users")
		}
		if err := ps.ImportCredentials(ctx, r.UserID, c, codes, keys); err != nil {
			return err
		}
		im.t.add(&im.t.c.Credentials)
	case kindWebhook:
		return im.importWebhook(ctx, b)
	case kindClient:
		var r oauthClientRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		c, err := r.client()
		if err != nil {
			return err
		}
		cs, ok := im.dst.(OAuthStore)
		if !ok {
			return errors.New("the destination store cannot keep OAuth clients")
		}
		if err := cs.ImportClient(ctx, c); err != nil {
			return err
		}
		im.t.add(&im.t.c.OAuthClients)
	case kindKey:
		var r keyRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		im.keys = append(im.keys, r.key())
		if u, ok := r.usage(); ok {
			im.usage = append(im.usage, u)
		}
		if len(im.keys) >= pageSize {
			return im.flush(ctx)
		}
	case kindTombstone:
		var r tombstoneRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		d, err := r.tombstone()
		if err != nil {
			return err
		}
		ts, ok := im.dst.(token.TombstoneStore)
		if !ok {
			return errors.New("the destination store cannot keep revoked digests")
		}
		if err := ts.AddRevokedDigests(ctx, []token.RevokedDigest{d}); err != nil {
			return err
		}
		im.t.add(&im.t.c.RevokedDigests)
	case kindSigning:
		var r signingKeyRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		_, version, err := im.dst.SigningKeys(ctx)
		if err != nil {
			return err
		}
		if _, err := im.dst.SwapSigningKeys(ctx, version, []token.SigningKeyRecord{r.record()}, nil, nil); err != nil {
			return err
		}
		im.t.add(&im.t.c.SigningKeys)
	case kindAudit:
		var r auditRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		if err := im.dst.AppendAudit(ctx, r.event()); err != nil {
			return err
		}
		im.t.add(&im.t.c.Audit)
	case kindAuditKey:
		var r auditKeyRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		ci, ok := im.dst.(ChainImporter)
		if !ok {
			return errors.New("the destination store keeps no audit chain")
		}
		if _, err := ci.AddAuditKey(ctx, auditlog.StoredKey{ID: r.ID, Verifier: r.Verifier, Sealed: r.Sealed, CreatedAt: r.CreatedAt}); err != nil {
			return err
		}
		im.t.add(&im.t.c.AuditKeys)
	case kindAuditCP:
		var r auditCheckpointRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		ci, ok := im.dst.(ChainImporter)
		if !ok {
			return errors.New("the destination store keeps no audit chain")
		}
		size, root, err := auditlog.ParseTree(noteText(r.Note))
		if err != nil || size != r.Size {
			return fmt.Errorf("audit checkpoint of size %d: not a checkpoint of that size", r.Size)
		}
		if err := ci.AddAuditCheckpoint(ctx, &auditlog.Checkpoint{Size: size, Root: root, Note: []byte(r.Note), CreatedAt: r.CreatedAt}); err != nil {
			return err
		}
		im.t.add(&im.t.c.AuditCheckpoints)
	default:
		return fmt.Errorf("unknown record kind %q", kind)
	}
	return nil
}

// putKeyspace creates ks or, if it exists, overwrites every field of it.
func putKeyspace(ctx context.Context, dst token.Store, ks *token.Keyspace) error {
	err := dst.CreateKeyspace(ctx, ks, nil)
	if !errors.Is(err, token.ErrConflict) {
		return err
	}
	_, err = dst.UpdateKeyspace(ctx, ks.Name, func(old *token.Keyspace) error {
		*old = *ks
		return nil
	}, nil)
	return err
}

// flush stores the pending keys, with no audit events, and their usage
// counts.
func (im *importer) flush(ctx context.Context) error {
	if len(im.keys) == 0 {
		return nil
	}
	if err := im.dst.ImportKeys(ctx, im.keys, make([]*token.AuditEvent, len(im.keys))); err != nil {
		return err
	}
	if err := im.dst.RecordUsage(ctx, im.usage); err != nil {
		return err
	}
	for range im.keys {
		im.t.add(&im.t.c.Keys)
	}
	im.keys, im.usage = im.keys[:0], im.usage[:0]
	return nil
}

// end checks the trailer's counts against what was stored.
func (im *importer) end(b []byte) error {
	var e end
	if err := json.Unmarshal(b, &e); err != nil {
		return err
	}
	if e.Counts != im.t.c {
		return fmt.Errorf("the end record counts %+v but the input held %+v", e.Counts, im.t.c)
	}
	return nil
}

// SigningKeys reads a stream written by Export and returns its signing-key
// records (still sealed), storing nothing: an importer checks with them
// that it holds the master key that opens them before it writes anything.
func SigningKeys(r io.Reader) ([]token.SigningKeyRecord, error) {
	out, _, err := SealedKeys(r)
	return out, err
}

// SealedKeys reads a stream written by Export and returns its signing-key
// records and its audit keys (the signing one's private half still sealed),
// storing nothing.
func SealedKeys(r io.Reader) ([]token.SigningKeyRecord, []auditlog.StoredKey, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var out []token.SigningKeyRecord
	var audit []auditlog.StoredKey
	var kind struct {
		Kind string `json:"kind"`
	}
	line, sawHeader := 0, false
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		if !sawHeader {
			if err := checkHeader(b); err != nil {
				return nil, nil, fmt.Errorf("transfer: line %d: %w", line, err)
			}
			sawHeader = true
			continue
		}
		kind.Kind = ""
		if err := json.Unmarshal(b, &kind); err != nil {
			return nil, nil, fmt.Errorf("transfer: line %d: %w", line, err)
		}
		switch kind.Kind {
		case kindSigning:
			var rec signingKeyRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return nil, nil, fmt.Errorf("transfer: line %d: %w", line, err)
			}
			out = append(out, rec.record())
		case kindAuditKey:
			var rec auditKeyRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return nil, nil, fmt.Errorf("transfer: line %d: %w", line, err)
			}
			audit = append(audit, auditlog.StoredKey{ID: rec.ID, Verifier: rec.Verifier, Sealed: rec.Sealed, CreatedAt: rec.CreatedAt})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("transfer: line %d: %w", line+1, err)
	}
	if !sawHeader {
		return nil, nil, errors.New("transfer: empty input: not a latchkey export")
	}
	return out, audit, nil
}

// noteText returns the text of a signed note: what precedes the blank
// line before its signatures (their check is latchkey audit verify's).
func noteText(note string) string {
	text, _, _ := strings.Cut(note, "\n\n")
	return text + "\n"
}
