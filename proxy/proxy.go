package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/verify"
)

// Options configure the gateway built by [New].
type Options struct {
	// Upstream is the http or https URL requests are forwarded to; its
	// path, if any, is prepended to the request path. Required.
	Upstream *url.URL
	// Routes, in match order (see [Parse]). Required.
	Routes []Route
	// Keyspace is the keyspace of routes that name none: only its keys
	// (and JWTs with it as audience) are accepted there; AnyKeyspace
	// accepts every keyspace. A route that is not anonymous and has no
	// keyspace of its own needs it (see [CheckKeyspaces]).
	Keyspace string
	// Verifier checks credentials; required unless every route is
	// anonymous.
	Verifier verify.Verifier
	// Limiter enforces the routes' rate limits (default: an in-process
	// ratelimit.Local). An error from it refuses the request with 503.
	Limiter ratelimit.Limiter
	// Logger receives one access record per request at level Info and
	// upstream failures at level Warn (default: no logging).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ClientIP returns the address of the client that sent r, for IP
	// rules, per-IP rate limits, X-Forwarded-For and the access log. The
	// caller decides which forwarding headers to trust; the default is
	// the host of r.RemoteAddr, and no header is ever trusted.
	ClientIP func(r *http.Request) string
	// Transport carries requests to the upstream (default
	// NewTransport(ResponseHeaderTimeout)).
	Transport http.RoundTripper
	// ResponseHeaderTimeout bounds the wait for the upstream's response
	// headers after the request was sent, when Transport is not set
	// (default DefaultResponseHeaderTimeout).
	ResponseHeaderTimeout time.Duration
	// BodyGrace and BodyMinRate bound how slowly a request body may
	// arrive: by start + BodyGrace + received/BodyMinRate, or the request
	// is cut off with 408 and its upstream request aborted (defaults
	// DefaultBodyGrace, DefaultBodyMinRate bytes per second).
	BodyGrace   time.Duration
	BodyMinRate int64
	// APIKeyHeaderAllowed reports whether keys of a keyspace may be
	// presented as X-API-Key (the keyspace's allow_api_key_header), on
	// routes with api_key_header; nil leaves the decision to the route.
	APIKeyHeaderAllowed func(ctx context.Context, keyspace string) (bool, error)
}

// AnyKeyspace, as Options.Keyspace or a route's keyspace, accepts keys of
// every keyspace: an explicit choice, never a default.
const AnyKeyspace = "*"

// CheckKeyspaces reports, as an error that says what to do, a route of rs
// that is not anonymous and names no keyspace while keyspace (the
// gateway's) is empty too, or a keyspace that is not a keyspace name or
// AnyKeyspace.
func CheckKeyspaces(rs []Route, keyspace string) error {
	if keyspace != "" && keyspace != AnyKeyspace && !validName(keyspace) {
		return fmt.Errorf(`proxy: keyspace %q is not 1-63 of [a-z0-9_-] starting with a letter or digit, or "*" for every keyspace`, keyspace)
	}
	if keyspace != "" {
		return nil
	}
	for i, r := range rs {
		if !r.Anonymous && r.Keyspace == "" {
			return fmt.Errorf(`proxy: route %d (%q) accepts keys but names no keyspace: set the gateway's keyspace (latchkey proxy --keyspace NAME, serve --proxy-keyspace NAME) or "keyspace: NAME" on the route; "*" accepts keys of every keyspace`, i+1, r.Path)
		}
	}
	return nil
}

// gateway is the http.Handler returned by New.
type gateway struct {
	routes   []*route
	upstream *url.URL
	verifier verify.Verifier
	limiter  ratelimit.Limiter
	log      *slog.Logger
	now      func() time.Time
	clientIP func(*http.Request) string
	rp       *httputil.ReverseProxy

	bodyGrace   time.Duration
	bodyMinRate int64

	apiKeyAllowed func(ctx context.Context, keyspace string) (bool, error)
}

