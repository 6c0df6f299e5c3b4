// Package server runs latchkey: it opens the store, bootstraps the root
// credential, serves the HTTP API with production timeouts (and TLS with
// HSTS when configured), flushes usage records in the background, and shuts
// down gracefully, draining requests and flushing usage on the way out.
package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/httpapi"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/store/sqlstore"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/web"
	"github.com/latchkey/latchkey/webhook"
)

// Config configures a server.
type Config struct {
	Addr    string // listen address, e.g. "127.0.0.1:8080"; port 0 picks one
	DataDir string // where the SQLite database and root.key live
	TLSCert string // PEM certificate file; with TLSKey enables HTTPS and HSTS
	TLSKey  string
	// RootKey, when set, is an operator-chosen root credential (32+ chars).
	RootKey string
	// ShutdownTimeout bounds the graceful drain; 0 means 30s.
	ShutdownTimeout time.Duration
	// UsageFlushInterval is how often usage records are written; 0 means
	// 5s. Each flush writes every key used since the last one, so the
	// interval trades storage writes against how fresh last-used times
	// are (a graceful shutdown always flushes).
	UsageFlushInterval time.Duration
	// DatabaseURL, if set (postgres://…), stores everything in PostgreSQL
	// instead of SQLite in DataDir; several nodes may share it.
	DatabaseURL string
	// DatabasePoolSize bounds the PostgreSQL connections (0: 10).
	DatabasePoolSize int
	// DatabaseSchema, if set, is the PostgreSQL schema of latchkey's tables
	// (created if missing); default: the connection's search_path.
	DatabaseSchema string
	// RedisURL, if set, shares rate-limit budgets between nodes.
	RedisURL string
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// AuthFailureLimit and VerifyFailureLimit override the brute-force
	// budgets (zero: httpapi's defaults).
	AuthFailureLimit, VerifyFailureLimit ratelimit.Limit
	// LeakReportLimit overrides the budget of public leak reports per
	// client address (default httpapi.DefaultLeakReportLimit).
	LeakReportLimit ratelimit.Limit
	// GitHubKeysURL lists GitHub's secret scanning signing keys
	// (LATCHKEY_GITHUB_KEYS_URL; default leak.DefaultGitHubKeysURL),
	// fetched through the outbound guard (OAuth.OutboundAllowPrivate).
	GitHubKeysURL string

	// AuditCheckpointEvery and AuditCheckpointInterval: a signed audit
	// checkpoint after this many new records, or this long after the last
	// one while the log grew (defaults 1000 and 1 minute), and at shutdown.
	AuditCheckpointEvery    int64
	AuditCheckpointInterval time.Duration
	// MasterKey seals the JWT signing keys at rest (AES-256-GCM). Required
	// with DatabaseURL; otherwise nil means <data-dir>/master.key, created
	// on first start.
	MasterKey *[signer.MasterKeySize]byte
	// Issuer is the iss of issued JWTs and the base of the well-known
	// URLs; default: derived from the listening address.
	Issuer string
	// SigningAlg is the algorithm of scheduled signing keys (EdDSA by
	// default, ES256, RS256).
	SigningAlg string
	// SigningKeyPeriod is how long a signing key signs (default 24h);
	// SigningKeyLead how long a new key is published before it signs
	// (default 10m; the JWKS may be cached for half of it).
	SigningKeyPeriod, SigningKeyLead time.Duration
	// TokenTTL is the default lifetime of exchanged JWTs (default 5m).
	TokenTTL time.Duration
	// DPoPNonce makes the token endpoint demand a server nonce in every
	// DPoP proof (RFC 9449 §8, use_dpop_nonce). Nonces are derived from
	// the master key, so every node accepts the nonces of the others; a
	// proof that carries one is checked either way.
	DPoPNonce bool
	// People configures sign-in (sessions, passkeys, the directory).
	People PeopleConfig
	// OAuth configures the authorization server's grants.
	OAuth OAuthConfig
	// Webhooks tunes the delivery of webhook events.
	Webhooks WebhooksConfig
	// Leaks tunes the worker of public leak reports.
	Leaks LeaksConfig
	// Proxy, if set, also runs the verifying gateway in front of an
	// upstream API, on its own listener.
	Proxy *ProxyConfig

	Log *slog.Logger
	// Out receives the one-time announcement of a generated root key.
	Out io.Writer
	// OutIsTerminal reports that Out is a terminal: only then does the
	// announcement show the generated key itself; otherwise (container
	// logs, files, pipes) it names the root.key file instead.
	OutIsTerminal bool
	// OfferSetup makes Run offer, while no user holds admin, the one-time
	// setup of the first administrator in the web console (a link on Out,
	// see announceSetup). `latchkey serve` sets it.
	OfferSetup bool
	// Started, if set, is called with the bound address once the server
	// accepts connections.
	Started func(addr string)
}

