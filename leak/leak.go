// Package leak is latchkey's leak response (SPEC §3.8): a leaked latchkey
// secret — an API key, an opaque OAuth access token, a refresh token, an
// app's client secret — reported by anyone (POST /v1/leaks) or by GitHub's
// secret scanning (POST /v1/leaks/github) is revoked at once with reason
// "leaked", and the report is audited and kept. It also finds secrets in
// files and git history (Find, ScanGit) and writes the rules of other
// scanners (Rules).
//
// A public report never tells whether the token was real: the handler
// hands it to Submit, which only keeps it (its digest, never the token) in
// the store's table of pending reports, and a worker does the lookup and
// the revocation off the request path. A kept report survives a crash or
// a restart: it is handled by the next worker to claim it, on any node.
package leak

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// Reason is the revocation reason of a leaked secret; the key.revoke audit
// event carries it as detail reason=leaked (the key.leaked webhook event).
const Reason = "leaked"

// Sources of reports.
const (
	SourceAPI    = "api"
	SourceGitHub = "github"
)

// Kinds of reported secrets.
const (
	KindAPIKey       = "api_key"
	KindAccessToken  = "access_token"
	KindRefreshToken = "refresh_token"
	KindGrant        = "grant"
	KindClientSecret = "client_secret"
)

// Outcomes of reports.
const (
	// OutcomeRevoked: the secret was live and is revoked now.
	OutcomeRevoked = "revoked"
	// OutcomeAlreadyRevoked: the secret is known but was revoked (or
	// replaced) before.
	OutcomeAlreadyRevoked = "already_revoked"
	// OutcomeUnknown: a string in latchkey's format that no secret has.
	OutcomeUnknown = "unknown"
)

// Limits of a report.
const (
	// MaxURLLen bounds the URL of a report (longer ones are cut).
	MaxURLLen = 2048
	// MaxPending is how many public reports wait for the worker at most
	// (the rows of the store's pending table); Submit answers ErrBusy
	// while that many are pending.
	MaxPending = 10000
)

// Report is a kept leak report. It never holds the token.
type Report struct {
	ID      string
	Time    time.Time
	Source  string // SourceAPI or SourceGitHub
	URL     string // where the token was seen, as reported
	Address string // the reporting client's address ("" for GitHub)
	// Start is the displayable start of the token (apitoken.Token.Start).
	Start string
	// Kind and TargetID name the secret: a key ID (api_key, access_token,
	// grant), a grant's key ID (refresh_token) or an app ID
	// (client_secret); empty when unknown.
	Kind     string
	TargetID string
	Outcome  string
}

// Origin is where a report comes from.
type Origin struct {
	Source    string // SourceAPI or SourceGitHub
	URL       string // where the token was seen
	Address   string // the reporting client's address ("" for GitHub)
	RequestID string // the request that brought it, for the audit record
}

// Pending is a public report kept until the worker handles it. It holds
// what the handling needs and never the token: its digest (what a key, a
// refresh token or a client secret is looked up by), its prefix (which
// kind of secret to look for) and its displayable start. Its ID becomes
// the report's, so a report handled twice (after a crash, or by two nodes
// whose leases overlapped) is written once.
type Pending struct {
	ID     string
	Time   time.Time
	Digest apitoken.Digest
	Prefix string
	Start  string
	Origin Origin
	// ClaimedUntil is the lease of the worker handling it (zero: free);
	// Attempts counts its claims.
	ClaimedUntil time.Time
	Attempts     int
}

// Filter selects reports, newest first.
type Filter struct {
	Before string // cursor: reports with ID < Before
	Limit  int
}

// Store keeps leak reports and finds reported client secrets.
type Store interface {
	// AddLeakReport stores r and ev in one write, and removes the pending
	// report of ID r.ID if there is one. A report of an existing ID is an
	// error wrapping token.ErrConflict, and nothing is written.
	AddLeakReport(ctx context.Context, r *Report, ev *token.AuditEvent) error
	// LeakReports returns up to f.Limit reports, newest first, and the
	// cursor of the next page ("" if none).
	LeakReports(ctx context.Context, f Filter) ([]*Report, string, error)
	// ClientBySecretDigest returns the ID of the app whose current or
	// previous client secret has digest d, or an error wrapping
	// token.ErrNotFound.
	ClientBySecretDigest(ctx context.Context, d []byte) (string, error)

	// AddPendingLeak keeps p, free to claim, unless max reports are
	// pending already: then it returns ErrBusy and keeps nothing. (With
	// several writers the bound may be passed by a few.)
	AddPendingLeak(ctx context.Context, p *Pending, max int) error
	// ClaimPendingLeaks leases up to limit pending reports that are free
	// at now (ClaimedUntil <= now) until leaseUntil, oldest first, and
	// counts an attempt of each; concurrent claimers get different
	// reports.
	ClaimPendingLeaks(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Pending, error)
	// RetryPendingLeak moves the lease of pending report id to at (when
	// it may be claimed again), if it is still claimed until
	// claimedUntil (the lease this worker holds).
	RetryPendingLeak(ctx context.Context, id string, claimedUntil, at time.Time) error
	// PendingLeaks returns how many reports are pending with an ID up to
	// upTo ("": all of them) and the highest ID pending ("" if none).
	PendingLeaks(ctx context.Context, upTo string) (int, string, error)
}

