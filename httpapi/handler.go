// Package httpapi is latchkey's /v1 JSON API: it decodes and validates
// requests, calls the token.Service, and renders results and errors
// (application/problem+json, one mapping from error kind to status).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/people"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

// Handler serves the /v1 API, /healthz and /readyz.
type Handler struct {
	svc     *token.Service
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	static  map[string][]staticRoute // path → routes without parameters
	guard   *guard
	trusted []netip.Prefix
	rlMode  func() string

	people   *people.Service // nil: no sign-in endpoints
	oauth    *oauth.Service  // nil: apps are no OAuth clients
	signer   *signer.Manager // nil: no JWTs
	audit    *auditlog.Log   // nil: no audit checkpoints and proofs
	issuer   string
	tokenTTL time.Duration
	leaks    *leak.Service    // nil: no leak reports
	github   *leak.GitHubKeys // nil: no GitHub partner alerts

	webhooks    *webhook.Service // nil: no /v1/webhooks
	onRedeliver func()           // wakes the delivery worker
}

// Config configures a Handler.
type Config struct {
	Service *token.Service
	Log     *slog.Logger
	// Registerer receives the API's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// FailureLimiter keeps the failure budgets of client addresses; nil
	// means an in-process one.
	FailureLimiter ratelimit.Limiter
	// AuthFailureLimit and VerifyFailureLimit are the budgets of bad
	// management credentials (per peer) and unknown keys (per subject
	// address); zero values take the defaults.
	AuthFailureLimit, VerifyFailureLimit ratelimit.Limit
	// RateLimitMode, if set, reports "local", "redis" or "degraded" for
	// /readyz.
	RateLimitMode func() string
	// People signs people in; nil leaves out the /v1/users/{id}/password,
	// totp, factors and sessions endpoints.
	People *people.Service
	// OAuth registers apps as OAuth clients and serves /oauth2/token; nil
	// refuses "oauth" settings.
	OAuth *oauth.Service
	// Signer holds the JWT signing-key ring; nil disables the JWT
	// endpoints.
	Signer *signer.Manager
	// Audit signs the audit log's checkpoints and proves inclusion and
	// consistency; nil answers 503 at /v1/audit/checkpoint and the proofs.
	Audit *auditlog.Log
	// Issuer is the iss of the JWTs and the base of the well-known URLs.
	Issuer string
	// TokenTTL is the default lifetime of exchanged JWTs (DefaultTokenTTL
	// when zero).
	TokenTTL time.Duration
	// Leaks takes leak reports (POST /v1/leaks); nil answers 404.
	Leaks *leak.Service
	// GitHubKeys verifies GitHub's secret scanning alerts
	// (POST /v1/leaks/github); nil answers 404.
	GitHubKeys *leak.GitHubKeys
	// LeakReportLimit is the budget of leak reports per client address;
	// zero takes DefaultLeakReportLimit.
	LeakReportLimit ratelimit.Limit
	// Webhooks manages /v1/webhooks; nil answers them 404. OnRedeliver,
	// if set, is called after a redelivery is queued (to wake the worker).
	Webhooks    *webhook.Service
	OnRedeliver func()
}

