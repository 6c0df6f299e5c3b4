// Command pprofserve runs the real latchkey server (package server, the same
// code as `latchkey serve`) with net/http/pprof on a second loopback
// listener, so a CPU profile can be taken while wrk loads it — latchkey
// itself does not expose pprof. bench/profile.sh drives it.
//
//	LATCHKEY_ROOT_KEY=… pprofserve -addr 127.0.0.1:18080 -pprof 127.0.0.1:16060 -data-dir DIR
//	go tool pprof -top http://127.0.0.1:16060/debug/pprof/profile?seconds=10
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux only
	"os"
	"os/signal"
	"syscall"

	"github.com/latchkey/latchkey/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "latchkey listen address")
	pprofAddr := flag.String("pprof", "127.0.0.1:16060", "pprof listen address (loopback only)")
	dataDir := flag.String("data-dir", "", "data directory (required)")
	usageFlush := flag.Duration("usage-flush", 0, "usage flush interval (0: the server's default, 1s); a long one shows what the flush costs")
	flag.Parse()
	if *dataDir == "" {
		log.Fatal("-data-dir is required")
	}
	go func() { log.Fatal(http.ListenAndServe(*pprofAddr, nil)) }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := server.Run(ctx, server.Config{
		Addr:    *addr,
		DataDir: *dataDir,
		RootKey: os.Getenv("LATCHKEY_ROOT_KEY"),

		UsageFlushInterval: *usageFlush,
		Log:                slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		log.Fatal(err)
	}
}
