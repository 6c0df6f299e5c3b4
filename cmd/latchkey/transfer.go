package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/transfer"
)

var (
	exportCommand = subcommand{name: "export",
		summary: "Write the whole installation — keyspaces, principals, keys (digests, never plaintexts), usage counts and the audit log — as JSON Lines, to move it to another backend with 'latchkey import'. Stop the servers first for an exact copy. The output holds key digests and the audit log: protect it like the database.",
		examples: "  latchkey export --data-dir /var/lib/latchkey -o latchkey.jsonl\n" +
			"  LATCHKEY_DATABASE_URL=postgres://… latchkey export -o - | gzip > latchkey.jsonl.gz"}
	importCommand = subcommand{name: "import", args: "FILE|-",
		summary: "Load an export written by 'latchkey export' into an empty store (no keys, principals or audit events), key digests, IDs, versions and times exactly as exported. Import before the first 'latchkey serve' on the destination (serve creates a root key, so the store is no longer empty). The export's JWT signing keys and audit signing key are sealed with the old installation's master key: give it as LATCHKEY_MASTER_KEY_FILE (or LATCHKEY_MASTER_KEY; for SQLite it may instead be <data-dir>/master.key), and use the same key for serve. Import checks that it opens every signing key (and the audit key) before it writes anything.",
		examples: "  latchkey import --database-url postgres://… latchkey.jsonl\n" +
			"  gunzip -c latchkey.jsonl.gz | latchkey import --data-dir ./new-data -"}
)

// progress returns the transfer progress callback printing to stderr.
func (c *cli) progress(cmd, verb string) func(transfer.Counts, bool) {
	return func(n transfer.Counts, done bool) {
		if done {
			fmt.Fprintf(c.stderr, "latchkey %s: %s %d records (%d keyspaces, %d principals, %d keys, %d signing keys, %d audit events)\n",
				cmd, verb, n.Total(), n.Keyspaces, n.Principals, n.Keys, n.SigningKeys, n.Audit)
			return
		}
		fmt.Fprintf(c.stderr, "latchkey %s: %d records…\n", cmd, n.Total())
	}
}

// runExport is "latchkey export".
func runExport(c *cli, args []string) (err error) {
	f, s := c.localFlags("export", exportCommand)
	out := f.String("o", "-", "output `file` (created 0600), or - for standard output")
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	db, err := s.open(c.ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	w := c.stdout
	if *out != "-" {
		var file *os.File
		file, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: not overwriting it", *out)
		}
		if err != nil {
			return err
		}
		defer func() {
			if cerr := file.Close(); err == nil && cerr != nil {
				err = cerr
			}
			if err != nil {
				os.Remove(*out) // no partial export left behind
			}
		}()
		w = file
	}
	fmt.Fprintf(c.stderr, "latchkey export: warning: the export holds key digests and the audit log; keep it as private as the database\n")
	_, err = transfer.Export(c.ctx, db, w, transfer.Options{Progress: c.progress("export", "wrote")})
	return err
}

// runImport is "latchkey import".
func runImport(c *cli, args []string) error {
	f, s := c.localFlags("import", importCommand)
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	// The input is read twice — once to check the signing keys, once to
	// import — so standard input is spooled to a private temporary file.
	var file *os.File
	if pos[0] == "-" {
		if file, err = spool(c.stdin); err != nil {
			return err
		}
		defer os.Remove(file.Name())
	} else if file, err = os.Open(pos[0]); err != nil {
		return err
	}
	defer file.Close()
	if err := s.checkMasterKey(file); err != nil {
		return err // nothing has been written
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	var r io.Reader = file
	db, err := s.open(c.ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = transfer.Import(c.ctx, db, r, transfer.Options{Progress: c.progress("import", "stored")})
	return err
}

// spool copies r into a new temporary file (mode 0600) and returns it,
// positioned at the start. The caller removes it.
func spool(r io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "latchkey-import-*.jsonl")
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// checkMasterKey reads the export's signing keys and checks that the
// master key the destination will be served with opens each of them:
// LATCHKEY_MASTER_KEY or LATCHKEY_MASTER_KEY_FILE, or — for SQLite — an
// existing <data-dir>/master.key. An export without signing keys needs
// none. It writes nothing.
func (s *storeConfig) checkMasterKey(r io.Reader) error {
	recs, auditKeys, err := transfer.SealedKeys(r)
	if err != nil {
		return err
	}
	var sealedAudit []auditlog.StoredKey
	for _, k := range auditKeys {
		if len(k.Sealed) > 0 {
			sealedAudit = append(sealedAudit, k)
		}
	}
	if len(recs) == 0 && len(sealedAudit) == 0 {
		return nil
	}
	enc, err := secretFromEnv(s.getenv, "LATCHKEY_MASTER_KEY")
	if err != nil {
		return usagef("%v", err)
	}
	source := "LATCHKEY_MASTER_KEY"
	if s.getenv("LATCHKEY_MASTER_KEY_FILE") != "" {
		source = "LATCHKEY_MASTER_KEY_FILE"
	}
	postgres := s.databaseURL != "" || s.getenv("LATCHKEY_DATABASE_URL") != "" || s.getenv("LATCHKEY_DATABASE_URL_FILE") != ""
	if enc == "" && !postgres {
		path := filepath.Join(s.dataDir, server.MasterKeyFile)
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		enc, source = string(b), path
	}
	if enc == "" {
		return usagef("the export holds %d JWT signing keys and %d audit signing keys sealed with the old installation's master key: "+
			"set LATCHKEY_MASTER_KEY_FILE to that key (the old <data-dir>/master.key) before importing, and serve with the same key; nothing was written", len(recs), len(sealedAudit))
	}
	mk, err := signer.ParseMasterKey(enc)
	if err != nil {
		return usagef("%s: %v; nothing was written", source, err)
	}
	for _, rec := range recs {
		if _, err := signer.Open(mk, rec.Sealed); err != nil {
			return usagef("the master key from %s does not open signing key %s of the export: use the master key of the installation that wrote it; nothing was written", source, rec.KID)
		}
	}
	box, err := seal.New(mk)
	if err != nil {
		return err
	}
	for _, k := range sealedAudit {
		if _, err := auditlog.OpenKey(box, k); err != nil {
			return usagef("the master key from %s does not open the audit signing key of the export: use the master key of the installation that wrote it; nothing was written", source)
		}
	}
	return nil
}
