package httpapi

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/latchkey/latchkey/token"
)

type ctxKey struct{}

// reqState is the per-request state the middleware shares with handlers.
// It is put in the context once; authed fills in the actor.
type reqState struct {
	id    string
	ip    string // the client's address, once clientIP has worked it out
	actor *token.Actor
	// Kept here so that one allocation serves the whole middleware: the
	// authenticated actor (actor points at it once set), the status
	// recorder, and the X-Request-Id header value.
	actorBuf token.Actor
	sw       statusWriter
	idHdr    [1]string
}

func state(ctx context.Context) *reqState {
	st, _ := ctx.Value(ctxKey{}).(*reqState)
	if st == nil {
		return &reqState{}
	}
	return st
}

func requestID(ctx context.Context) string { return state(ctx).id }

func actorFrom(ctx context.Context) *token.Actor { return state(ctx).actor }

// newRequestID returns 16 random hex characters. A request id names a
// request in logs and problem documents and is not a secret (clients may
// choose their own), so it comes from the runtime's per-thread ChaCha8
// generator rather than crypto/rand's getrandom system call.
func newRequestID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// validRequestID reports whether a client-supplied X-Request-Id is safe to
// echo and log.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter records the status code for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap adds the request id, panic recovery, access logging and metrics. It
// never logs headers or bodies, so no credential reaches the log.
func (h *Handler) wrap(route string, next http.Handler) http.Handler {
	rm := h.metrics.route(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &reqState{}
		// Header maps index canonical names directly: r.Header.Get and
		// Header().Set would canonicalize these constant names per call.
		if v := r.Header["X-Request-Id"]; len(v) > 0 && validRequestID(v[0]) {
			st.id = v[0]
		} else {
			st.id = newRequestID()
		}
		id := st.id
		st.idHdr[0] = id
		w.Header()["X-Request-Id"] = st.idHdr[:]
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		st.sw.ResponseWriter = w
		sw := &st.sw
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				// The panic value is not logged: it could hold request data.
				h.log.Error("panic in handler", "request_id", id, "route", route, "panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, r, h.log, &token.Error{Kind: token.Internal, Msg: "internal error"})
				}
			}
			d := time.Since(start)
			rm.observe(r.Method, sw.status, d)
			if h.log.Enabled(r.Context(), slog.LevelDebug) {
				h.log.Debug("request", "request_id", id, "method", r.Method, "route", route, "status", sw.status, "duration", d)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// bearer returns the credential from "Authorization: Bearer <token>".
func bearer(r *http.Request) (string, bool) {
	var h string
	if v := r.Header["Authorization"]; len(v) > 0 {
		h = v[0]
	}
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	t := strings.TrimSpace(h[7:])
	return t, t != ""
}

// clientIP returns the client's address (see clientAddr).
// It is worked out once per request and kept in the request's state.
func (h *Handler) clientIP(r *http.Request) string {
	st, _ := r.Context().Value(ctxKey{}).(*reqState)
	if st == nil {
		return clientAddr(r, h.trusted)
	}
	if st.ip == "" {
		st.ip = clientAddr(r, h.trusted)
	}
	return st.ip
}

// authed authenticates the management credential and puts the Actor in the
// request context.
func (h *Handler) authed(next handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ip := h.clientIP(r)
		// The credential is checked before the failure budget: only
		// failures are throttled, a valid credential always passes.
		secret, ok := bearer(r)
		if !ok {
			return token.Errorf(token.Unauthenticated, "missing_credential", "send a management key as \"Authorization: Bearer <key>\"")
		}
		st := state(r.Context())
		err := h.svc.AuthenticateInto(r.Context(), &st.actorBuf, secret, ip, st.id)
		if token.KindOf(err) == token.Unauthenticated {
			if throttled, retry := h.guard.fail(r.Context(), "auth", h.guard.auth, ip); throttled {
				return tooManyFailures(w, retry)
			}
		}
		if err != nil {
			return err
		}
		st.actor = &st.actorBuf
		return next(w, r)
	}
}
