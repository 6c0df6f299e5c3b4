package proxy

import (
	"log/slog"
	"net/http"
	"time"
)

// recorder is the ResponseWriter of one exchange: it remembers the status
// and counts the body bytes for the access log. Flush, Hijack and the
// other optional methods stay reachable through Unwrap
// (http.ResponseController), which ReverseProxy uses.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader records the final status and passes code on.
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes of b and passes them on.
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusClientClosed is logged when the client went away before an
// answer (nginx's convention).
const statusClientClosed = 499

// logAccess writes the access log record of an exchange: method, path
// (never the query string), route, status, code of a refusal, duration,
// key id, client address and response body bytes. The credential is never
// logged.
func (g *gateway) logAccess(r *http.Request, w *recorder, x *exchange, start time.Time) {
	ctx := r.Context()
	if !g.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	status := w.status
	switch {
	case status == 0 && x.upstreamStatus == http.StatusSwitchingProtocols:
		status = http.StatusSwitchingProtocols
	case status == 0 && x.clientGone:
		status = statusClientClosed
	case status == 0:
		status = http.StatusOK // a handler that writes nothing answers 200
	}
	var route, keyID string
	if x.route != nil {
		route = x.route.path
	}
	if x.id != nil {
		keyID = x.id.KeyID
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "proxy",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", status),
		slog.String("code", x.code),
		slog.Duration("duration", g.now().Sub(start)),
		slog.String("key_id", keyID),
		slog.String("client_ip", x.clientIP),
		slog.Int64("bytes", w.bytes),
	)
}
