package token

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"
)

// IdempotencyTTL is how long the answer to an idempotent call is kept and
// replayed; afterwards the Idempotency-Key may be used for a new request.
const IdempotencyTTL = 24 * time.Hour

// ErrOutcomeUnknown marks a store error after which the change may or may
// not have been committed (the connection was lost during or after
// COMMIT). Stores wrap it; the Service reports it as Unavailable with the
// code "outcome_unknown".
var ErrOutcomeUnknown = errors.New("commit outcome unknown")

// StoredAnswer is the answer to one idempotent call, kept so that a retry
// with the same Idempotency-Key gets it again. Stores write the
// StoredAnswer attached to an AuditEvent (AuditEvent.Answer) in the
// transaction that writes the event, calling Render first.
type StoredAnswer struct {
	Scope       string // digest of the actor's key ID and the Idempotency-Key
	Operation   string // e.g. "key.rotate"
	Fingerprint string // digest of what was asked
	Status      int    // the transport's status code
	Body        []byte // the answer, sealed with the master key: it may hold a secret
	CreatedAt   time.Time
	ExpiresAt   time.Time

	render func() error
}

// Render fills Status and Body from the result of the change. Stores call
// it inside the write transaction, after the change was applied and before
// the record is written; an error aborts the transaction.
func (r *StoredAnswer) Render() error {
	if r == nil || r.render == nil {
		return nil
	}
	return r.render()
}

// OnRender sets what Render runs; the Service sets it, and store tests use
// it to see when a store renders.
func (r *StoredAnswer) OnRender(fn func() error) { r.render = fn }

// IdempotencyStore stores the answers of idempotent calls. The answers are
// written with the change itself (see StoredAnswer); a store writing one
// whose (Scope, Operation) is taken by an unexpired answer fails the whole
// transaction with ErrConflict, and replaces an expired one.
type IdempotencyStore interface {
	// IdempotentAnswer returns the answer stored for (scope, operation), or
	// ErrNotFound. It may return an expired answer.
	IdempotentAnswer(ctx context.Context, scope, operation string) (*StoredAnswer, error)
	// PruneIdempotency deletes the answers that expired before before and
	// returns how many it deleted.
	PruneIdempotency(ctx context.Context, before time.Time) (int64, error)
}

// Once is one idempotent management call: the first call with a given
// (credential, Key, Operation) runs, and the answer it got is replayed to
// every retry for IdempotencyTTL.
type Once struct {
	Key         string // the client's Idempotency-Key
	Operation   string // e.g. "key.rotate"
	Fingerprint string // digest of the request; another request with the same Key is refused
	// Render turns the call's result into the transport's answer (status
	// and body). It runs inside the write transaction; the result is the
	// type the operation documents (*CreatedKey, *Key, Rotated, []*Key).
	Render func(result any) (status int, body []byte, err error)

	svc    *Service
	scope  string
	status int
	plain  []byte
}

// Answer returns the answer rendered and stored for the call, once it
// succeeded; ok is false when none was stored.
func (o *Once) Answer() (status int, body []byte, ok bool) {
	if o == nil || o.plain == nil {
		return 0, nil, false
	}
	return o.status, o.plain, true
}

// Rotated is the result a Once renders for a rotation.
type Rotated struct {
	Created *CreatedKey
	Old     *Key
}

// Replayed is the answer an earlier call with the same Idempotency-Key got;
// it is returned as an error so that it takes the place of any result.
// Transports write Status and Body as they are.
type Replayed struct {
	Status int
	Body   []byte
}

func (r *Replayed) Error() string { return "replayed the stored answer" }

// WithOnce returns a copy of a whose changes are made idempotent by o.
func (a *Actor) WithOnce(o *Once) *Actor {
	c := *a
	c.once = o
	return &c
}

