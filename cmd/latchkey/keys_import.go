package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/latchkey/latchkey/api"
)

// importBatch is how many keys go into one POST /v1/keys/import.
const importBatch = 1000

// keysImport reads JSON Lines of api.ImportKey ({"hash": "<sha256 hex>",
// "name": …}) and imports them in batches; each batch is all or nothing.
func keysImport(c *cli, f *cmdFlags, args []string) error {
	keyspace := f.String("keyspace", "", "`keyspace` to import into (default: default)")
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	in := c.stdin
	if pos[0] != "-" {
		file, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer file.Close()
		in = file
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	total := 0
	var ids []string
	flush := func(batch []api.ImportKey) error {
		if len(batch) == 0 {
			return nil
		}
		res, err := cl.ImportKeys(c.ctx, api.ImportKeysRequest{Keyspace: *keyspace, Keys: batch})
		if err != nil {
			return fmt.Errorf("after %d imported keys: %w", total, err)
		}
		total += res.Imported
		ids = append(ids, res.IDs...)
		return nil
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var batch []api.ImportKey
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var k api.ImportKey
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&k); err != nil {
			return usagef("line %d: %v", line, err)
		}
		if batch = append(batch, k); len(batch) == importBatch {
			if err := flush(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		return err
	}
	if err := flush(batch); err != nil {
		return err
	}
	if f.json {
		return c.printJSON(api.ImportKeysResponse{Imported: total, IDs: ids})
	}
	_, err = fmt.Fprintf(c.stdout, "Imported %d keys.\n", total)
	return err
}