// New returns the gateway: an http.Handler that matches each request to
// the first route of opts.Routes, checks it (client IP, credential,
// scopes, keyspace, rate limits) and forwards it to opts.Upstream, or
// refuses it with a problem+json document (see the Code constants)
// without contacting the upstream.
//
// A forwarded request carries no Authorization, X-API-Key, X-Latchkey-*,
// Forwarded or X-Forwarded-* header from the client; the gateway sets
// X-Latchkey-Key-Id, X-Latchkey-Principal and X-Latchkey-Scopes from the
// verified identity and X-Forwarded-For/-Host/-Proto itself. Bodies are
// streamed both ways, protocol upgrades (WebSocket) pass through, and
// rate-limit headers are set on every answer when limits are known.
// Served over TLS by http.Server the handler speaks HTTP/2 to clients;
// h2c is not offered.
func New(opts Options) (http.Handler, error) {
	u := opts.Upstream
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("proxy: the upstream must be an http or https URL with a host")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("proxy: the upstream URL must not have a query, a fragment or user information")
	}
	if len(opts.Routes) == 0 {
		return nil, errors.New("proxy: no routes")
	}
	g := &gateway{
		upstream: u, verifier: opts.Verifier, limiter: opts.Limiter,
		log: opts.Logger, now: opts.Now, clientIP: opts.ClientIP,
		apiKeyAllowed: opts.APIKeyHeaderAllowed,
		bodyGrace:     opts.BodyGrace, bodyMinRate: opts.BodyMinRate,
	}
	if g.bodyGrace <= 0 {
		g.bodyGrace = DefaultBodyGrace
	}
	if g.bodyMinRate <= 0 {
		g.bodyMinRate = DefaultBodyMinRate
	}
	if err := CheckKeyspaces(opts.Routes, opts.Keyspace); err != nil {
		return nil, err
	}
	needVerifier := false
	for i := range opts.Routes {
		r, err := compile(&opts.Routes[i])
		if err != nil {
			return nil, fmt.Errorf("proxy: route %d (%q): %w", i+1, opts.Routes[i].Path, err)
		}
		r.index = i
		if r.keyspace == "" {
			r.keyspace = opts.Keyspace
		}
		if r.keyspace == AnyKeyspace {
			r.keyspace = ""
		}
		needVerifier = needVerifier || !r.anonymous
		g.routes = append(g.routes, r)
	}
	if needVerifier && g.verifier == nil {
		return nil, errors.New("proxy: a verifier is required for routes that are not anonymous")
	}
	if g.limiter == nil {
		g.limiter = ratelimit.NewLocal(0)
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.clientIP == nil {
		g.clientIP = remoteIP
	}
	tr := opts.Transport
	if tr == nil {
		tr = NewTransport(opts.ResponseHeaderTimeout)
	}
	g.rp = &httputil.ReverseProxy{
		Rewrite:   g.rewrite,
		Transport: tr,
		// 0: a response of known length is written as it is copied; one of
		// unknown length (streamed, Server-Sent Events) is flushed after
		// every write by ReverseProxy itself. -1 cost a timer goroutine
		// and an extra write per request.
		FlushInterval:  0,
		BufferPool:     newBufferPool(),
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.upstreamError,
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
	return g, nil
}

// exchange is what the gateway learns about one request on its way.
type exchange struct {
	route          *route
	id             *verify.Identity
	clientIP       string
	code           string             // of a refusal
	limits         []ratelimit.Status // for the rate-limit headers
	retryAfter     time.Duration
	upstreamStatus int
	clientGone     bool
	bodyRefusal    *refusal // the body guard cut the request off
	rec            *recorder
}

type exchangeKey struct{}

// ServeHTTP implements http.Handler.
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	rec := &recorder{ResponseWriter: w}
	x := &exchange{clientIP: g.clientIP(r), rec: rec}
	defer g.logAccess(r, rec, x, start)

	if f := g.prepare(r, x); f != nil {
		if r.Body != nil && r.Body != http.NoBody {
			// The server would read the rest of the body before sending
			// the refusal: a client trickling it would hold on. Close the
			// connection after the answer instead, without waiting.
			rec.Header().Set("Connection", "close")
			_ = http.NewResponseController(rec).SetReadDeadline(time.Unix(1, 0))
		}
		g.refuse(rec, x, f)
		return
	}
	// HTTP/1 full duplex (a request body still flowing while the answer
	// streams back) is not enabled: measured, it cost ~40 µs per request
	// (bench/proxy.sh), and upstreams answer after reading the request.
	// HTTP/2 clients get full duplex anyway.
	g.rp.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x)))
}

