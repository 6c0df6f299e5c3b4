package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/httpapi"
	"github.com/latchkey/latchkey/proxy"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/verify"
)

// runProxy implements `latchkey proxy`: the gateway as its own process,
// verifying against a latchkey server.
func runProxy(args []string) int {
	return proxyMain(context.Background(), args, os.Stderr, os.Getenv)
}

const proxyUsage = `Usage: latchkey proxy --upstream URL --routes FILE [flags]

Runs the verifying gateway in front of an HTTP API: every request is matched
to the first route of FILE whose path prefix (and method) fits, its
credential (Authorization: Bearer, or X-API-Key where the route allows it)
is verified against the latchkey server at LATCHKEY_URL with the credential
LATCHKEY_TOKEN (or LATCHKEY_TOKEN_FILE; scope keys:verify, checked at start:
exit 3 if the server refuses it), and only admitted
requests reach the upstream, without the credential and with
X-Latchkey-Key-Id, X-Latchkey-Principal and X-Latchkey-Scopes added.

Route file (YAML):

  routes:
    - path: /orders
      methods: [GET]
      scopes: [orders:read]
    - path: /orders
      methods: [POST]
      scope: "orders:write AND billing:read"
      rate_limits: [{name: writes, limit: 10, window: 1m}]
    - path: /public
      anonymous: true

To run the gateway inside latchkey serve instead (no network hop), see
latchkey serve --proxy-routes.

Flags:
`