// handlerFunc is an HTTP handler that returns its error for one place to
// render.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// New returns the API handler.
func New(c Config) *Handler {
	h := &Handler{svc: c.Service, log: c.Log, metrics: newMetrics(c.Registerer), mux: http.NewServeMux(),
		trusted: c.TrustedProxies, rlMode: c.RateLimitMode,
		people: c.People, oauth: c.OAuth, signer: c.Signer, audit: c.Audit, issuer: strings.TrimSuffix(c.Issuer, "/"), tokenTTL: c.TokenTTL,
		leaks: c.Leaks, github: c.GitHubKeys, webhooks: c.Webhooks, onRedeliver: c.OnRedeliver}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	g := &guard{limiter: c.FailureLimiter, auth: c.AuthFailureLimit, verify: c.VerifyFailureLimit}
	if g.limiter == nil {
		g.limiter = ratelimit.NewLocal(0)
	}
	if g.auth.Limit == 0 {
		g.auth = DefaultAuthFailureLimit
	}
	if g.verify.Limit == 0 {
		g.verify = DefaultVerifyFailureLimit
	}
	if g.leak = c.LeakReportLimit; g.leak.Limit == 0 {
		g.leak = DefaultLeakReportLimit
	}
	if c.Service != nil {
		g.onThrottle = func(ctx context.Context, addr, kind string) {
			if err := c.Service.RecordThrottle(ctx, addr, kind); err != nil {
				h.log.Error("audit: throttle event", "err", err)
			}
		}
	}
	h.guard = g
	if c.OAuth != nil {
		c.OAuth.SetMissBudget(func(ctx context.Context, clientID string) (bool, time.Duration) {
			return g.fail(ctx, "oauth_miss", DefaultOAuthMissLimit, "client:"+clientID)
		})
	}
	h.static = map[string][]staticRoute{}
	for _, rt := range h.routes() {
		hd := h.wrap(rt.pattern, h.serve(rt.fn))
		h.mux.Handle(rt.pattern, hd)
		method, path, _ := strings.Cut(rt.pattern, " ")
		if !strings.Contains(path, "{") {
			h.static[path] = append(h.static[path], staticRoute{method: method, pattern: rt.pattern, h: hd})
		}
	}
	return h
}

// staticRoute is a route without path parameters, served without the mux.
type staticRoute struct {
	method, pattern string
	h               http.Handler
}

// Lookup returns the handler of the route without path parameters that r
// names exactly — same method, same clean unescaped path — or nil. Those
// are the routes the mux would pick for r anyway (a literal path is more
// specific than any pattern with parameters), so ServeHTTP, and a server
// in front of the API, serve them with one map lookup instead of the
// ServeMux's matching, path cleaning and escaping. Everything else (HEAD,
// paths with parameters, unclean or escaped paths, unknown routes) goes
// through the mux as before.
func (h *Handler) Lookup(r *http.Request) http.Handler {
	if r.URL.RawPath != "" {
		return nil
	}
	rts := h.static[r.URL.Path]
	for i := range rts {
		if rt := &rts[i]; rt.method == r.Method {
			r.Pattern = rt.pattern // as ServeMux would set it
			return rt.h
		}
	}
	return nil
}

// route is one endpoint. The OpenAPI test checks that the routes and the
// OpenAPI document list the same endpoints.
type route struct {
	pattern string // "METHOD /path/{param}"
	fn      handlerFunc
}

