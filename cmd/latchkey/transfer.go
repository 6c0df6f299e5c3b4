package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/latchkey/latchkey/store/transfer"
)

var (
	exportCommand = subcommand{name: "export",
		summary: "Write the whole installation — keyspaces, principals, keys (digests, never plaintexts), usage counts and the audit log — as JSON Lines, to move it to another backend with 'latchkey import'. Stop the servers first for an exact copy. The output holds key digests and the audit log: protect it like the database.",
		examples: "  latchkey export --data-dir /var/lib/latchkey -o latchkey.jsonl\n" +
			"  LATCHKEY_DATABASE_URL=postgres://… latchkey export -o - | gzip > latchkey.jsonl.gz"}
	importCommand = subcommand{name: "import", args: "FILE|-",
		summary: "Load an export written by 'latchkey export' into an empty store (no keys, principals or audit events), key digests, IDs, versions and times exactly as exported.",
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
	var r io.Reader = c.stdin
	if pos[0] != "-" {
		file, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer file.Close()
		r = file
	}
	db, err := s.open(c.ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = transfer.Import(c.ctx, db, r, transfer.Options{Progress: c.progress("import", "stored")})
	return err
}
