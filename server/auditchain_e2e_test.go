package server_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/store/sqlstore"
)

// The server signs a checkpoint of the audit log at start (the log has the
// root key's record) and at shutdown; the note served at
// /v1/audit/checkpoint verifies the stored log after the server stopped.
func TestAuditChain_ServerCheckpointsAtStartAndShutdown(t *testing.T) {
	s := startServer(t, server.Config{})
	ctx := context.Background()
	root := s.client(t, s.Root)
	saved, err := root.AuditCheckpoint(ctx)
	if err != nil || saved.Size < 1 {
		t.Fatalf("AuditCheckpoint: %+v %v", saved, err)
	}
	for range 3 {
		if _, err := root.CreateKey(ctx, api.CreateKeyRequest{Scopes: []string{"orders:read"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(s.DataDir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tree, err := db.AuditSource().Tree(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last, err := db.AuditSource().LatestCheckpoint(ctx)
	if err != nil || last.Size != tree.Size || tree.Size < saved.Size+3 {
		t.Fatalf("after shutdown: latest checkpoint %+v %v, tree of %d, want a checkpoint of the whole tree", last, err, tree.Size)
	}
	var rep *auditlog.Report
	if err := db.ReadAudit(ctx, func(r *sqlstore.AuditReader) error {
		rep, err = auditlog.Verify(ctx, r, auditlog.VerifyOptions{Checkpoint: []byte(saved.Note)})
		return err
	}); err != nil || rep.Failure != nil || !rep.Operator {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
}
