package server

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// MasterKeyFile is the name of the file in the data directory that holds a
// generated master key (embedded setup only).
const MasterKeyFile = "master.key"

// masterKey returns the key that seals signing keys: the configured one, or
// for the embedded setup the one in <data-dir>/master.key, created on first
// start with a loud warning. Nodes sharing PostgreSQL must all be given the
// same key, so there it is required.
func masterKey(c Config) ([signer.MasterKeySize]byte, error) {
	if c.MasterKey != nil {
		return *c.MasterKey, nil
	}
	if c.DatabaseURL != "" {
		return [signer.MasterKeySize]byte{}, errors.New("LATCHKEY_MASTER_KEY (or LATCHKEY_MASTER_KEY_FILE) is required with PostgreSQL: " +
			"every node must seal and open the JWT signing keys with the same key; create one with `head -c 32 /dev/urandom | base64`")
	}
	path := filepath.Join(c.DataDir, MasterKeyFile)
	k, created, err := signer.LoadOrCreateMasterKey(path)
	if err != nil {
		return k, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		c.Log.Warn("the master key file is readable by other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
	if created {
		c.Log.Warn("generated a new master key: BACK IT UP. Without it the JWT signing keys in the database cannot be read; "+
			"to run several nodes or restore a backup, pass it as LATCHKEY_MASTER_KEY_FILE", "path", path)
	}
	return k, nil
}

// startSigner loads the signing-key ring (creating the first key if there
// is none) and keeps it in step with the store and the schedule until ctx
// ends.
func startSigner(ctx, runCtx context.Context, c Config, mk [signer.MasterKeySize]byte, store token.SigningKeyStore) (*signer.Manager, error) {
	m, err := signer.NewManager(signer.ManagerConfig{
		Store: store, MasterKey: mk, Alg: c.SigningAlg, Log: c.Log,
		Schedule: signer.Schedule{Lead: c.SigningKeyLead, Period: c.SigningKeyPeriod},
	})
	if err != nil {
		return nil, err
	}
	if _, err := m.Ensure(ctx); err != nil {
		return nil, err
	}
	// Other nodes' rotations are picked up within a tenth of the lead (long
	// before their new key signs) and at most 10 s (an immediate rotation
	// withdraws keys at once).
	interval := min(m.Schedule().Lead/10, 10*time.Second)
	interval = max(interval, 100*time.Millisecond)
	go m.Run(runCtx, interval)
	return m, nil
}

// defaultIssuer derives the JWT issuer from the listening address when none
// is configured: fine on one machine, wrong behind a proxy or load
// balancer, where LATCHKEY_ISSUER must name the public URL.
func defaultIssuer(c Config, addr net.Addr) string {
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// pruneNonces deletes expired nonces of signed requests, and expired
// answers of idempotent calls.
func pruneNonces(ctx context.Context, svc *token.Service) error {
	_, err := svc.PruneNonces(ctx)
	_, err2 := svc.PruneIdempotency(ctx)
	return errors.Join(err, err2)
}
