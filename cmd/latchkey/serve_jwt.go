package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/signer"
)

// jwtFlags are serve's settings for JWTs and their signing keys.
type jwtFlags struct {
	issuer, alg            *string
	period, lead, tokenTTL *time.Duration
	dpopNonce              *bool
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