// prepare finds the route of r and admits r on it, filling in x, or
// returns the refusal. A request body is wrapped in the guard of its
// route's bounds.
func (g *gateway) prepare(r *http.Request, x *exchange) *refusal {
	if !canonicalMethod(r.Method) {
		return &errInvalidMethod
	}
	if !safePath(r.URL.Path, r.URL.RawPath) || caseConfusable(g.routes, r.URL.Path) {
		return &errInvalidPath
	}
	x.route = match(g.routes, r.Method, r.URL.Path)
	if x.route == nil {
		return &errNoRoute
	}
	if rt := x.route; rt.maxBody >= 0 && r.ContentLength > rt.maxBody {
		return &errBodyTooLarge
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &bodyGuard{rc: r.Body, ctrl: http.NewResponseController(x.rec), x: x, start: time.Now(),
			grace: g.bodyGrace, minRate: g.bodyMinRate, max: x.route.maxBody}
	}
	return g.admit(r, x)
}

// refuse answers with f and the rate-limit state known so far.
func (g *gateway) refuse(w http.ResponseWriter, x *exchange, f *refusal) {
	x.code = f.code
	h := w.Header()
	ratelimit.SetHeaders(h, x.limits, g.now())
	switch f.status {
	case http.StatusTooManyRequests:
		ratelimit.SetRetryAfter(h, x.retryAfter)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	f.write(w)
}

// rewrite builds the upstream request.
func (g *gateway) rewrite(pr *httputil.ProxyRequest) {
	x, _ := pr.In.Context().Value(exchangeKey{}).(*exchange)
	stripInbound(pr.Out.Header)
	pr.SetURL(g.upstream)
	pr.SetXForwarded()
	if x == nil {
		return
	}
	if x.clientIP != "" {
		pr.Out.Header.Set("X-Forwarded-For", x.clientIP)
	}
	if x.id != nil {
		setIdentity(pr.Out.Header, x.id)
	}
}

// modifyResponse adds the rate-limit headers to the upstream's answer,
// replacing any the upstream set.
func (g *gateway) modifyResponse(res *http.Response) error {
	x, _ := res.Request.Context().Value(exchangeKey{}).(*exchange)
	if x == nil {
		return nil
	}
	x.upstreamStatus = res.StatusCode
	ratelimit.SetHeaders(res.Header, x.limits, g.now())
	return nil
}

// upstreamError answers when the upstream could not be reached or
// failed: 502, or 504 on a timeout, with a generic message; the cause
// (which may name internal addresses) goes only to the log.
func (g *gateway) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	x, _ := r.Context().Value(exchangeKey{}).(*exchange)
	if x == nil {
		x = &exchange{}
	}
	if f := x.bodyRefusal; f != nil {
		g.log.LogAttrs(r.Context(), slog.LevelInfo, "proxy: request body cut off",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("code", f.code))
		if rec, ok := w.(*recorder); !ok || rec.status == 0 {
			w.Header().Set("Connection", "close")
			g.refuse(w, x, f)
		}
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		x.clientGone = true
		return
	}
	f := &errBadGateway
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		f = &errTimeout
	}
	route := ""
	if x.route != nil {
		route = x.route.path
	}
	g.log.LogAttrs(r.Context(), slog.LevelWarn, "proxy: upstream failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("route", route), slog.String("err", causeText(err)))
	if rec, ok := w.(*recorder); ok && rec.status != 0 {
		return // the answer has begun; nothing more can be said
	}
	g.refuse(w, x, f)
}

// causeText returns the message of err without the URL a *url.Error
// quotes, whose query string may carry secrets.
func causeText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// remoteIP is the default Options.ClientIP: the host of r.RemoteAddr,
// an IPv4-mapped IPv6 address unmapped.
func remoteIP(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