// Config configures a Service.
type Config struct {
	Store  Store
	Tokens *token.Service
	OAuth  *oauth.Service // nil: no OAuth secrets to look for
	Log    *slog.Logger
	// Poll is how often the worker looks for pending reports it was not
	// woken for: left by a crashed node, or due for a retry (default
	// DefaultPoll).
	Poll time.Duration
	// WorkerDelay holds the worker this long after New before it handles
	// anything (tests: reports stay pending until the process is killed).
	WorkerDelay time.Duration
	// Now is the clock of the leases (default time.Now); a report's time
	// is Tokens.Now.
	Now func() time.Time
	// RetryBase is the first wait after a failed handling (default 1s),
	// doubled at every attempt up to 5 minutes.
	RetryBase time.Duration
}

// Timing of the worker.
const (
	// DefaultPoll is Config.Poll's default.
	DefaultPoll = 3 * time.Second
	// Lease is how long a claimed report is the worker's: a node killed
	// while it holds reports leaves them to others this long after the
	// claim.
	Lease = time.Minute
	// handleTimeout bounds the handling of one report.
	handleTimeout = 15 * time.Second
	// claimBatch is how many reports one claim leases.
	claimBatch = 16
	// retryMax bounds the wait between two attempts of a report.
	retryMax = 5 * time.Minute
)

// Service revokes reported secrets and keeps the reports.
type Service struct {
	store  Store
	tokens *token.Service
	oauth  *oauth.Service
	log    *slog.Logger
	poll   time.Duration
	delay  time.Duration
	now    func() time.Time
	retry  time.Duration

	mu      sync.RWMutex // guards closed; held to read while a report is kept
	closed  bool
	closing chan struct{} // closed by Close
	wake    chan struct{} // a report was kept (buffered: one wake-up)
	done    chan struct{} // closed when the worker has stopped
	// stop ends the handling of what is still pending DrainTimeout after
	// Close.
	stop       context.Context
	cancelStop context.CancelFunc

	progressMu sync.Mutex
	progress   chan struct{} // closed (and replaced) after each claimed batch
}

// DrainTimeout bounds how long Close handles the reports still pending;
// what is left then stays kept, for the next start or another node.
const DrainTimeout = 30 * time.Second

// ErrBusy is Submit's error while MaxPending reports are pending: the
// report is not taken (the answer depends on the load, never on the
// token).
var ErrBusy = errors.New("leak: too many reports pending")

