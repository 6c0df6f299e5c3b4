package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// TestListenDeliversChanges: a change committed through one handle reaches
// a listener on another; usage bookkeeping (credits, last use) does not.
func TestListenDeliversChanges(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	a, b := openPGTest(t, url, schema), openPGTest(t, url, schema)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := make(chan apitoken.Digest, 16)
	principals := make(chan string, 16)
	resets := make(chan struct{}, 16)
	go b.Listen(ctx, Invalidations{
		Key:       func(d apitoken.Digest) { keys <- d },
		Principal: func(typ token.PrincipalType, id string) { principals <- string(typ) + ":" + id },
		Reset:     func() { resets <- struct{}{} },
	})
	select {
	case <-resets: // listening
	case <-time.After(5 * time.Second):
		t.Fatal("Listen never started (no Reset)")
	}
	next := func(what string) apitoken.Digest {
		t.Helper()
		select {
		case d := <-keys:
			return d
		case <-time.After(5 * time.Second):
			t.Fatalf("no notification for %s", what)
		}
		return apitoken.Digest{}
	}
	k := seedKey(t, a, 10)
	if d := next("create"); d != k.Digest {
		t.Fatalf("create: digest %s, want %s", d, k.Digest)
	}
	// Usage bookkeeping notifies nobody.
	if _, _, err := a.SpendCredits(ctx, k.ID, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := a.RecordUsage(ctx, []token.Usage{{KeyID: k.ID, LastUsedAt: time.Now(), LastUsedIP: "192.0.2.1", Counts: map[token.Code]int64{token.CodeValid: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateKey(ctx, k.ID, func(k *token.Key) error { k.RevokedAt = time.Now(); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if d := next("revoke"); d != k.Digest {
		t.Fatalf("revoke: digest %s, want %s", d, k.Digest)
	}
	select {
	case d := <-keys:
		t.Fatalf("an extra notification (%s): usage bookkeeping must not notify", d)
	case <-time.After(200 * time.Millisecond):
	}
	// A new signing secret matters to verification of signed requests.
	if _, err := a.UpdateKey(ctx, k.ID, func(k *token.Key) error { k.SigningSecret = []byte("sealed"); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if d := next("signing secret"); d != k.Digest {
		t.Fatalf("signing secret: digest %s, want %s", d, k.Digest)
	}

	p := &token.Principal{Type: token.User, ID: "alice", CreatedAt: time.Now(), UpdatedAt: time.Now(), Version: 1}
	if err := a.CreatePrincipal(ctx, p, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdatePrincipal(ctx, token.User, "alice", func(p *token.Principal) error { p.Disabled = true; return nil }, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-principals:
		if got != "user:alice" {
			t.Fatalf("principal notification %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification for the principal update")
	}
}
