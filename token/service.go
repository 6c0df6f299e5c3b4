package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/dpop"
	"github.com/latchkey/latchkey/ratelimit"
)

// Service is latchkey's domain API. Transports authenticate a management
// credential with Authenticate and pass the resulting Actor to every call;
// the Service decides what the actor may do.
type Service struct {
	store Store
	now   func() time.Time
	log   *slog.Logger
	usage *usageRecorder
	// onLimited, if set, hears of every refusal by a rate limit (see
	// SetOnRateLimited).
	onLimited func(RateLimited)
	cache     *verifyCache // nil: caching disabled
	limiter   ratelimit.Limiter
	secrets   Sealer // nil: no master key, no signing secrets

	writes writeHealth

	// foreign reports whether any stored key has a plaintext outside
	// latchkey's format; only then does Verify look up such strings.
	foreign atomic.Bool

	inflight sync.Map // idempotent calls running on this node (see Idempotent)

	dpop             *dpop.Checker // DPoP proofs: jti replay records, server nonces
	dpopRequireNonce bool

	lastPrune atomic.Int64 // Unix time of the last usage prune (pruneUsageDue)
}

// Config configures a Service.
type Config struct {
	Store Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives operational messages; nil discards them.
	Log *slog.Logger
	// Cache sizes the verification cache.
	Cache CacheConfig
	// Limiter keeps rate-limit budgets; nil means an in-process one.
	Limiter ratelimit.Limiter
	// Secrets seals request-signing secrets with the master key; nil
	// refuses keys with signing secrets.
	Secrets Sealer
	// OnWriteFailure, if set, is called with the cause (see
	// WriteFailureCause) of every storage write that fails for a storage
	// fault: for a metric.
	OnWriteFailure func(cause string)
	// DPoPNonceKey derives the stateless DPoP server nonces (every node
	// sharing it accepts the nonces of the others); nil: no nonces.
	DPoPNonceKey []byte
	// DPoPRequireNonce makes the authorization server demand a server
	// nonce in every DPoP proof (use_dpop_nonce, RFC 9449 §8).
	DPoPRequireNonce bool
}

// NewService returns a Service. Call Run to flush usage records in the
// background and Close to flush them on shutdown.
func NewService(c Config) *Service {
	s := &Service{store: c.Store, now: c.Now, log: c.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.usage = newUsageRecorder(c.Store, s.log)
	s.cache = newVerifyCache(c.Cache)
	s.limiter = c.Limiter
	s.secrets = c.Secrets
	s.writes.onFailure = c.OnWriteFailure
	s.dpop = &dpop.Checker{Replay: s.useDPoPJTI, NonceKey: c.DPoPNonceKey, Now: s.now}
	s.dpopRequireNonce = c.DPoPRequireNonce && c.DPoPNonceKey != nil
	s.usage.wrote = s.wrote
	if s.limiter == nil {
		s.limiter = ratelimit.NewLocal(0)
	}
	return s
}

// RateLimited is a verification refused by one of a key's (or its
// owner's) rate limits.
type RateLimited struct {
	KeyID, Keyspace string
	Limit           ratelimit.Limit // named "owner_<name>" for an owner's limit
	At              time.Time
}

// SetOnRateLimited makes every refusal by a rate limit call fn, on the
// verification's goroutine: fn must return at once (no I/O). Call it
// before the Service verifies anything.
func (s *Service) SetOnRateLimited(fn func(RateLimited)) { s.onLimited = fn }

// Store returns the Service's storage backend.
func (s *Service) Store() Store { return s.store }

// Now returns the Service's clock reading.
func (s *Service) Now() time.Time { return s.now().UTC() }

// Run flushes usage records every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	s.usage.run(ctx, interval, s.pruneUsageDue)
}

// Flush writes pending usage records to the store.
func (s *Service) Flush(ctx context.Context) error { return s.usage.flush(ctx) }

// Ready reports whether the store can answer.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return Unavailablef(err, "ping store")
	}
	return nil
}

// storeErr turns a storage error into a domain error: ErrNotFound and
// ErrConflict pass through, domain errors from update functions pass
// through, everything else becomes Unavailable.
func storeErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		return &Error{Kind: Unavailable, Code: "outcome_unknown",
			Msg: "the change may or may not have been applied (the store's answer to the commit was lost); retry with the same Idempotency-Key to get its outcome",
			Err: fmt.Errorf(format+": %w", append(args, err)...)}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Unavailablef(err, format, args...)
	}
	return Unavailablef(err, format, args...)
}

// audit builds an audit event for a successful action by a.
func (s *Service) audit(a *Actor, action, targetType, targetID string, detail map[string]string) *AuditEvent {
	now := s.Now()
	return &AuditEvent{
		ID:         NewID("aud", now),
		Time:       now,
		ActorKeyID: a.KeyID,
		Action:     action,
		TargetType: targetType,
		TargetID:   targetID,
		Outcome:    OutcomeSuccess,
		RequestID:  a.RequestID,
		Detail:     detail,
	}
}

// deny records a refused management action and returns the error to give
// the caller.
func (s *Service) deny(ctx context.Context, a *Actor, action, targetType, targetID, need string) error {
	ev := s.audit(a, action, targetType, targetID, map[string]string{"missing_scope": need})
	ev.Outcome = OutcomeDenied
	if err := s.wrote(s.store.AppendAudit(ctx, ev)); err != nil {
		s.log.Error("audit: append denied event", "action", action, "err", err)
	}
	return Errorf(PermissionDenied, "insufficient_scope", "this credential lacks the %q scope", need)
}

// notFound reports a missing object. The identifier is echoed only when it
// has the shape of one of latchkey's own IDs or names: a caller that pastes
// a secret into the wrong place must not see it repeated in an error, a log
// or a terminal.
// Refuse records that actor a was refused action for lacking scope need,
// and returns the PermissionDenied error to give it; for checks made
// outside the Service (such as the keys:verify scope of the verify API).
func (s *Service) Refuse(ctx context.Context, a *Actor, action, need string) error {
	return s.deny(ctx, a, action, "", "", need)
}

func notFound(what, id string) error {
	if echoable(what, id) {
		return Errorf(NotFound, what+"_not_found", "%s %q not found", what, id)
	}
	return Errorf(NotFound, what+"_not_found", "%s not found", what)
}

var keyIDRE = regexp.MustCompile(`^key_[0-9a-z]{26}$`)

// echoable reports whether id may appear in a message: a key ID, or a
// keyspace name. Principal IDs are the caller's own identifiers and can
// look like anything, so they are never echoed.
func echoable(what, id string) bool {
	switch what {
	case "key":
		return keyIDRE.MatchString(id)
	case "keyspace":
		return keyspaceNameRE.MatchString(id) && len(id) <= 40
	}
	return false
}

func invalidf(format string, args ...any) error {
	return &Error{Kind: Invalid, Code: "invalid_request", Msg: fmt.Sprintf(format, args...)}
}
