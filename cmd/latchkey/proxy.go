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

const proxyUsage = `Usage: latchkey proxy --upstream URL --routes FILE --keyspace NAME [flags]

Runs the verifying gateway in front of an HTTP API: every request is matched
to the first route of FILE whose path prefix (and method) fits, its
credential (Authorization: Bearer, or X-API-Key where the route allows it)
is verified against the latchkey server at LATCHKEY_URL with the credential
LATCHKEY_TOKEN (or LATCHKEY_TOKEN_FILE; scope keys:verify, checked at start:
exit 3 if the server refuses it), and only admitted
requests reach the upstream, without the credential and with
X-Latchkey-Key-Id, X-Latchkey-Principal and X-Latchkey-Scopes added.
Only keys of --keyspace are accepted (or of a route's own "keyspace:");
--keyspace '*' accepts every keyspace, and routes that accept keys with
neither are refused at start.

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
	keyspace := fs.String("keyspace", env("LATCHKEY_PROXY_KEYSPACE"), "accept only keys of this `keyspace` (and JWTs for it) on routes that name none; '*' accepts every keyspace (env LATCHKEY_PROXY_KEYSPACE)")
	serverURL := fs.String("url", envOr(env, "LATCHKEY_URL", defaultURL), "latchkey server that verifies (env LATCHKEY_URL)")
	jwtAud := fs.String("jwt-audience", env("LATCHKEY_PROXY_JWT_AUDIENCE"), "also admit latchkey JWTs whose aud contains this `audience`, verified offline against the server's JWKS and revocation feed (env LATCHKEY_PROXY_JWT_AUDIENCE)")
	cacheTTL := fs.Duration("cache-ttl", verify.DefaultCacheTTL, "how long a VALID answer for a key is reused (keys with rate limits or credits are asked every time)")
	maxStale := fs.Duration("revocations-max-stale", 30*time.Second, "with --jwt-audience: refuse JWTs (503) once the revocation feed has not answered for this long; 0 keeps admitting them")
	feedWait := fs.Duration("revocations-wait", 20*time.Second, "how long one long poll of the revocation feed may be held by the server (at most 25s); must stay below --revocations-max-stale")
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
	if err := proxy.CheckKeyspaces(rs, *keyspace); err != nil {
		return fail("%s", strings.TrimPrefix(err.Error(), "proxy: "))
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
	if *feedWait <= 0 || *feedWait > 25*time.Second {
		return fail("--revocations-wait must be between 1s and 25s")
	}
	if *jwtAud != "" && *maxStale > 0 && *maxStale <= *feedWait {
		return fail("--revocations-max-stale (%v) must exceed --revocations-wait (%v): a quiet feed answers once per wait", *maxStale, *feedWait)
	}
	// The feed's long polls outlast the 10 s timeout of verification
	// calls: they get a client without an overall timeout, bounded per
	// request by the subscription (wait + 10 s).
	feedClient, err := client.New(*serverURL, token, client.WithHTTPClient(&http.Client{}),
		client.WithUserAgent("latchkey-proxy/"+version))
	if err != nil {
		return fail("%v", err)
	}
	if code := checkProxyCredential(ctx, cl, stderr, log); code != exitOK {
		return code
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// One revocation feed serves both verifiers: cached answers of opaque
	// keys are evicted when their key is revoked (within the feed's delay
	// instead of --cache-ttl), and JWTs are refused.
	rev := verify.NewRevocations(feedClient, verify.RevocationsOptions{
		Wait:     *feedWait,
		MaxStale: *maxStale, // until the first answer, JWTs get 503
		OnError:  func(err error) { log.Warn("proxy: revocation feed", "err", err) },
	})
	rev.Start(ctx)
	v := verify.Composite{Opaque: verify.NewOpaque(cl, verify.OpaqueOptions{CacheTTL: *cacheTTL, Revocations: rev})}
	if *jwtAud != "" {
		if v.JWT, err = remoteJWT(ctx, *serverURL, *jwtAud, rev); err != nil {
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
	h, err := proxy.New(proxy.Options{Upstream: up, Routes: rs, Keyspace: *keyspace, Verifier: v, Logger: log,
		ClientIP:            func(r *http.Request) string { return httpapi.ClientAddr(r, trusted) },
		APIKeyHeaderAllowed: proxy.CachedAPIKeyHeaderAllowed(apiKeyAllowed, 30*time.Second, nil)})
	if err != nil {
		return fail("%s", strings.TrimPrefix(err.Error(), "proxy: "))
	}
	if err := server.RunGateway(ctx, server.GatewayConfig{Addr: *addr, TLSCert: *tlsCert, TLSKey: *tlsKey, Handler: h, Log: log}); err != nil {
		log.Error("proxy failed", "err", err)
		return exitFailure
	}
	return exitOK
}

// remoteJWT builds a JWT verifier for a latchkey server: its issuer from
// the server's metadata, its JWKS, and the revocation feed rev (the
// proxy's credential has keys:verify).
func remoteJWT(ctx context.Context, serverURL, audience string, rev *verify.Revocations) (*verify.JWT, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(serverURL, "/")+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
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
