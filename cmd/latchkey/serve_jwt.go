package main

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
)

// jwtFlags are serve's settings for JWTs and their signing keys.
type jwtFlags struct {
	issuer, alg            *string
	period, lead, tokenTTL *time.Duration
	// OAuth
	accessTTL, refreshGrace, refreshIdle, refreshTTL *time.Duration
	requirePAR                                       *bool
	dpopNonce                                        *bool
	outboundPrivate                                  *bool
	webhookPoll, webhookRetryBase                    *time.Duration
	auditEvery                                       *int64
	auditInterval                                    *time.Duration
}

func addJWTFlags(fs *flag.FlagSet, env func(string) string) (*jwtFlags, error) {
	f := &jwtFlags{
		issuer: fs.String("issuer", env("LATCHKEY_ISSUER"), "iss of issued JWTs and base of the well-known URLs, e.g. https://auth.example.com (env LATCHKEY_ISSUER; default: from --addr)"),
		alg:    fs.String("signing-alg", envOr(env, "LATCHKEY_SIGNING_ALG", signer.EdDSA), "algorithm of new JWT signing keys: EdDSA, ES256 or RS256 (env LATCHKEY_SIGNING_ALG)"),
	}
	var err error
	durFlag := func(name, envName string, def time.Duration, usage string) *time.Duration {
		d := def
		if v := env(envName); v != "" {
			p, perr := time.ParseDuration(v)
			if perr != nil && err == nil {
				err = fmt.Errorf("%s: %q is not a duration (e.g. 24h)", envName, v)
			}
			d = p
		}
		return fs.Duration(name, d, usage+" (env "+envName+")")
	}
	f.period = durFlag("signing-key-period", "LATCHKEY_SIGNING_KEY_PERIOD", signer.SignPeriod, "how long a JWT signing key signs before the next one takes over")
	f.lead = durFlag("signing-key-lead", "LATCHKEY_SIGNING_KEY_LEAD", signer.JWKSCacheTTL, "how long a new signing key is published in the JWKS before it signs (the JWKS may be cached for half of it)")
	f.dpopNonce = fs.Bool("dpop-nonce", env("LATCHKEY_DPOP_NONCE") == "true", "demand a server nonce (DPoP-Nonce) in DPoP proofs at the token endpoint (env LATCHKEY_DPOP_NONCE=true)")
	f.tokenTTL = durFlag("token-ttl", "LATCHKEY_TOKEN_TTL", 5*time.Minute, "default lifetime of JWTs from POST /v1/tokens (at most 1h)")
	f.accessTTL = durFlag("oauth-access-token-ttl", "LATCHKEY_OAUTH_ACCESS_TOKEN_TTL", time.Hour, "lifetime of OAuth access tokens (at most 1h)")
	f.refreshGrace = durFlag("oauth-refresh-grace", "LATCHKEY_OAUTH_REFRESH_GRACE", 10*time.Second, "a rotated-out refresh token presented again by its client within this gets the same new pair instead of revoking the grant (0: none)")
	f.refreshIdle = durFlag("oauth-refresh-idle-ttl", "LATCHKEY_OAUTH_REFRESH_IDLE_TTL", 30*24*time.Hour, "refresh tokens unused this long stop working")
	f.refreshTTL = durFlag("oauth-refresh-ttl", "LATCHKEY_OAUTH_REFRESH_TTL", 90*24*time.Hour, "a grant's refresh tokens stop working this long after the sign-in")
	f.requirePAR = fs.Bool("oauth-require-par", envOr(env, "LATCHKEY_OAUTH_REQUIRE_PAR", "") == "true", "refuse authorization requests not pushed to /oauth2/par first (env LATCHKEY_OAUTH_REQUIRE_PAR=true)")
	f.outboundPrivate = fs.Bool("outbound-allow-private", envOr(env, "LATCHKEY_OUTBOUND_ALLOW_PRIVATE", "") == "true", "let webhooks and back-channel logout reach loopback and private addresses, and webhooks use plain http (env LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true)")
	f.webhookPoll = durFlag("webhook-poll", "LATCHKEY_WEBHOOK_POLL", time.Second, "how often each node reads the webhook outbox")
	f.webhookRetryBase = durFlag("webhook-retry-base", "LATCHKEY_WEBHOOK_RETRY_BASE", 10*time.Second, "the first wait before a failed webhook delivery is retried; it doubles up to 6h, for about three days")
	every := int64(auditlog.DefaultEvery)
	if v := env("LATCHKEY_AUDIT_CHECKPOINT_EVERY"); v != "" {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil && err == nil {
			err = fmt.Errorf("LATCHKEY_AUDIT_CHECKPOINT_EVERY: %q is not a number of records", v)
		}
		every = n
	}
	f.auditEvery = fs.Int64("audit-checkpoint-every", every, "sign an audit checkpoint after this many new records (env LATCHKEY_AUDIT_CHECKPOINT_EVERY)")
	f.auditInterval = durFlag("audit-checkpoint-interval", "LATCHKEY_AUDIT_CHECKPOINT_INTERVAL", auditlog.DefaultInterval, "sign an audit checkpoint this long after the last one when the log grew (and always at shutdown)")
	return f, err
}

