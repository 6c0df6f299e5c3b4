package main

import (
	"fmt"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
)

func keysCreate(c *cli, f *cmdFlags, args []string) error {
	keyspace := f.String("keyspace", "", "`keyspace` of the key (default: the server's default keyspace)")
	name := f.String("name", "", "human-readable `name`")
	owner := f.String("owner", "", "`owner` the key acts for: user:ID or app:ID")
	var scopes listFlag
	f.listFlags(&scopes, "scope", "scopes", "`scope` granted to the key")
	expiresIn := f.String("expires-in", "", "lifetime as a Go `duration`, e.g. 720h")
	expiresAt := f.String("expires-at", "", "expiry `time` (RFC 3339)")
	metadata := f.String("metadata", "", "JSON `object` stored with the key")
	remaining := f.String("remaining", "", "number of uses `N` before the key stops working")
	idem := f.String("idempotency-key", "", "Idempotency-Key header: a retry with the same `value` returns the first key")
	limits := rateLimitFlags(f, "ratelimit", "a rate limit of the key (default: the keyspace's)", "", "")
	var ipAllow listFlag
	f.Var(commaList{&ipAllow}, "ip-allow", "`CIDR` (or address) the key may be used from; repeatable or a comma-separated list (default: anywhere)")
	refill := f.String("refill", "", "`INTERVAL:AMOUNT` that resets --remaining every day or month (00:00 UTC), e.g. daily:1000 or monthly:50000")
	signing := f.Bool("signing-secret", false, "give the key a request-signing secret (shown once): it is then valid only on requests signed with it (RFC 9421 hmac-sha256)")
	dpopJKT := f.String("dpop-jkt", "", "bind the key to a DPoP key: the base64url SHA-256 `thumbprint` (RFC 7638) of its public key; the key is then valid only with a DPoP proof of it (RFC 9449)")
	if _, err := c.parse(f, args); err != nil {
		return err
	}
	req := api.CreateKeyRequest{Keyspace: *keyspace, Name: *name, Scopes: scopes.vals, SigningSecret: *signing, DPoPJKT: *dpopJKT}
	var err error
	if err := limitFlags(&req, limits, "ip-allow", ipAllow, *refill); err != nil {
		return err
	}
	if *owner != "" {
		if req.Owner, err = parseOwner(*owner); err != nil {
			return err
		}
	}
	if *expiresIn != "" && *expiresAt != "" {
		return usagef("use --expires-in or --expires-at, not both")
	}
	if *expiresIn != "" {
		if d, err := api.ParseDuration(*expiresIn); err != nil || d <= 0 {
			return usagef("--expires-in must be a positive duration up to 100 years such as 720h or 30d, not %q", *expiresIn)
		}
		req.ExpiresIn = api.Lifetime(*expiresIn)
	}
	if *expiresAt != "" {
		t, err := parseTime("expires-at", *expiresAt)
		if err != nil {
			return err
		}
		req.ExpiresAt = &t
	}
	if *metadata != "" {
		if req.Metadata, err = parseObject("metadata", *metadata); err != nil {
			return err
		}
	}
	if *remaining != "" {
		n, err := parseCount("remaining", *remaining)
		if err != nil {
			return err
		}
		req.Remaining = &n
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	var opts []client.CallOption
	if *idem != "" {
		opts = append(opts, client.WithIdempotencyKey(*idem))
	}
	k, err := cl.CreateKey(c.ctx, req, opts...)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(k)
	}
	fmt.Fprintf(c.stdout, "Created key %s%s in keyspace %s, expires %s.\n", k.ID, quoted(k.Name), k.Keyspace, optTime(k.ExpiresAt, "never"))
	c.printSecret(k.Secret)
	c.printSigningSecret(k.ID, k.SigningSecret)
	return nil
}

// limitFlags sets the rate limits, IP allowlist and refill of a new key.
func limitFlags(req *api.CreateKeyRequest, limits func() (*[]api.RateLimit, error), ipFlag string, ipAllow listFlag, refill string) error {
	rls, err := limits()
	if err != nil {
		return err
	}
	if rls != nil {
		req.RateLimits = *rls
	}
	if ipAllow.set {
		if req.IPAllow, err = parseIPAllow(ipFlag, ipAllow.vals); err != nil {
			return err
		}
	}
	if refill != "" {
		if req.Refill, err = parseRefill("refill", refill); err != nil {
			return err
		}
	}
	return nil
}

func keysRotate(c *cli, f *cmdFlags, args []string) error {
	graceFlag := f.String("grace-period", "", "how long the old key keeps working as a `duration`, e.g. 1h or 30d (default: the server's)")
	idem := idempotencyFlag(f)
	pos, err := c.parse(f, args)
	if err != nil {
		return err
	}
	// The one duration parser, as for --expires-in: days ("30d") are
	// accepted and out-of-range values refused before anything is sent.
	var grace time.Duration
	if *graceFlag != "" {
		if grace, err = api.ParseDuration(*graceFlag); err != nil {
			return usagef("--grace-period must be a non-negative duration up to 100 years such as 1h or 30d, not %q", *graceFlag)
		}
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	r, err := cl.RotateKey(c.ctx, pos[0], grace, idem()...)
	if err != nil {
		return err
	}
	if f.json {
		return c.printJSON(r)
	}
	fmt.Fprintf(c.stdout, "Rotated key %s to %s%s in keyspace %s, expires %s.\n", r.Previous.ID, r.ID, quoted(r.Name), r.Keyspace, optTime(r.ExpiresAt, "never"))
	fmt.Fprintf(c.stdout, "The old key %s is %s, expires %s.\n", r.Previous.ID, r.Previous.State, optTime(r.Previous.ExpiresAt, "never"))
	c.printSecret(r.Secret)
	c.printSigningSecret(r.ID, r.SigningSecret)
	return nil
}

// printSigningSecret shows a key's new request-signing secret, if any.
func (c *cli) printSigningSecret(keyID, secret string) {
	if secret == "" {
		return
	}
	fmt.Fprintf(c.stdout, "\nRequest-signing secret (sign requests with keyid %q; shown once):\n\n    %s\n", keyID, secret)
}

// printSecret shows a new key's plaintext on a line of its own.
func (c *cli) printSecret(secret string) {
	fmt.Fprintf(c.stdout, "\n    %s\n\nStore it now: it will not be shown again.\n", secret)
}

// quoted returns ` "name"` for a non-empty name.
func quoted(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}

// idempotencyFlag adds --idempotency-key to f. Without it the client picks
// a random key per invocation and retries with it; with it, a script that
// reruns the command after a failure gets the first answer again.
func idempotencyFlag(f *cmdFlags) func() []client.CallOption {
	v := f.String("idempotency-key", "", "Idempotency-Key header: a rerun with the same `value` gets the first answer (default: a random key per invocation, kept for its retries)")
	return func() []client.CallOption {
		if *v == "" {
			return nil
		}
		return []client.CallOption{client.WithIdempotencyKey(*v)}
	}
}