// OAuthConfig configures the authorization code grant and its refresh
// tokens (zero values: the defaults of package oauth).
type OAuthConfig struct {
	// AccessTokenTTL is the lifetime of OAuth access tokens (default and
	// maximum 1h).
	AccessTokenTTL time.Duration
	// RefreshGrace: a rotated-out refresh token presented again by its
	// client within it gets the same new pair (default 10s; negative: none).
	RefreshGrace time.Duration
	// RefreshIdleTTL ends refresh tokens unused that long (default 30
	// days); RefreshTTL ends a grant's refresh tokens that long after the
	// sign-in (default 90 days).
	RefreshIdleTTL, RefreshTTL time.Duration
	// RequirePAR refuses authorization requests not pushed to /oauth2/par.
	RequirePAR bool
	// BackchannelRetries is the delay before each attempt of a
	// back-channel logout delivery (default: 0, 5 s, 25 s).
	BackchannelRetries []time.Duration
	// OutboundAllowPrivate lets latchkey's calls to app-registered URLs
	// (back-channel logout) reach loopback and private addresses
	// (LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true).
	OutboundAllowPrivate bool
}

// WebhooksConfig tunes webhook delivery (zero values: package webhook's
// defaults). Private receivers are allowed by OAuth.OutboundAllowPrivate
// (LATCHKEY_OUTBOUND_ALLOW_PRIVATE), the one outbound guard setting.
type WebhooksConfig struct {
	// Poll is how often each node reads the outbox (default 1 s).
	Poll time.Duration
	// RetryBase is the first retry's wait, doubled on every attempt.
	RetryBase time.Duration
}

// LeaksConfig tunes the worker that handles kept public leak reports
// (zero values: package leak's defaults).
type LeaksConfig struct {
	// Poll is how often each node looks for reports left by another
	// (a crashed node's, or due for a retry); default leak.DefaultPoll.
	Poll time.Duration
	// WorkerDelay holds the worker this long after the start (tests: the
	// reports stay kept, unhandled, until the process is killed).
	WorkerDelay time.Duration
}

// RootKeyFile is the name of the file in the data directory that receives
// a generated root credential.
const RootKeyFile = "root.key"

// Validate reports a configuration that cannot work, before anything is
// written: Run calls it first, and the CLI calls it to exit with its usage
// code. The error never contains a secret.
func (c Config) Validate() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("TLS needs both a certificate (--tls-cert) and a key (--tls-key)")
	}
	if c.RootKey != "" {
		if err := token.ValidateRootKey(c.RootKey); err != nil {
			return err
		}
	}
	if u := c.DatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return errors.New("LATCHKEY_DATABASE_URL must be a postgres:// URL")
	}
	return nil
}