func proxyMain(ctx context.Context, args []string, stderr io.Writer, env func(string) string) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr(env, "LATCHKEY_PROXY_ADDR", "127.0.0.1:9000"), "listen address (env LATCHKEY_PROXY_ADDR)")
	upstream := fs.String("upstream", env("LATCHKEY_PROXY_UPSTREAM"), "`URL` of the API behind the gateway (env LATCHKEY_PROXY_UPSTREAM)")
	routes := fs.String("routes", env("LATCHKEY_PROXY_ROUTES"), "route `file` (YAML) (env LATCHKEY_PROXY_ROUTES)")
	serverURL := fs.String("url", envOr(env, "LATCHKEY_URL", defaultURL), "latchkey server that verifies (env LATCHKEY_URL)")
	jwtAud := fs.String("jwt-audience", env("LATCHKEY_PROXY_JWT_AUDIENCE"), "also admit latchkey JWTs whose aud contains this `audience`, verified offline against the server's JWKS and revocation feed (env LATCHKEY_PROXY_JWT_AUDIENCE)")
	cacheTTL := fs.Duration("cache-ttl", verify.DefaultCacheTTL, "how long a VALID answer for a key is reused (keys with rate limits or credits are asked every time)")
	maxStale := fs.Duration("revocations-max-stale", 30*time.Second, "with --jwt-audience: refuse JWTs (503) once the revocation feed has not answered for this long; 0 keeps admitting them")
	proxies := fs.String("trusted-proxies", env("LATCHKEY_TRUSTED_PROXIES"), "comma-separated CIDRs of proxies whose X-Forwarded-For is believed (env LATCHKEY_TRUSTED_PROXIES)")
	tlsCert := fs.String("tls-cert", env("LATCHKEY_PROXY_TLS_CERT"), "TLS certificate PEM file; with --tls-key serves HTTPS and HTTP/2 (env LATCHKEY_PROXY_TLS_CERT)")
	tlsKey := fs.String("tls-key", env("LATCHKEY_PROXY_TLS_KEY"), "TLS private key PEM file (env LATCHKEY_PROXY_TLS_KEY)")
	logFormat := fs.String("log-format", env("LATCHKEY_LOG_FORMAT"), "log format: json or text (env LATCHKEY_LOG_FORMAT)")
	logLevel := fs.String("log-level", envOr(env, "LATCHKEY_LOG_LEVEL", "info"), "log level; info logs one access line per request (env LATCHKEY_LOG_LEVEL)")
	fs.Usage = func() {
		fmt.Fprint(stderr, proxyUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "proxy: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if *upstream == "" || *routes == "" {
		return fail("--upstream and --routes are required (see latchkey proxy -h)")
	}
	up, err := url.Parse(*upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" {
		return fail("--upstream must be an http(s) URL")
	}
	rs, err := proxy.Load(*routes)
	if err != nil {
		return fail("%v", err)
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fail("TLS needs both --tls-cert and --tls-key")
	}
	trusted, err := parsePrefixes(*proxies)
	if err != nil {
		return fail("--trusted-proxies: %v", err)
	}
	token, err := secretFromEnv(env, "LATCHKEY_TOKEN")
	if err != nil {
		return fail("%v", err)
	}
	if token == "" {
		return fail("no credential: set LATCHKEY_TOKEN (or LATCHKEY_TOKEN_FILE) to a key with scope keys:verify")
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return fail("%v", err)
	}
	cl, err := client.New(*serverURL, token, client.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		client.WithUserAgent("latchkey-proxy/"+version))
	if err != nil {
		return fail("%v", err)
	}
	if code := checkProxyCredential(ctx, cl, stderr, log); code != exitOK {
		return code
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	v := verify.Composite{Opaque: verify.NewOpaque(cl, verify.OpaqueOptions{CacheTTL: *cacheTTL})}
	if *jwtAud != "" {
		if v.JWT, err = remoteJWT(ctx, cl, *serverURL, *jwtAud, *maxStale, log); err != nil {
			log.Error("proxy: JWT verification", "err", err)
			return exitFailure
		}
	}
	apiKeyAllowed := func(ctx context.Context, ks string) (bool, error) {
		k, err := cl.Keyspace(ctx, ks)
		if err != nil {
			var e *client.Error
			if errors.As(err, &e) && e.Status == http.StatusNotFound {
				return false, nil
			}
			return false, err
		}
		return k.AllowAPIKeyHeader, nil
	}
	h, err := proxy.New(proxy.Options{Upstream: up, Routes: rs, Verifier: v, Logger: log,
		ClientIP:            func(r *http.Request) string { return httpapi.ClientAddr(r, trusted) },
		APIKeyHeaderAllowed: proxy.CachedAPIKeyHeaderAllowed(apiKeyAllowed, 30*time.Second, nil)})
	if err != nil {
		return fail("%v", err)
	}
	if err := server.RunGateway(ctx, server.GatewayConfig{Addr: *addr, TLSCert: *tlsCert, TLSKey: *tlsKey, Handler: h, Log: log}); err != nil {
		log.Error("proxy failed", "err", err)
		return exitFailure
	}
	return exitOK
}

// remoteJWT builds a JWT verifier for a latchkey server: its issuer from
// the server's metadata, its JWKS, and its revocation feed (the proxy's
// credential has keys:verify).
func remoteJWT(ctx context.Context, cl *client.Client, serverURL, audience string, maxStale time.Duration, log *slog.Logger) (*verify.JWT, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(strings.TrimSuffix(serverURL, "/") + "/.well-known/oauth-authorization-server")
	if err != nil {
		return nil, fmt.Errorf("fetch server metadata: %w", err)
	}
	defer resp.Body.Close()
	var md api.AuthorizationServerMetadata
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch server metadata: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md); err != nil || md.Issuer == "" {
		return nil, fmt.Errorf("server metadata: no issuer (%v)", err)
	}
	rev := verify.NewRevocations(cl, verify.RevocationsOptions{
		MaxStale: maxStale, // until the first answer, JWTs get 503
		OnError:  func(err error) { log.Warn("proxy: revocation feed", "err", err) },
	})
	rev.Start(ctx)
	// The JWKS is fetched from the server the proxy talks to, which may
	// differ from the public URL in the metadata.
	return verify.NewJWT(verify.JWTOptions{JWKSURL: strings.TrimSuffix(serverURL, "/") + "/.well-known/jwks.json",
		Issuer: md.Issuer, Audience: audience, Revocations: rev, HTTPClient: hc})
}

// checkProxyCredential makes one call that needs keys:verify (a dry-run
// verification of a key that does not exist), so a wrong LATCHKEY_TOKEN
// stops the proxy at start with exit 3 instead of answering 503 to every
// request. A server that cannot be reached yet is only a warning: the
// proxy may start before it.
func checkProxyCredential(ctx context.Context, cl *client.Client, stderr io.Writer, log *slog.Logger) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	zero := int64(0)
	_, err := cl.Verify(ctx, api.VerifyRequest{Key: "latchkey-proxy-credential-check", Cost: &zero})
	var e *client.Error
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden):
		fmt.Fprintf(stderr, "proxy: the server refused LATCHKEY_TOKEN (%d %s): set it to a management key with scope keys:verify\n", e.Status, e.Problem.Code)
		return exitRefused
	default:
		log.Warn("proxy: could not check LATCHKEY_TOKEN at start; continuing", "err", err)
		return exitOK
	}
}