// apply checks the flags and writes them, with the master key, into cfg.
func (f *jwtFlags) apply(cfg *server.Config, env func(string) string) error {
	switch *f.alg {
	case signer.EdDSA, signer.ES256, signer.RS256:
	default:
		return fmt.Errorf("--signing-alg must be EdDSA, ES256 or RS256")
	}
	switch {
	case *f.lead < time.Second:
		return fmt.Errorf("--signing-key-lead must be at least 1s")
	case *f.period < 2**f.lead:
		return fmt.Errorf("--signing-key-period must be at least twice --signing-key-lead")
	case *f.tokenTTL < time.Second || *f.tokenTTL > signer.MaxTokenTTL:
		return fmt.Errorf("--token-ttl must be between 1s and 1h")
	}
	switch {
	case *f.accessTTL < time.Second || *f.accessTTL > signer.MaxTokenTTL:
		return fmt.Errorf("--oauth-access-token-ttl must be between 1s and 1h")
	case *f.refreshGrace < 0 || *f.refreshGrace > time.Minute:
		return fmt.Errorf("--oauth-refresh-grace must be between 0s and 1m")
	case *f.refreshIdle < time.Minute || *f.refreshTTL < time.Minute || *f.refreshTTL > oauth.MaxRefreshTTL:
		return fmt.Errorf("--oauth-refresh-idle-ttl and --oauth-refresh-ttl must be at least 1m, and --oauth-refresh-ttl at most 5 years")
	}
	cfg.OAuth = server.OAuthConfig{AccessTokenTTL: *f.accessTTL, RefreshGrace: *f.refreshGrace, RefreshIdleTTL: *f.refreshIdle,
		RefreshTTL: *f.refreshTTL, RequirePAR: *f.requirePAR, OutboundAllowPrivate: *f.outboundPrivate}
	if *f.webhookPoll < 10*time.Millisecond || *f.webhookRetryBase < 10*time.Millisecond {
		return fmt.Errorf("--webhook-poll and --webhook-retry-base must be at least 10ms")
	}
	cfg.Webhooks = server.WebhooksConfig{Poll: *f.webhookPoll, RetryBase: *f.webhookRetryBase}
	if *f.auditEvery < 1 || *f.auditInterval < time.Second {
		return fmt.Errorf("--audit-checkpoint-every must be at least 1 and --audit-checkpoint-interval at least 1s")
	}
	cfg.AuditCheckpointEvery, cfg.AuditCheckpointInterval = *f.auditEvery, *f.auditInterval
	if *f.refreshGrace == 0 {
		cfg.OAuth.RefreshGrace = -1 // none (zero means the default)
	}
	cfg.Issuer, cfg.SigningAlg = *f.issuer, *f.alg
	cfg.SigningKeyPeriod, cfg.SigningKeyLead, cfg.TokenTTL = *f.period, *f.lead, *f.tokenTTL
	cfg.DPoPNonce = *f.dpopNonce
	mk, err := secretFromEnv(env, "LATCHKEY_MASTER_KEY")
	if err != nil {
		return err
	}
	if mk != "" {
		k, err := signer.ParseMasterKey(mk)
		if err != nil {
			return fmt.Errorf("LATCHKEY_MASTER_KEY: %w", err)
		}
		cfg.MasterKey = &k
	}
	return nil
}