// Idempotent runs call at most once for o: if an unexpired answer is stored
// for the actor's credential, o.Key and o.Operation, it returns it as a
// *Replayed (or a 422 idempotency_key_mismatch if the request differs);
// if the same call is still running on this node, a 409
// idempotency_in_progress; otherwise it runs call with an actor whose
// change stores its answer in the same transaction. A nil o, or a Service
// without master key or without an IdempotencyStore, just runs call.
func (s *Service) Idempotent(ctx context.Context, a *Actor, o *Once, call func(*Actor) error) error {
	is, ok := s.store.(IdempotencyStore)
	if o == nil || o.Key == "" || s.secrets == nil || !ok {
		return call(a)
	}
	if err := validIdempotencyKey(o.Key); err != nil {
		return err
	}
	o.svc, o.scope = s, idempotencyDigest(a.KeyID, o.Key)
	if err := s.replay(ctx, is, o); err != nil {
		return err
	}
	flight := o.scope + "\x00" + o.Operation
	if _, busy := s.inflight.LoadOrStore(flight, struct{}{}); busy {
		return conflictf("idempotency_in_progress", "a request with this Idempotency-Key is still in progress; retry it with the same key later")
	}
	defer s.inflight.Delete(flight)
	if err := s.replay(ctx, is, o); err != nil { // it finished between the look-up and the claim
		return err
	}
	err := call(a.WithOnce(o))
	if err != nil && !errors.Is(err, ErrOutcomeUnknown) {
		// A duplicate on another node may have won: answer as it did.
		var rp *Replayed
		if rerr := s.replay(ctx, is, o); rerr != nil && (errors.As(rerr, &rp) || KindOf(rerr) == Invalid) {
			return rerr
		}
	}
	return err
}

// replay returns the stored answer for o as a *Replayed, a mismatch error,
// a store error, or nil when there is none.
func (s *Service) replay(ctx context.Context, is IdempotencyStore, o *Once) error {
	r, err := is.IdempotentAnswer(ctx, o.scope, o.Operation)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeErr(err, "look up idempotency key")
	}
	if !r.ExpiresAt.After(s.Now()) {
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(r.Fingerprint), []byte(o.Fingerprint)) != 1 {
		return Errorf(Invalid, "idempotency_key_mismatch",
			"this Idempotency-Key was already used for a different %s request; use a new key for a new request", o.Operation)
	}
	body, err := s.secrets.Open(r.Body, answerContext(r.Scope, r.Operation))
	if err != nil {
		return internal(err, "open stored answer")
	}
	return &Replayed{Status: r.Status, Body: body}
}

func answerContext(scope, op string) string { return "idempotency:" + scope + ":" + op }

// answer returns the answer to store with the event of a's change, or nil
// when a's call is not idempotent. result runs inside the write
// transaction, after the change.
func (a *Actor) answer(result func() any) *StoredAnswer {
	o := a.once
	if o == nil || o.svc == nil {
		return nil
	}
	now := o.svc.Now()
	r := &StoredAnswer{Scope: o.scope, Operation: o.Operation, Fingerprint: o.Fingerprint, CreatedAt: now, ExpiresAt: now.Add(IdempotencyTTL)}
	r.render = func() error {
		status, body, err := o.Render(result())
		if err != nil {
			return internal(err, "render idempotent answer")
		}
		sealed, err := o.svc.secrets.Seal(body, answerContext(r.Scope, r.Operation))
		if err != nil {
			return internal(err, "seal idempotent answer")
		}
		r.Status, r.Body = status, sealed
		o.status, o.plain = status, body
		return nil
	}
	return r
}

// PruneIdempotency deletes stored answers that expired before now.
func (s *Service) PruneIdempotency(ctx context.Context) (int64, error) {
	is, ok := s.store.(IdempotencyStore)
	if !ok {
		return 0, nil
	}
	n, err := is.PruneIdempotency(ctx, s.Now())
	return n, storeErr(err, "prune idempotency answers")
}
