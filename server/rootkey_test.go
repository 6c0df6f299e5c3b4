package server_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/server"
)

// TestE2E_RootKeyFromEnv: an operator-chosen root key (LATCHKEY_ROOT_KEY)
// is never printed or written to disk and authenticates; a short one stops
// the server from starting with a clear error.
func TestE2E_RootKeyFromEnv(t *testing.T) {
	ctx := context.Background()
	t.Run("32+ characters: used, not announced, not written", func(t *testing.T) {
		root := "operator-chosen-root-key-" + strings.Repeat("x", 16)
		s := startServer(t, server.Config{RootKey: root})
		if out := s.Out.String(); out != "" {
			t.Errorf("announced something for an operator-chosen root key: %d bytes", len(out))
		}
		if _, err := os.Stat(filepath.Join(s.DataDir, server.RootKeyFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s written for an operator-chosen root key (stat: %v)", server.RootKeyFile, err)
		}
		me, err := s.client(t, root).Self(ctx)
		if err != nil {
			t.Fatalf("the chosen root key does not authenticate: %v", err)
		}
		if len(me.Scopes) != 1 || me.Scopes[0] != "admin" {
			t.Errorf("root scopes %v, want [admin]", me.Scopes)
		}
		if strings.Contains(s.Logs.String(), root) {
			t.Error("the chosen root key is in the log")
		}
	})
	t.Run("10 characters: Run fails", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		served := false
		err := server.Run(ctx, server.Config{
			Addr: "127.0.0.1:0", DataDir: dir, RootKey: "tooshort10", Out: io.Discard,
			Started: func(string) { served = true; cancel() },
		})
		if err == nil || served {
			t.Fatalf("Run with a 10-character root key: err %v, served %v; want a startup error", err, served)
		}
		if msg := err.Error(); !strings.Contains(msg, "LATCHKEY_ROOT_KEY") || !strings.Contains(msg, "32") {
			t.Errorf("error %q does not say that LATCHKEY_ROOT_KEY needs 32 characters", msg)
		}
		if strings.Contains(err.Error(), "tooshort10") {
			t.Error("the error echoes the rejected root key")
		}
		// Configuration is checked before anything is written.
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the data directory was created although the configuration is invalid (stat: %v)", err)
		}
	})
}

// TestE2E_RootKeyFile: the generated root key is written with mode 0600 and
// printed exactly once; a second start on the same data directory prints
// nothing and accepts the same key.
func TestE2E_RootKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1 := startServer(t, server.Config{DataDir: dir, OutIsTerminal: true})
	path := filepath.Join(dir, server.RootKeyFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %v, want 0600", server.RootKeyFile, mode)
	}
	if n := strings.Count(s1.Out.String(), s1.Root); n != 1 {
		t.Errorf("first start printed the root key %d times, want once", n)
	}
	if n := strings.Count(s1.Logs.String(), s1.Root); n != 0 {
		t.Errorf("the root key is in the log %d times", n)
	}
	if _, err := s1.client(t, s1.Root).Self(ctx); err != nil {
		t.Fatalf("root key from %s does not authenticate: %v", server.RootKeyFile, err)
	}
	if err := s1.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	s2 := startServer(t, server.Config{DataDir: dir})
	if out := s2.Out.String(); out != "" {
		t.Errorf("second start printed %d bytes, want nothing", len(out))
	}
	if s2.Root != s1.Root {
		t.Errorf("root.key changed on restart: %s, then %s", fp(s1.Root), fp(s2.Root))
	}
	if _, err := s2.client(t, s1.Root).Self(ctx); err != nil {
		t.Fatalf("root key does not authenticate after restart: %v", err)
	}
	keys := s2.allKeys(t, client.KeyListOptions{Keyspace: "latchkey"})
	if len(keys) != 1 {
		t.Errorf("%d management keys after restart, want the one root key", len(keys))
	}
}

// TestRootKeyNotShownOffTerminal: when Out is not a terminal (container
// logs keep stdout), a generated root key is not printed; the output says
// where root.key is instead.
func TestRootKeyNotShownOffTerminal(t *testing.T) {
	s := startServer(t, server.Config{})
	out := s.Out.String()
	if strings.Contains(out, s.Root) || strings.Contains(out, secretPart(t, s.Root)) {
		t.Error("the generated root key was printed to an output that is not a terminal")
	}
	if !strings.Contains(out, filepath.Join(s.DataDir, server.RootKeyFile)) {
		t.Errorf("the announcement does not name the root.key file: %q", out)
	}
}

// TestRootKeyChangeReplacesOld: changing LATCHKEY_ROOT_KEY and restarting
// revokes the previous value's credential (audited as key.revoke by
// system) instead of adding a second admin key; restarting again with the
// same value changes nothing.
func TestRootKeyChangeReplacesOld(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldRoot := "operator-root-one-" + strings.Repeat("a", 20)
	newRoot := "operator-root-two-" + strings.Repeat("b", 20)

	s1 := startServer(t, server.Config{DataDir: dir, RootKey: oldRoot})
	me, err := s1.client(t, oldRoot).Self(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldID := me.KeyID
	if err := s1.Stop(); err != nil {
		t.Fatal(err)
	}

	for start := range 2 {
		s := startServer(t, server.Config{DataDir: dir, RootKey: newRoot})
		if _, err := s.client(t, oldRoot).Self(ctx); func() bool { e, ok := errors.AsType[*client.Error](err); return !ok || e.Status != 401 }() {
			t.Errorf("start %d: the old root key still authenticates (err %v)", start+2, err)
		}
		c := s.client(t, newRoot)
		if _, err := c.Self(ctx); err != nil {
			t.Fatalf("start %d: the new root key does not authenticate: %v", start+2, err)
		}
		active := s.allKeys(t, client.KeyListOptions{Keyspace: "latchkey", State: "active"})
		if len(active) != 1 {
			t.Errorf("start %d: %d active management keys, want the one root key", start+2, len(active))
		}
		evs, err := c.Audit(ctx, client.AuditListOptions{Action: "key.revoke", TargetID: oldID})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs.Items) != 1 || evs.Items[0].Actor != "system" {
			t.Errorf("start %d: key.revoke events of the old root key: %+v, want one by system", start+2, evs.Items)
		}
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
	}
}