// New returns a Service and starts its worker; Close stops it.
func New(c Config) *Service {
	s := &Service{store: c.Store, tokens: c.Tokens, oauth: c.OAuth, log: c.Log, poll: c.Poll, delay: c.WorkerDelay, now: c.Now, retry: c.RetryBase,
		closing: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{}), progress: make(chan struct{})}
	s.stop, s.cancelStop = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.poll <= 0 {
		s.poll = DefaultPoll
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retry <= 0 {
		s.retry = time.Second
	}
	go s.work()
	return s
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("leak: service closed")

// Submit keeps a public report of secret (from o, whose Source is
// SourceAPI) for the worker and returns before anything is looked up.
// A string that is not a token in latchkey's format (no prefix, or a bad
// checksum: what anyone can compute) is not kept; every well-formed one
// is, live or not, so the answer and its time are the same for every
// token. While MaxPending reports are pending it returns ErrBusy.
func (s *Service) Submit(ctx context.Context, secret apitoken.Token, o Origin) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if apitoken.Check(secret.Reveal()) != apitoken.Valid {
		return nil
	}
	o.Source, o.URL = SourceAPI, cutURL(o.URL)
	now := s.tokens.Now()
	p := &Pending{ID: token.NewID("leak", now), Time: now, Digest: secret.Digest(), Prefix: secret.Prefix(),
		Start: secret.Start(), Origin: o}
	if err := s.store.AddPendingLeak(ctx, p, MaxPending); err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Flush waits until every report pending when it was called was handled.
func (s *Service) Flush(ctx context.Context) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	_, last, err := s.store.PendingLeaks(ctx, "")
	if err != nil || last == "" {
		return err
	}
	for {
		s.progressMu.Lock()
		progress := s.progress
		s.progressMu.Unlock()
		n, _, err := s.store.PendingLeaks(ctx, last)
		if err != nil || n == 0 {
			return err
		}
		select {
		case s.wake <- struct{}{}:
		default:
		}
		// Rows claimed by another node or waiting for a retry are seen
		// again at the next poll.
		t := time.NewTimer(s.poll)
		select {
		case <-progress:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}

// Close handles the reports still pending, for at most DrainTimeout, and
// stops the worker; what is left stays kept.
func (s *Service) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	t := time.AfterFunc(DrainTimeout, s.cancelStop)
	defer t.Stop()
	<-s.done
}

func (s *Service) work() {
	defer close(s.done)
	if s.delay > 0 {
		t := time.NewTimer(s.delay)
		select {
		case <-t.C:
		case <-s.closing:
			t.Stop()
			return
		}
	}
	tick := time.NewTicker(s.poll)
	defer tick.Stop()
	for {
		s.drain()
		select {
		case <-s.wake:
		case <-tick.C:
		case <-s.closing:
			s.drain()
			return
		}
	}
}

// drain handles pending reports until none is free to claim (or the
// store fails, or Close's time is up).
func (s *Service) drain() {
	for s.stop.Err() == nil {
		now := s.now()
		leaseUntil := now.Add(Lease)
		ps, err := s.store.ClaimPendingLeaks(s.stop, now, leaseUntil, claimBatch)
		if err != nil {
			if s.stop.Err() == nil {
				s.log.Error("leak: claim pending reports", "err", err)
			}
			return
		}
		for _, p := range ps {
			// What cannot be handled within the lease is left to the
			// next claim.
			if s.stop.Err() != nil || s.now().Add(handleTimeout).After(leaseUntil) {
				break
			}
			s.handlePending(p)
		}
		s.progressMu.Lock()
		close(s.progress)
		s.progress = make(chan struct{})
		s.progressMu.Unlock()
		if len(ps) < claimBatch {
			return
		}
	}
}

// handlePending handles claimed report p, and on failure lets it be
// claimed again after a backoff that doubles with every attempt.
func (s *Service) handlePending(p *Pending) {
	// A report outlives the request that made it: its own deadline.
	ctx, cancel := context.WithTimeout(s.stop, handleTimeout)
	defer cancel()
	_, err := s.handle(ctx, p)
	if err == nil {
		return
	}
	s.log.Error("leak: handle report", "id", p.ID, "start", p.Start, "attempts", p.Attempts, "err", err)
	wait := retryMax
	if p.Attempts < 20 {
		wait = min(s.retry<<max(p.Attempts-1, 0), retryMax)
	}
	wait += rand.N(wait/4 + 1) // jitter: nodes do not retry in step
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if err := s.store.RetryPendingLeak(rctx, p.ID, p.ClaimedUntil, s.now().Add(wait)); err != nil {
		s.log.Error("leak: postpone report", "id", p.ID, "err", err)
	}
}

// cutURL makes a reported URL fit to keep: valid UTF-8 without control
// characters (PostgreSQL refuses NUL), at most MaxURLLen bytes.
func cutURL(u string) string {
	u = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(u, ""))
	if len(u) > MaxURLLen {
		u = strings.ToValidUTF8(u[:MaxURLLen], "")
	}
	return u
}

// Handle revokes secret if it is a live latchkey secret and keeps the
// report, synchronously: the GitHub endpoint, whose answer says what the
// token was. A string that is not a token in latchkey's format (no
// prefix, or a bad checksum) is neither looked up nor kept, and its
// report is nil.
func (s *Service) Handle(ctx context.Context, secret apitoken.Token, o Origin) (*Report, error) {
	if apitoken.Check(secret.Reveal()) != apitoken.Valid {
		return nil, nil
	}
	now := s.tokens.Now()
	return s.handle(ctx, &Pending{ID: token.NewID("leak", now), Time: now, Digest: secret.Digest(), Prefix: secret.Prefix(),
		Start: secret.Start(), Origin: o})
}

