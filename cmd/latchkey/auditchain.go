package main

import (
	"fmt"
	"os"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/store/sqlstore"
)

// auditCheckpoint is "latchkey audit checkpoint": the latest signed note,
// through the API.
func auditCheckpoint(c *cli, f *cmdFlags, args []string) error {
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	cp, err := cl.AuditCheckpoint(c.ctx)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(cp)
	}
	_, err = fmt.Fprint(c.stdout, cp.Note)
	return err
}

// auditVerifyCommand is "latchkey audit verify", which works on the store.
func auditVerifyCommand() subcommand {
	return subcommand{name: "verify",
		summary: "Recompute the audit log's Merkle tree from the stored records and check it against the stored hashes, every stored checkpoint (signature and root) and, with --checkpoint, one saved elsewhere. Works on the store directly (like export); the master key is not needed. On a mismatch it names the first record that does not match and exits with status 1.",
		examples: "  latchkey audit verify --data-dir /var/lib/latchkey\n" +
			"  latchkey audit verify --checkpoint checkpoint-2026-01-31.txt --key \"$(cat audit-key.txt)\"\n" +
			"  LATCHKEY_DATABASE_URL=postgres://… latchkey audit verify --checkpoint saved.txt",
		run: runAuditVerify}
}

// runAuditVerify is "latchkey audit verify".
func runAuditVerify(c *cli, _ *cmdFlags, args []string) error {
	f, s := c.localFlags("audit verify", auditVerifyCommand())
	cpFile := f.String("checkpoint", "", "a signed checkpoint `file` saved earlier ('latchkey audit checkpoint')")
	key := f.String("key", "", "the audit `verifier` key ('GET /v1/audit/key') the saved checkpoint must be signed by; default: the keys in the store")
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	var opt auditlog.VerifyOptions
	if *cpFile != "" {
		b, err := os.ReadFile(*cpFile)
		if err != nil {
			return usagef("--checkpoint: %v", err)
		}
		opt.Checkpoint = b
	}
	if *key != "" {
		opt.Verifiers = []string{*key}
	}
	db, err := s.open(c.ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	sdb, ok := db.(*sqlstore.DB)
	if !ok {
		return fmt.Errorf("the %T store keeps no audit chain", db)
	}
	var rep *auditlog.Report
	if err := sdb.ReadAudit(c.ctx, func(r *sqlstore.AuditReader) error {
		rep, err = auditlog.Verify(c.ctx, r, opt)
		return err
	}); err != nil {
		return err
	}
	if rep.Failure != nil {
		fmt.Fprintf(c.stderr, "latchkey audit verify: FAILED: %v\n", rep.Failure)
		return exited(exitInvalid)
	}
	fmt.Fprintf(c.stdout, "audit log verified: %d records, %d stored checkpoints", rep.Size, rep.Checkpoints)
	if rep.Operator {
		fmt.Fprint(c.stdout, ", and the saved checkpoint")
	}
	_, err = fmt.Fprintln(c.stdout)
	return err
}