// Run serves until ctx is done, then shuts down gracefully.
func Run(ctx context.Context, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.UsageFlushInterval == 0 {
		c.UsageFlushInterval = 5 * time.Second
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil { // root.key lives here
		return fmt.Errorf("create data directory: %w", err)
	}
	db, cacheCfg, err := openStore(ctx, c)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	lim, rlMode, closeLimiter, err := limiter(c.RedisURL, c.Log, reg)
	if err != nil {
		return err
	}
	defer closeLimiter()

	mk, err := masterKey(c)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	box, err := seal.New(mk)
	if err != nil {
		return err
	}
	writeFailures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_store_write_failures_total",
		Help: "Storage writes that failed for a storage fault, by cause: disk_full, read_only, io_error, unavailable.",
	}, []string{"cause"})
	for _, cause := range []string{token.CauseDiskFull, token.CauseReadOnly, token.CauseIO, token.CauseUnavailable} {
		writeFailures.WithLabelValues(cause) // present at 0 from the start
	}
	reg.MustRegister(writeFailures)
	dpopNonces := hmac.New(sha256.New, mk[:])
	dpopNonces.Write([]byte("latchkey dpop nonces v1"))
	svc := token.NewService(token.Config{Store: db, Log: c.Log, Limiter: lim, Cache: cacheCfg, Secrets: box,
		OnWriteFailure: func(cause string) { writeFailures.WithLabelValues(cause).Inc() },
		DPoPNonceKey:   dpopNonces.Sum(nil), DPoPRequireNonce: c.DPoPNonce})
	if pg, ok := db.(*sqlstore.DB); ok && pg.Engine() == "postgres" {
		listenCtx, stopListen := context.WithCancel(context.Background())
		defer stopListen()
		go pg.Listen(listenCtx, sqlstore.Invalidations{
			Key: svc.Invalidate, Principal: svc.InvalidatePrincipal, Reset: svc.InvalidateAll,
		})
	}
	// The audit chain: records of an older version get their place in
	// the tree first, in ID order; then the checkpoint signer.
	var audit *auditlog.Log
	if sdb, ok := db.(*sqlstore.DB); ok {
		if n, err := sdb.ChainAudit(ctx); err != nil {
			return fmt.Errorf("audit chain: %w", err)
		} else if n > 0 {
			// Expected once after an upgrade; at any other start these are
			// rows written to the database by something else than latchkey.
			c.Log.Warn("audit records without a place in the audit chain were chained at start: records from a version before the chain, or rows written to the database directly",
				"records", n)
		}
		if audit, err = auditlog.New(ctx, auditlog.Config{Store: sdb.AuditStore(), Box: box, Log: c.Log,
			Every: c.AuditCheckpointEvery, Interval: c.AuditCheckpointInterval}); err != nil {
			return fmt.Errorf("audit chain: %w", err)
		}
	}
	root, err := svc.Bootstrap(ctx, c.RootKey, func(t apitoken.Token) error { return saveRoot(c, t.Reveal()) })
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if !root.IsZero() {
		announceRoot(c, root.Reveal())
	}

	signerCtx, stopSigner := context.WithCancel(context.Background())
	defer stopSigner()
	sig, err := startSigner(ctx, signerCtx, c, mk, db)
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// One spelling of the issuer everywhere: the token endpoints and the
	// metadata drop a trailing slash, so the gateway and sign-in must too.
	issuer := strings.TrimSuffix(c.Issuer, "/")
	if issuer == "" {
		issuer = defaultIssuer(c, ln.Addr())
		if c.DatabaseURL != "" {
			c.Log.Warn("no LATCHKEY_ISSUER: JWTs name this node's own address as their issuer; nodes sharing a database should all set the public URL", "issuer", issuer)
		}
	}
	ppl, err := newPeople(c, db, svc, box, mk, issuer)
	if err != nil {
		ln.Close()
		return fmt.Errorf("sign-in: %w", err)
	}
	var oa *oauth.Service
	if ost, ok := db.(oauth.Store); ok && sig != nil {
		gst, _ := db.(oauth.GrantStore)
		pairwise := hmac.New(sha256.New, mk[:])
		pairwise.Write([]byte("latchkey pairwise subjects v1"))
		oa = oauth.New(oauth.Config{PairwiseKey: pairwise.Sum(nil), Store: ost, Grants: gst, Box: box, Tokens: svc, Signer: sig, Issuer: issuer, Log: c.Log,
			TokenTTL: c.OAuth.AccessTokenTTL, RefreshGrace: c.OAuth.RefreshGrace, RefreshIdleTTL: c.OAuth.RefreshIdleTTL,
			RefreshTTL: c.OAuth.RefreshTTL, RequirePAR: c.OAuth.RequirePAR,
			BackchannelRetries: c.OAuth.BackchannelRetries, OutboundAllowPrivate: c.OAuth.OutboundAllowPrivate})
		// Back-channel logout: every ended sign-in session is told to the
		// apps that signed in through it.
		ppl.SetOnSessionEnded(oa.SessionEnded)
	}
	var leaks *leak.Service
	if lst, ok := db.(leak.Store); ok {
		// Reports kept by POST /v1/leaks are handled before Run returns,
		// for at most leak.DrainTimeout; the rest stay kept for the next
		// start or another node.
		leaks = leak.New(leak.Config{Store: lst, Tokens: svc, OAuth: oa, Log: c.Log, Poll: c.Leaks.Poll, WorkerDelay: c.Leaks.WorkerDelay})
		defer leaks.Close()
	}
	var hooks *webhook.Service
	var dispatcher *webhook.Dispatcher
	if wst, ok := db.(webhook.Store); ok {
		allow := c.OAuth.OutboundAllowPrivate || c.People.OutboundAllowPrivate
		hooks = webhook.NewService(webhook.Config{Store: wst, Box: box, Tokens: svc, AllowPrivate: allow})
		dispatcher = webhook.NewDispatcher(webhook.DispatcherConfig{Store: wst, Box: box, AllowPrivate: allow,
			Poll: c.Webhooks.Poll, Backoff: webhook.Backoff{Base: c.Webhooks.RetryBase}, Log: c.Log})
	}
	api := httpapi.New(httpapi.Config{
		Service: svc, People: ppl, OAuth: oa, Log: c.Log, Registerer: reg,
		TrustedProxies: c.TrustedProxies, FailureLimiter: lim, RateLimitMode: rlMode,
		AuthFailureLimit: c.AuthFailureLimit, VerifyFailureLimit: c.VerifyFailureLimit,
		Signer: sig, Issuer: issuer, TokenTTL: c.TokenTTL, Audit: audit,
		Leaks: leaks, GitHubKeys: leak.NewGitHubKeys(c.GitHubKeysURL, c.OAuth.OutboundAllowPrivate),
		LeakReportLimit: c.LeakReportLimit,
		Webhooks:        hooks, OnRedeliver: func() {
			if dispatcher != nil {
				dispatcher.Wake()
			}
		},
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", api)
	ups, upState, err := upstreams(c.People, issuer, mk)
	if err != nil {
		ln.Close()
		return fmt.Errorf("sign-in: %w", err)
	}
	pages, err := web.New(web.Config{People: ppl, Tokens: svc, OAuth: oa, ClientIP: api.ClientIP, Secure: secureCookies(c, issuer), Log: c.Log,
		Upstreams: ups, UpstreamState: upState, Signer: sig,
		Ops: consoleOps(db, hooks, func() {
			if dispatcher != nil {
				dispatcher.Wake()
			}
		}, leaks, audit)})
	if err != nil {
		ln.Close()
		return fmt.Errorf("pages: %w", err)
	}
	for _, p := range web.Patterns() {
		mux.Handle(p, pages)
	}
	srv := &http.Server{
		Handler:           securityHeaders(front(api, mux), c.TLSCert != ""),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(c.Log.Handler(), slog.LevelWarn),
	}
	if c.TLSCert != "" {
		tc, err := tlsConfig(c.TLSCert, c.TLSKey)
		if err != nil {
			ln.Close()
			return err
		}
		srv.TLSConfig = tc
		ln = tls.NewListener(ln, tc)
	}

	flushCtx, stopFlush := context.WithCancel(context.Background())
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		svc.Run(flushCtx, c.UsageFlushInterval)
	}()
	checkpointsDone := make(chan struct{})
	go func() {
		defer close(checkpointsDone)
		if audit != nil {
			audit.Run(flushCtx)
		}
	}()
	go every(signerCtx, time.Minute, c.Log, "prune nonces and idempotency answers", func(ctx context.Context) error { return pruneNonces(ctx, svc) })
	go every(signerCtx, 10*time.Minute, c.Log, "prune sessions", ppl.Prune)
	if oa != nil {
		// Codes, pushed requests and idle refresh tokens; the sealed
		// answers of the refresh grace a minute after it passed.
		go every(signerCtx, time.Minute, c.Log, "prune oauth grants", oa.Prune)
	}

	if dispatcher != nil {
		// Delivers the webhook outbox; an attempt cut off by shutdown is
		// retried when its lease runs out (by this node after a restart,
		// or another).
		go dispatcher.Run(signerCtx)
		limited := webhook.NewLimitNotifier(dispatcher)
		svc.SetOnRateLimited(limited.Notify)
		go limited.Run(signerCtx)
	}

	stopGateway := func(context.Context) error { return nil }
	if c.Proxy != nil {
		v := &localVerifier{svc: svc, sig: sig, issuer: issuer, audience: c.Proxy.JWTAudience}
		if stopGateway, err = startGateway(c, v, lim); err != nil {
			ln.Close()
			stopFlush()
			<-flushed
			return err
		}
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	c.Log.Info("latchkey serving", "addr", ln.Addr().String(), "scheme", scheme, "data_dir", c.DataDir)
	if c.OfferSetup {
		if err := announceSetup(ctx, c, pages, scheme+"://"+consoleHost(ln.Addr())); err != nil {
			c.Log.Warn("first-start setup unavailable", "err", err)
		}
	}
	if c.Started != nil {
		c.Started(ln.Addr().String())
	}

	select {
	case err = <-serveErr:
	case <-ctx.Done():
	}
	c.Log.Info("shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if serr := stopGateway(sctx); serr != nil {
		c.Log.Warn("gateway: graceful shutdown incomplete", "err", serr)
	}
	if serr := srv.Shutdown(sctx); serr != nil {
		c.Log.Warn("graceful shutdown incomplete", "err", serr)
	}
	if oa != nil {
		// Logouts waiting for a retry get their last attempt now, bounded
		// by one delivery's timeout.
		dctx, dcancel := context.WithTimeout(context.Background(), oauth.BackchannelTimeout+time.Second)
		if n := oa.DrainBackchannel(dctx); n > 0 {
			c.Log.Error("shutdown: back-channel logouts still undelivered", "count", n)
		}
		dcancel()
	}
	stopFlush()
	<-flushed
	if ferr := svc.Flush(sctx); ferr != nil {
		c.Log.Error("final usage flush failed", "err", ferr)
	}
	<-checkpointsDone
	if audit != nil {
		if _, cerr := audit.Checkpoint(sctx); cerr != nil {
			c.Log.Error("final audit checkpoint failed", "err", cerr)
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// saveRoot writes a generated root credential to <data-dir>/root.key
// (mode 0600) durably, before the key is stored: write a temporary file,
// sync, rename.
func saveRoot(c Config, key string) error {
	path := filepath.Join(c.DataDir, RootKeyFile)
	tmp, err := os.CreateTemp(c.DataDir, ".root.key-*")
	if err != nil {
		return fmt.Errorf("save root key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save root key: %w", err)
	}
	if _, err := tmp.WriteString(key + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("save root key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save root key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save root key: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save root key: %w", err)
	}
	return nil
}

// announceSetup offers, while no user holds admin, the one-time setup of
// the first administrator at /ui/setup: the printed link carries the setup
// code in its fragment, which browsers never send (nor log). Like the root
// credential it is printed to a terminal only; elsewhere the code goes to
// <data-dir>/setup.code (mode 0600).
func announceSetup(ctx context.Context, c Config, pages *web.Handler, base string) error {
	code, err := pages.NewSetupCode(ctx)
	if err != nil {
		return err
	}
	path := filepath.Join(c.DataDir, "setup.code")
	if code == "" { // an administrator exists: an old code file is void
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if c.OutIsTerminal {
		fmt.Fprintf(c.Out, "\nNo administrator yet. Open this link within an hour to create the first one\n(it works once; restart latchkey for a new one):\n\n    %s/ui/setup#%s\n\n", base, code)
		return nil
	}
	if err := os.WriteFile(path, []byte(code+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(c.Out, "\nNo administrator yet. Open %s/ui/setup within an hour and enter the setup code\nsaved in %s (mode 0600); it works once.\n\n", base, path)
	return nil
}

// consoleHost is the host:port a browser on this machine opens: a
// wildcard listening address becomes localhost.
func consoleHost(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// announceRoot prints a generated root credential once — to a terminal
// only: elsewhere (container logs keep stdout) it says where root.key is.
func announceRoot(c Config, key string) {
	path := filepath.Join(c.DataDir, RootKeyFile)
	if !c.OutIsTerminal {
		fmt.Fprintf(c.Out, "\nlatchkey created a root credential (scope admin) and saved it to %s (mode 0600).\nIt is not printed here because this output is not a terminal; read it from that file.\n\n", path)
		c.Log.Info("root credential created", "file", path)
		return
	}
	fmt.Fprintf(c.Out, "\nlatchkey created a root credential (scope admin). It is shown only this once\nand saved to %s (mode 0600):\n\n    %s\n\n", path, key)
	c.Log.Info("root credential created", "file", path)
}

// Security header values, shared by every response and never modified in
// place (len = cap = 1: Header.Add copies before appending).
var (
	hdrNoSniff = []string{"nosniff"}
	hdrHSTS    = []string{"max-age=63072000; includeSubDomains"}
)

// securityHeaders sets headers every response carries. The names are
// canonical, so the header map is indexed directly rather than through
// Header.Set, which would canonicalize them and allocate on every request.
func securityHeaders(next http.Handler, tls bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = hdrNoSniff
		if tls {
			h["Strict-Transport-Security"] = hdrHSTS
		}
		next.ServeHTTP(w, r)
	})
}

// front routes a request to the API's routes without path parameters with
// one map lookup (httpapi.Handler.Lookup), and everything else through
// mux (/metrics, and the API's other routes, which mux hands to the API).
func front(api *httpapi.Handler, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hd := api.Lookup(r); hd != nil {
			hd.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
