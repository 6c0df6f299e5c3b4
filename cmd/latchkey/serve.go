package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

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
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: latchkey serve [flags]

Runs the latchkey server. With no configuration it stores everything in
SQLite under ./latchkey-data/ and, on first start, creates a root credential
(scope admin), prints it once and writes it to <data-dir>/root.key.

Environment: LATCHKEY_ROOT_KEY (or LATCHKEY_ROOT_KEY_FILE) sets the root
credential yourself (32+ characters).

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
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = server.Run(ctx, server.Config{
		Addr: *addr, DataDir: *dataDir, TLSCert: *tlsCert, TLSKey: *tlsKey,
		RootKey: rootKey, Log: log, Out: stdout,
	})
	if err != nil {
		log.Error("serve failed", "err", err)
		return 4
	}
	return 0
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
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
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
