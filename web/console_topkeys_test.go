package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// TestConsoleTopKeysRankAllUsedKeys: the dashboard's top keys are the
// busiest of the range whatever their IDs — the busiest key here has the
// highest ID of 2,001 used keys, which a ranking of the first keys in ID
// order (the 2,000 the dashboard used to read through group_by=key) left
// out.
func TestConsoleTopKeysRankAllUsedKeys(t *testing.T) {
	s := newStack(t)
	b := adminBrowser(t, s, "ada", `["admin"]`)
	ctx := context.Background()
	const n = 2001
	var keys []*token.Key
	for lo := 0; lo < n; lo += token.MaxImportBatch {
		var in []token.ImportKey
		for i := lo; i < min(n, lo+token.MaxImportBatch); i++ {
			in = append(in, token.ImportKey{Digest: apitoken.FromString(fmt.Sprintf("imported-%d", i)).Digest(), Name: "k"})
		}
		got, err := s.svc.ImportKeys(ctx, token.SystemActor, token.DefaultKeyspace, in)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, got...)
	}
	last := keys[0]
	for _, k := range keys {
		if k.ID > last.ID {
			last = k
		}
	}
	minute := s.svc.Now().Truncate(time.Minute)
	var usage []token.Usage
	for _, k := range keys {
		c := int64(1)
		if k == last {
			c = 7
		}
		counts := map[token.Code]int64{token.CodeValid: c}
		usage = append(usage, token.Usage{KeyID: k.ID, Keyspace: k.Keyspace, Counts: counts,
			Minutes: []token.MinuteCounts{{Minute: minute, Counts: counts}}})
	}
	if err := s.svc.Store().RecordUsage(ctx, usage); err != nil {
		t.Fatal(err)
	}
	p := b.get("/ui")
	if p.status != http.StatusOK {
		t.Fatalf("dashboard: %d", p.status)
	}
	top := section(t, p.body, `id="top-keys-table"`)
	first := strings.Index(top, `href="/ui/keys/`)
	if first < 0 || !strings.HasPrefix(top[first:], `href="/ui/keys/`+last.ID+`"`) {
		t.Fatalf("the busiest key %s is not first in the top keys: %.600s", last.ID, top)
	}
	if c := strings.Count(top, `href="/ui/keys/`); c != topKeys {
		t.Errorf("top keys lists %d keys, want %d", c, topKeys)
	}
}
