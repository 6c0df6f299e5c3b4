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
		Upstream: pc.Upstream, Routes: pc.Routes, Verifier: v, Limiter: lim, Logger: c.Log,
		ClientIP: func(r *http.Request) string { return httpapi.ClientAddr(r, c.TrustedProxies) },
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", pc.Addr)
	if err != nil {
		return nil, fmt.Errorf("proxy: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		// No read or write timeout: bodies stream (uploads, downloads,
		// WebSockets) for as long as they need; the upstream transport
		// bounds the wait for response headers.
		ErrorLog: slog.NewLogLogger(c.Log.Handler(), slog.LevelWarn),
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("proxy: load TLS certificate: %w", err)
		}
		// HTTP/2 for clients comes with TLS (ALPN h2).
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			c.Log.Error("proxy stopped", "err", err)
		}
	}()
	c.Log.Info("latchkey gateway serving", "addr", ln.Addr().String(), "upstream", pc.Upstream.Redacted(), "routes", len(pc.Routes))
	if pc.Started != nil {
		pc.Started(ln.Addr().String())
	}
	return srv.Shutdown, nil
}
