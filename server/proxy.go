package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/httpapi"
	"github.com/latchkey/latchkey/proxy"
	"github.com/latchkey/latchkey/ratelimit"
)

// ProxyConfig runs the gateway (package proxy) inside latchkey serve, on
// its own listener, verifying credentials in process.
type ProxyConfig struct {
	Addr     string // listen address of the gateway
	Upstream *url.URL
	Routes   []proxy.Route
	// Keyspace is the gateway's keyspace (see proxy.Options.Keyspace).
	Keyspace string
	// JWTAudience, if set, also admits latchkey JWTs whose aud contains it
	// (checked offline against this node's signing keys).
	JWTAudience string
	// Started, if set, is called with the gateway's bound address.
	Started func(addr string)
}

// startGateway starts the gateway and returns a function that shuts it
// down gracefully.
func startGateway(c Config, v *localVerifier, lim ratelimit.Limiter) (func(context.Context) error, error) {
	pc := c.Proxy
	h, err := proxy.New(proxy.Options{
		Upstream: pc.Upstream, Routes: pc.Routes, Keyspace: pc.Keyspace, Verifier: v, Limiter: lim, Logger: c.Log,
		ClientIP:            func(r *http.Request) string { return httpapi.ClientAddr(r, c.TrustedProxies) },
		APIKeyHeaderAllowed: proxy.CachedAPIKeyHeaderAllowed(v.svc.KeyspaceAllowsAPIKeyHeader, 5*time.Second, nil),
	})
	if err != nil {
		return nil, err
	}
	return listenGateway(h, pc.Addr, c.TLSCert, c.TLSKey, c.Log, pc.Started)
}

// listenGateway serves h on addr (HTTPS and HTTP/2 with a certificate)
// and returns the function that shuts it down gracefully.
func listenGateway(h http.Handler, addr, cert, key string, log *slog.Logger, started func(string)) (func(context.Context) error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// No read or write timeout: bodies stream (uploads, downloads,
		// WebSockets) for as long as they need; the gateway cuts off a
		// request body that falls behind its minimum rate or exceeds the
		// route's max_body, and the upstream transport bounds the wait
		// for response headers.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cert != "" {
		tc, err := tlsConfig(cert, key)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("proxy: %w", err)
		}
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("gateway stopped", "err", err)
		}
	}()
	log.Info("latchkey gateway serving", "addr", ln.Addr().String())
	if started != nil {
		started(ln.Addr().String())
	}
	return srv.Shutdown, nil
}

// tlsConfig loads a certificate for TLS 1.2+, offering HTTP/2 (ALPN h2).
func tlsConfig(cert, key string) (*tls.Config, error) {
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c}, NextProtos: []string{"h2", "http/1.1"}}, nil
}

// GatewayConfig runs a gateway handler on its own (latchkey proxy).
type GatewayConfig struct {
	Addr            string
	TLSCert, TLSKey string
	Handler         http.Handler
	Log             *slog.Logger
	Started         func(addr string)
	ShutdownTimeout time.Duration // 0: 30s
}

// RunGateway serves c.Handler until ctx ends, then drains it.
func RunGateway(ctx context.Context, c GatewayConfig) error {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	stop, err := listenGateway(c.Handler, c.Addr, c.TLSCert, c.TLSKey, c.Log, c.Started)
	if err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	return stop(sctx)
}
