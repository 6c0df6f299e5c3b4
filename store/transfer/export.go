package transfer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/token"
)

// pageSize is how many rows one list call reads, and how many keys one
// ImportKeys call writes.
const pageSize = 500

// Options tune Export and Import.
type Options struct {
	// Progress, if set, is called after every ProgressEvery records and
	// once at the end with the running counts.
	Progress func(c Counts, done bool)
	// ProgressEvery defaults to 10,000.
	ProgressEvery int64
	// Now stamps the header (default time.Now).
	Now func() time.Time
}

// tracker counts records and reports progress.
type tracker struct {
	opt  Options
	c    Counts
	next int64
}

func newTracker(opt Options) *tracker {
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = 10_000
	}
	return &tracker{opt: opt, next: opt.ProgressEvery}
}

func (t *tracker) add(n *int64) {
	*n++
	if t.opt.Progress != nil && t.c.Total() >= t.next {
		t.next += t.opt.ProgressEvery
		t.opt.Progress(t.c, false)
	}
}

func (t *tracker) done() {
	if t.opt.Progress != nil {
		t.opt.Progress(t.c, true)
	}
}

// PeopleStore is what a store needs, besides token.Store, for Export and
// Import to carry the sign-in credentials of users (store/sqlstore.DB has
// it); a store without it is exported without them.
type PeopleStore interface {
	Credentials(ctx context.Context, userID string) (*people.Credentials, error)
	Passkeys(ctx context.Context, userID string) ([]*people.Passkey, error)
	// UnusedRecoveryCodes returns the digests of the user's unused codes.
	UnusedRecoveryCodes(ctx context.Context, userID string) ([][]byte, error)
	// ImportCredentials stores one user's credentials (nil: none) exactly
	// as given, unused recovery codes and passkeys, with no audit event.
	ImportCredentials(ctx context.Context, userID string, c *people.Credentials, codes [][]byte, passkeys []*people.Passkey) error
}

// OAuthStore is what a store needs, besides token.Store, for Export and
// Import to carry the OAuth clients of apps (store/sqlstore.DB has it); a
// store without it is exported without them.
type OAuthStore interface {
	// Client returns the client of app appID, or token.ErrNotFound.
	Client(ctx context.Context, appID string) (*oauth.Client, error)
	// ImportClient stores c exactly as given (Version included), with no
	// audit event.
	ImportClient(ctx context.Context, c *oauth.Client) error
}

// Export writes every keyspace, principal, user's credentials (where src
// is a PeopleStore), app's OAuth client (where src is an OAuthStore), key (with its usage counts) and audit event of src
// to w as JSON Lines, reading src a page at a time. The
// audit log is written oldest first. Export reads no snapshot: stop the
// servers that write to src first for an exact copy.
func Export(ctx context.Context, src token.Store, w io.Writer, opt Options) (Counts, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	t := newTracker(opt)
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	if err := enc.Encode(header{Kind: kindHeader, Format: Format, Version: Version, CreatedAt: now().UTC()}); err != nil {
		return t.c, fmt.Errorf("transfer: export: %w", err)
	}
	if err := exportRecords(ctx, src, enc, t); err != nil {
		return t.c, fmt.Errorf("transfer: export: %w", err)
	}
	if err := exportWebhooks(ctx, src, enc, t); err != nil {
		return t.c, fmt.Errorf("transfer: export: %w", err)
	}
	if err := enc.Encode(end{Kind: kindEnd, Counts: t.c}); err != nil {
		return t.c, fmt.Errorf("transfer: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return t.c, fmt.Errorf("transfer: export: %w", err)
	}
	t.done()
	return t.c, nil
}

func exportRecords(ctx context.Context, src token.Store, enc *json.Encoder, t *tracker) error {
	spaces, err := src.ListKeyspaces(ctx)
	if err != nil {
		return err
	}
	for _, ks := range spaces {
		if err := enc.Encode(fromKeyspace(ks)); err != nil {
			return err
		}
		t.add(&t.c.Keyspaces)
	}
	for _, typ := range []token.PrincipalType{token.User, token.App} {
		// One type at a time: the cursor is the ID alone.
		f := token.PrincipalFilter{Type: typ, Limit: pageSize}
		for {
			ps, next, err := src.ListPrincipals(ctx, f)
			if err != nil {
				return err
			}
			for _, p := range ps {
				if err := enc.Encode(fromPrincipal(p)); err != nil {
					return err
				}
				t.add(&t.c.Principals)
			}
			if next == "" {
				break
			}
			f.After = next
		}
	}
	if ps, ok := src.(PeopleStore); ok {
		if err := exportCredentials(ctx, src, ps, enc, t); err != nil {
			return err
		}
	}
	if cs, ok := src.(OAuthStore); ok {
		if err := exportClients(ctx, src, cs, enc, t); err != nil {
			return err
		}
	}
	f := token.KeyFilter{Limit: pageSize}
	for {
		ks, next, err := src.ListKeys(ctx, f)
		if err != nil {
			return err
		}
		for _, k := range ks {
			usage, err := src.UsageCounts(ctx, k.ID)
			if err != nil {
				return err
			}
			sealed, err := src.KeySecret(ctx, k.ID)
			if errors.Is(err, token.ErrNotFound) {
				sealed = nil // digest only, as most keys
			} else if err != nil {
				return err
			}
			if err := enc.Encode(fromKey(k, usage, sealed)); err != nil {
				return err
			}
			t.add(&t.c.Keys)
		}
		if next == "" {
			break
		}
		f.After = next
	}
	if ts, ok := src.(token.TombstoneStore); ok {
		ds, err := ts.RevokedDigests(ctx)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := enc.Encode(fromTombstone(d)); err != nil {
				return err
			}
			t.add(&t.c.RevokedDigests)
		}
	}
	recs, _, err := src.SigningKeys(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := enc.Encode(fromSigningKey(r)); err != nil {
			return err
		}
		t.add(&t.c.SigningKeys)
	}
	return exportAudit(ctx, src, enc, t)
}