// handle revokes what p's digest names and keeps the report, with p's ID,
// removing p from the pending reports in the same write. A report already
// kept (p handled before, its pending row not yet seen gone) is not kept
// again: its report is nil.
func (s *Service) handle(ctx context.Context, p *Pending) (*Report, error) {
	o := p.Origin
	r := &Report{ID: p.ID, Time: p.Time, Source: o.Source, URL: cutURL(o.URL), Address: o.Address,
		Start: p.Start, Outcome: OutcomeUnknown}
	a := &token.Actor{KeyID: "leak-report", Name: "leak report (" + o.Source + ")", Scopes: token.SystemActor.Scopes,
		IP: o.Address, RequestID: o.RequestID}
	if err := s.revoke(ctx, a, p, r); err != nil {
		return nil, err
	}
	detail := map[string]string{"source": o.Source, "outcome": r.Outcome, "token_start": r.Start, "kind": r.Kind}
	if r.URL != "" {
		detail["url"] = r.URL
	}
	if o.Address != "" {
		detail["address"] = o.Address
	}
	targetType := "key"
	if r.Kind == KindClientSecret {
		targetType = "app"
	}
	now := s.tokens.Now()
	ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: a.KeyID, Action: "leak.report",
		TargetType: targetType, TargetID: r.TargetID, Outcome: token.OutcomeSuccess, RequestID: o.RequestID, Detail: detail}
	if err := s.store.AddLeakReport(ctx, r, ev); err != nil {
		if errors.Is(err, token.ErrConflict) {
			return nil, nil // kept by an earlier handling
		}
		return nil, err
	}
	return r, nil
}

// revoke finds what the secret of p's digest and prefix is and ends it,
// filling r's kind, target and outcome.
func (s *Service) revoke(ctx context.Context, a *token.Actor, p *Pending, r *Report) error {
	d := p.Digest
	switch p.Prefix {
	case oauth.SecretPrefix:
		if s.oauth == nil {
			return nil
		}
		appID, err := s.store.ClientBySecretDigest(ctx, d[:])
		if errors.Is(err, token.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		r.Kind, r.TargetID = KindClientSecret, appID
		ended, err := s.oauth.EndLeakedSecret(ctx, a, appID, d, Reason)
		if err != nil {
			return err
		}
		r.Outcome = outcome(ended)
		return nil
	case oauth.RefreshPrefix:
		if s.oauth == nil {
			return nil
		}
		grantID, ended, err := s.oauth.EndLeakedRefresh(ctx, a, d, Reason)
		if err != nil || grantID == "" {
			return err
		}
		r.Kind, r.TargetID, r.Outcome = KindRefreshToken, grantID, outcome(ended)
		return nil
	}
	k, err := s.tokens.Store().KeyByDigest(ctx, d)
	if errors.Is(err, token.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.Kind, r.TargetID = KindAPIKey, k.ID
	live := k.RevokedAt.IsZero()
	// A report handled again after an attempt that revoked the key but
	// did not keep the report (a crash, a storage error) still says it
	// revoked it.
	resumed := !live && p.Attempts > 1 && k.RevokeReason == Reason && !k.RevokedAt.Before(p.Time)
	if live {
		if _, err := s.tokens.RevokeKey(ctx, a, k.ID, Reason); err != nil {
			return err
		}
	}
	if s.oauth != nil {
		switch k.Keyspace {
		case oauth.AccessKeyspace:
			r.Kind = KindAccessToken
		case oauth.GrantKeyspace:
			r.Kind = KindGrant
		}
		// An OAuth token's grant ends with it (even when the token was
		// revoked already: its grant may not be).
		grantEnded, err := s.oauth.EndLeakedKey(ctx, a, k, Reason)
		if err != nil {
			return err
		}
		live = live || grantEnded
	}
	r.Outcome = outcome(live || resumed)
	return nil
}

func outcome(ended bool) string {
	if ended {
		return OutcomeRevoked
	}
	return OutcomeAlreadyRevoked
}

// Reports lists kept reports for an actor that may read the audit log.
func (s *Service) Reports(ctx context.Context, a *token.Actor, f Filter) ([]*Report, string, error) {
	if !a.May(token.ScopeAuditRead) || (a.Owner != nil && !a.May(token.ScopeAdmin)) {
		need := token.ScopeAuditRead
		if a.May(token.ScopeAuditRead) {
			need = token.ScopeAdmin
		}
		return nil, "", s.tokens.Refuse(ctx, a, "leak.list", need)
	}
	if f.Limit <= 0 {
		f.Limit = token.DefaultPageSize
	}
	if f.Limit > token.MaxPageSize {
		return nil, "", token.Errorf(token.Invalid, "invalid_request", "limit must be at most %d", token.MaxPageSize)
	}
	rs, next, err := s.store.LeakReports(ctx, f)
	if token.KindOf(err) == token.Invalid { // a cursor with a NUL (PostgreSQL)
		return nil, "", token.Errorf(token.Invalid, "invalid_request", "bad cursor")
	}
	if err != nil {
		return nil, "", token.Unavailablef(err, "list leak reports")
	}
	return rs, next, nil
}
