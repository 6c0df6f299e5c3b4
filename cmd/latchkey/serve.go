package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/server"
)

// runServe implements `latchkey serve`.
func runServe(args []string) int {
	return serve(context.Background(), args, os.Stdout, os.Stderr, os.Getenv)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr(env, "LATCHKEY_ADDR", "127.0.0.1:8080"), "listen address (env LATCHKEY_ADDR)")
	dataDir := fs.String("data-dir", envOr(env, "LATCHKEY_DATA_DIR", "./latchkey-data"), "data directory (env LATCHKEY_DATA_DIR)")
	tlsCert := fs.String("tls-cert", env("LATCHKEY_TLS_CERT"), "TLS certificate PEM file (env LATCHKEY_TLS_CERT)")
	tlsKey := fs.String("tls-key", env("LATCHKEY_TLS_KEY"), "TLS private key PEM file (env LATCHKEY_TLS_KEY)")
	logFormat := fs.String("log-format", env("LATCHKEY_LOG_FORMAT"), "log format: json or text (env LATCHKEY_LOG_FORMAT; default json unless stderr is a terminal)")
	logLevel := fs.String("log-level", envOr(env, "LATCHKEY_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env LATCHKEY_LOG_LEVEL)")
	databaseURL := fs.String("database-url", env("LATCHKEY_DATABASE_URL"), "PostgreSQL URL (postgres://…): store in PostgreSQL instead of SQLite; several nodes may share it (env LATCHKEY_DATABASE_URL)")
	redisURL := fs.String("redis-url", env("LATCHKEY_REDIS_URL"), "Redis URL: share rate limits between nodes (env LATCHKEY_REDIS_URL)")
	proxies := fs.String("trusted-proxies", env("LATCHKEY_TRUSTED_PROXIES"), "comma-separated CIDRs of proxies whose X-Forwarded-For is believed (env LATCHKEY_TRUSTED_PROXIES)")
	authFail := fs.String("failure-limit", env("LATCHKEY_FAILURE_LIMIT"), "bad management credentials allowed per client address, N/window (env LATCHKEY_FAILURE_LIMIT; default 10/1m)")
	githubKeys := fs.String("github-keys-url", envOr(env, "LATCHKEY_GITHUB_KEYS_URL", leak.DefaultGitHubKeysURL), "GitHub's secret scanning public keys, for POST /v1/leaks/github (env LATCHKEY_GITHUB_KEYS_URL)")
	verifyFail := fs.String("verify-failure-limit", env("LATCHKEY_VERIFY_FAILURE_LIMIT"), "unknown keys allowed per client address named in verify's ip, N/window (env LATCHKEY_VERIFY_FAILURE_LIMIT; default 100/1m)")
	jf, jerr := addJWTFlags(fs, env)
	pf := addProxyFlags(fs, env)
	sf := addPeopleFlags(fs, env)
	lf, lerr := addLeakFlags(fs, env)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: latchkey serve [flags]

Runs the latchkey server. With no configuration it stores everything in
SQLite under ./latchkey-data/ and, on first start, creates a root credential
(scope admin), prints it once and writes it to <data-dir>/root.key.

Environment: LATCHKEY_ROOT_KEY (or LATCHKEY_ROOT_KEY_FILE) sets the root
credential yourself (32+ characters). LATCHKEY_MASTER_KEY (or
LATCHKEY_MASTER_KEY_FILE), 32 bytes in base64 or hex, seals the JWT signing
keys; required with PostgreSQL, otherwise generated into
<data-dir>/master.key on first start (back it up).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if jerr != nil {
		fmt.Fprintln(stderr, "serve:", jerr)
		return 2
	}
	if lerr != nil {
		fmt.Fprintln(stderr, "serve:", lerr)
		return 2
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	rootKey, err := secretFromEnv(env, "LATCHKEY_ROOT_KEY")
	if err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	cfg := server.Config{
		Addr: *addr, DataDir: *dataDir, TLSCert: *tlsCert, TLSKey: *tlsKey,
		RootKey: rootKey, RedisURL: *redisURL, Log: log, Out: stdout,
		DatabaseSchema: env("LATCHKEY_DATABASE_SCHEMA"),
	}
	if cfg.DatabaseURL, err = secretFromEnv(func(n string) string {
		if n == "LATCHKEY_DATABASE_URL" {
			return *databaseURL
		}
		return env(n)
	}, "LATCHKEY_DATABASE_URL"); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	if v := env("LATCHKEY_DATABASE_POOL_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fmt.Fprintln(stderr, "serve: LATCHKEY_DATABASE_POOL_SIZE must be a number from 1 to 1000")
			return 2
		}
		cfg.DatabasePoolSize = n
	}
	if err := jf.apply(&cfg, env); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	if err := pf.apply(&cfg); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	if err := sf.apply(&cfg, env); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	if err := lf.apply(&cfg); err != nil {
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	cfg.GitHubKeysURL = *githubKeys
	if cfg.TrustedProxies, err = parsePrefixes(*proxies); err != nil {
		fmt.Fprintln(stderr, "serve: --trusted-proxies:", err)
		return 2
	}
	if cfg.AuthFailureLimit, err = parseFailureLimit("auth_failures", *authFail); err != nil {
		fmt.Fprintln(stderr, "serve: --failure-limit:", err)
		return 2
	}
	if cfg.VerifyFailureLimit, err = parseFailureLimit("verify_failures", *verifyFail); err != nil {
		fmt.Fprintln(stderr, "serve: --verify-failure-limit:", err)
		return 2
	}
	cfg.OutIsTerminal = isTerminal(stdout)
	cfg.OfferSetup = true
	if err := cfg.Validate(); err != nil { // before anything is written
		fmt.Fprintln(stderr, "serve:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = server.Run(ctx, cfg)
	if err != nil {
		log.Error("serve failed", "err", err)
		return 4
	}
	return 0
}

// parsePrefixes parses a comma-separated list of CIDR prefixes or
// addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix or address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// parseFailureLimit parses "N/window" (e.g. "10/1m"); "" is the default.
func parseFailureLimit(name, s string) (ratelimit.Limit, error) {
	if s == "" {
		return ratelimit.Limit{}, nil
	}
	n, w, ok := strings.Cut(s, "/")
	limit, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil {
		return ratelimit.Limit{}, fmt.Errorf("%q: want N/window, e.g. 10/1m", s)
	}
	window, err := time.ParseDuration(w)
	if err != nil {
		return ratelimit.Limit{}, fmt.Errorf("%q: bad window: %v", s, err)
	}
	l := ratelimit.Limit{Name: name, Limit: limit, Window: window}
	return l, l.Validate()
}

func envOr(env func(string) string, name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}

// secretFromEnv reads NAME, or the file named by NAME_FILE.
func secretFromEnv(env func(string) string, name string) (string, error) {
	v, file := env(name), env(name+"_FILE")
	if v != "" && file != "" {
		return "", fmt.Errorf("set %s or %s_FILE, not both", name, name)
	}
	if file == "" {
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read %s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad log level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad log format %q: use json or text", format)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