// exportAudit writes the audit log oldest first. ListAudit pages newest
// first, so a first pass collects the page cursors (one string per page)
// and a second reads the pages again from the last, writing each reversed.
// Events appended meanwhile are left out: the first page is bounded by the
// newest event seen in the first pass.
func exportAudit(ctx context.Context, src token.Store, enc *json.Encoder, t *tracker) error {
	if cs, ok := src.(ChainStore); ok {
		return exportChain(ctx, cs.AuditChain(), enc, t)
	}
	first, _, err := src.ListAudit(ctx, token.AuditFilter{Limit: 1})
	if err != nil || len(first) == 0 {
		return err
	}
	// IDs have one length and compare bytewise ("C" collation), so the IDs
	// below newest+"~" are those up to newest ('~' sorts after every ID
	// character; PostgreSQL text cannot hold a NUL).
	cursors := []string{first[0].ID + "~"}
	for {
		_, next, err := src.ListAudit(ctx, token.AuditFilter{Before: cursors[len(cursors)-1], Limit: pageSize})
		if err != nil {
			return err
		}
		if next == "" {
			break
		}
		cursors = append(cursors, next)
	}
	for _, c := range slices.Backward(cursors) {
		evs, _, err := src.ListAudit(ctx, token.AuditFilter{Before: c, Limit: pageSize})
		if err != nil {
			return err
		}
		for _, ev := range slices.Backward(evs) {
			if err := enc.Encode(fromAudit(ev)); err != nil {
				return err
			}
			t.add(&t.c.Audit)
		}
	}
	return nil
}

// exportCredentials writes one record for each user with credentials,
// recovery codes or passkeys.
func exportCredentials(ctx context.Context, src token.Store, ps PeopleStore, enc *json.Encoder, t *tracker) error {
	f := token.PrincipalFilter{Type: token.User, Limit: pageSize}
	for {
		users, next, err := src.ListPrincipals(ctx, f)
		if err != nil {
			return err
		}
		for _, u := range users {
			c, err := ps.Credentials(ctx, u.ID)
			if errors.Is(err, token.ErrNotFound) {
				c, err = nil, nil
			}
			if err != nil {
				return err
			}
			codes, err := ps.UnusedRecoveryCodes(ctx, u.ID)
			if err != nil {
				return err
			}
			keys, err := ps.Passkeys(ctx, u.ID)
			if err != nil {
				return err
			}
			if c == nil && len(codes) == 0 && len(keys) == 0 {
				continue
			}
			if err := enc.Encode(fromCredentials(u.ID, c, codes, keys)); err != nil {
				return err
			}
			t.add(&t.c.Credentials)
		}
		if next == "" {
			return nil
		}
		f.After = next
	}
}

// exportClients writes one record for each app with an OAuth client.
func exportClients(ctx context.Context, src token.Store, cs OAuthStore, enc *json.Encoder, t *tracker) error {
	f := token.PrincipalFilter{Type: token.App, Limit: pageSize}
	for {
		apps, next, err := src.ListPrincipals(ctx, f)
		if err != nil {
			return err
		}
		for _, a := range apps {
			c, err := cs.Client(ctx, a.ID)
			if errors.Is(err, token.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := enc.Encode(fromClient(c)); err != nil {
				return err
			}
			t.add(&t.c.OAuthClients)
		}
		if next == "" {
			return nil
		}
		f.After = next
	}
}

// ChainStore is a store that keeps the audit chain (sqlstore.DB).
type ChainStore interface {
	AuditChain() auditlog.Chain
}

// ChainImporter is a store that takes an audit chain's keys and
// checkpoints.
type ChainImporter interface {
	AddAuditKey(ctx context.Context, k auditlog.StoredKey) (bool, error)
	AddAuditCheckpoint(ctx context.Context, c *auditlog.Checkpoint) error
}

// exportChain writes the audit records in the order of the chain, then the
// chain's keys and checkpoints. Records not chained yet (written before
// the chain existed, and not chained by a start of the server since) are
// an error: their place in the tree is not decided.
func exportChain(ctx context.Context, ch auditlog.Chain, enc *json.Encoder, t *tracker) error {
	if ids, err := ch.Unchained(ctx, 1); err != nil {
		return err
	} else if len(ids) > 0 {
		return fmt.Errorf("audit record %s is not chained yet: run 'latchkey migrate up' (or start the server once) first", ids[0])
	}
	for from := int64(0); ; {
		recs, err := ch.Records(ctx, from, pageSize)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			ar := fromAudit(r.Event)
			ar.Seq = &r.Seq
			if err := enc.Encode(ar); err != nil {
				return err
			}
			t.add(&t.c.Audit)
			from = r.Seq + 1
		}
	}
	keys, err := ch.Keys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := enc.Encode(auditKeyRecord{Kind: kindAuditKey, ID: k.ID, Verifier: k.Verifier, Sealed: k.Sealed, CreatedAt: utc(k.CreatedAt)}); err != nil {
			return err
		}
		t.add(&t.c.AuditKeys)
	}
	cps, err := ch.Checkpoints(ctx)
	if err != nil {
		return err
	}
	for _, c := range cps {
		if err := enc.Encode(auditCheckpointRecord{Kind: kindAuditCP, Size: c.Size, Note: string(c.Note), CreatedAt: utc(c.CreatedAt)}); err != nil {
			return err
		}
		t.add(&t.c.AuditCheckpoints)
	}
	return nil
}