func (h *Handler) routes() []route {
	return append([]route{
		{"GET /healthz", h.healthz},
		{"GET /readyz", h.readyz},
		{"GET /v1/openapi.json", h.openapi},
		{"GET /.well-known/jwks.json", h.jwks},
		{"GET /.well-known/oauth-authorization-server", h.serverMetadata},
		{"GET /.well-known/openid-configuration", h.serverMetadata},

		{"POST /v1/tokens", h.createToken},
		{"GET /v1/revocations", h.authed(h.listRevocations)},
		{"GET /v1/signing-keys", h.authed(h.listSigningKeys)},
		{"POST /v1/signing-keys/rotate", h.authed(h.rotateSigningKey)},

		{"POST /v1/keys", h.authed(h.createKey)},
		{"GET /v1/keys", h.authed(h.listKeys)},
		{"POST /v1/keys/verify", h.authed(h.verifyKey)},
		{"POST /v1/keys/import", h.authed(h.importKeys)},
		{"GET /v1/keys/{id}", h.authed(h.getKey)},
		{"GET /v1/keys/{id}/usage", h.authed(h.keyUsage)},
		{"GET /v1/analytics", h.authed(h.analytics)},
		{"PATCH /v1/keys/{id}", h.authed(h.updateKey)},
		{"DELETE /v1/keys/{id}", h.authed(h.deleteKey)},
		{"POST /v1/keys/{id}/revoke", h.authed(h.revokeKey)},
		{"POST /v1/keys/{id}/rotate", h.authed(h.rotateKey)},
		{"POST /v1/keys/{id}/renew", h.authed(h.renewKey)},
		{"GET /v1/keys/{id}/secret", h.authed(h.revealKey)},
		{"GET /v1/self", h.authed(h.self)},

		{"POST /v1/keyspaces", h.authed(h.createKeyspace)},
		{"GET /v1/keyspaces", h.authed(h.listKeyspaces)},
		{"GET /v1/keyspaces/{name}", h.authed(h.getKeyspace)},
		{"PATCH /v1/keyspaces/{name}", h.authed(h.updateKeyspace)},

		{"POST /v1/users", h.authed(h.createPrincipal(token.User))},
		{"GET /v1/users", h.authed(h.listPrincipals(token.User))},
		{"GET /v1/users/{id}", h.authed(h.getPrincipal(token.User))},
		{"PATCH /v1/users/{id}", h.authed(h.updatePrincipal(token.User))},
		{"POST /v1/apps", h.authed(h.createPrincipal(token.App))},
		{"GET /v1/apps", h.authed(h.listPrincipals(token.App))},
		{"GET /v1/apps/{id}", h.authed(h.getPrincipal(token.App))},
		{"PATCH /v1/apps/{id}", h.authed(h.updatePrincipal(token.App))},

		{"GET /v1/audit", h.authed(h.listAudit)},
		{"GET /v1/audit/checkpoint", h.authed(h.auditCheckpoint)},
		{"GET /v1/audit/key", h.authed(h.auditKey)},
		{"GET /v1/audit/consistency", h.authed(h.auditConsistency)},
		{"GET /v1/audit/{seq}/proof", h.authed(h.auditProof)},
		{"POST /v1/apps/{id}/secret", h.authed(h.rotateClientSecret)},
		{"POST /oauth2/token", h.oauthToken},
		{"POST /oauth2/introspect", h.oauthIntrospect},
		{"POST /oauth2/revoke", h.oauthRevoke},
		{"POST /oauth2/par", h.oauthPAR},
		{"GET /oauth2/userinfo", h.oauthUserinfo},
		{"POST /oauth2/userinfo", h.oauthUserinfo},
	}, slices.Concat(h.peopleRoutes(), h.grantRoutes(), h.leakRoutes(), h.webhookRoutes())...)
}

// Routes lists the patterns the handler serves, for documentation tests.
func (h *Handler) Routes() []string {
	var ps []string
	for _, rt := range h.routes() {
		ps = append(ps, rt.pattern)
	}
	return ps
}

func (h *Handler) serve(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			writeError(w, r, h.log, err)
		}
	})
}

// ServeHTTP implements http.Handler. Requests no route matches get a
// problem document (404, or 405 with Allow) instead of the mux's plain text.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if hd := h.Lookup(r); hd != nil {
		hd.ServeHTTP(w, r)
		return
	}
	hd, pattern := h.mux.Handler(r)
	if pattern != "" {
		// Serve through the mux, not hd: only ServeMux.ServeHTTP sets the
		// request's path values ({id}); Handler does not.
		h.mux.ServeHTTP(w, r)
		return
	}
	rec := &headerRecorder{h: http.Header{}}
	hd.ServeHTTP(rec, r)
	h.wrap("unmatched", h.serve(func(w http.ResponseWriter, r *http.Request) error {
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.h.Get("Allow"))
			return &httpError{status: rec.status, code: "method_not_allowed", msg: r.Method + " is not allowed here; allowed: " + rec.h.Get("Allow")}
		}
		return &httpError{status: http.StatusNotFound, code: "no_route", msg: "no such endpoint: " + r.Method + " " + truncate(r.URL.Path, 100)}
	})).ServeHTTP(w, r)
}

// headerRecorder captures what the mux's built-in 404/405 handler decides.
type headerRecorder struct {
	h      http.Header
	status int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(code int)        { r.status = code }

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := h.svc.Ready(r.Context()); err != nil {
		return err
	}
	// Writes: after a storage write failed (disk full, read-only, …) —
	// or always with ?write=1 — a probe write decides, so a node whose
	// store cannot accept writes is not ready, and is again once it can.
	if r.URL.Query().Get("write") == "1" || h.svc.WriteFailing() != "" {
		if err := h.svc.ProbeWrite(r.Context()); err != nil {
			return err
		}
	}
	out := map[string]string{"status": "ready", "writes": "ok"}
	if h.rlMode != nil {
		out["ratelimit"] = h.rlMode()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
