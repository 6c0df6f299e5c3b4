// Package leak is latchkey's leak response (SPEC §3.8): a leaked latchkey
// secret — an API key, an opaque OAuth access token, a refresh token, an
// app's client secret — reported by anyone (POST /v1/leaks) or by GitHub's
// secret scanning (POST /v1/leaks/github) is revoked at once with reason
// "leaked", and the report is audited and kept. It also finds secrets in
// files and git history (Find, ScanGit) and writes the rules of other
// scanners (Rules).
//
// A public report never tells whether the token was real: the handler
// hands it to Submit, which only queues it, and one worker does the lookup
// and the revocation off the request path.
package leak

import (
	"context"
	"errors"
	"log/slog"
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
	// QueueLen is how many public reports wait for the worker at most;
	// Submit blocks while the queue is full.
	QueueLen = 1024
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

// Filter selects reports, newest first.
type Filter struct {
	Before string // cursor: reports with ID < Before
	Limit  int
}

// Store keeps leak reports and finds reported client secrets.
type Store interface {
	// AddLeakReport stores r and ev in one write.
	AddLeakReport(ctx context.Context, r *Report, ev *token.AuditEvent) error
	// LeakReports returns up to f.Limit reports, newest first, and the
	// cursor of the next page ("" if none).
	LeakReports(ctx context.Context, f Filter) ([]*Report, string, error)
	// ClientBySecretDigest returns the ID of the app whose current or
	// previous client secret has digest d, or an error wrapping
	// token.ErrNotFound.
	ClientBySecretDigest(ctx context.Context, d []byte) (string, error)
}

// Config configures a Service.
type Config struct {
	Store  Store
	Tokens *token.Service
	OAuth  *oauth.Service // nil: no OAuth secrets to look for
	Log    *slog.Logger
}

// Service revokes reported secrets and keeps the reports.
type Service struct {
	store  Store
	tokens *token.Service
	oauth  *oauth.Service
	log    *slog.Logger

	queue  chan job
	mu     sync.RWMutex // guards closed; held to read while sending on queue
	closed bool
	done   chan struct{} // closed when the worker has stopped
	// stop ends the handling of what is still queued DrainTimeout after
	// Close.
	stop       context.Context
	cancelStop context.CancelFunc
}

// DrainTimeout bounds how long Close handles the reports still queued;
// what is left then is logged and dropped.
const DrainTimeout = 30 * time.Second

// ErrBusy is Submit's error while the queue is full: the report is not
// taken (the answer depends on the load, never on the token).
var ErrBusy = errors.New("leak: too many reports queued")

// job is a queued public report, or a barrier (flushed set) for Flush.
type job struct {
	secret  apitoken.Token
	origin  Origin
	flushed chan struct{}
}

// New returns a Service and starts its worker; Close stops it.
func New(c Config) *Service {
	s := &Service{store: c.Store, tokens: c.Tokens, oauth: c.OAuth, log: c.Log,
		queue: make(chan job, QueueLen), done: make(chan struct{})}
	s.stop, s.cancelStop = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	go s.work()
	return s
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("leak: service closed")

// Submit queues a public report of secret (from o, whose Source is
// SourceAPI) and returns before anything is looked up: its time and its
// answer are the same for every string. While the queue is full it
// returns ErrBusy at once (requests must not pile up behind it).
func (s *Service) Submit(ctx context.Context, secret apitoken.Token, o Origin) error {
	o.Source, o.URL = SourceAPI, cutURL(o.URL)
	return s.enqueue(ctx, job{secret: secret, origin: o}, false)
}

// enqueue hands j to the worker, waiting for room if wait is set (else
// ErrBusy when the queue is full); the read lock keeps Close from closing
// the queue meanwhile.
func (s *Service) enqueue(ctx context.Context, j job, wait bool) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if !wait {
		select {
		case s.queue <- j:
			return nil
		default:
			return ErrBusy
		}
	}
	select {
	case s.queue <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush waits until every report submitted before it was handled.
func (s *Service) Flush(ctx context.Context) error {
	j := job{flushed: make(chan struct{})}
	if err := s.enqueue(ctx, j, true); err != nil {
		return err
	}
	select {
	case <-j.flushed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close handles the reports still queued, for at most DrainTimeout, and
// stops the worker.
func (s *Service) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	t := time.AfterFunc(DrainTimeout, s.cancelStop)
	defer t.Stop()
	<-s.done
}

func (s *Service) work() {
	defer close(s.done)
	for j := range s.queue {
		if j.flushed != nil {
			close(j.flushed)
			continue
		}
		// A report outlives the request that made it: its own deadline.
		ctx, cancel := context.WithTimeout(s.stop, 30*time.Second)
		if _, err := s.Handle(ctx, j.secret, j.origin); err != nil {
			s.log.Error("leak: handle report", "start", j.secret.Start(), "err", err)
		}
		cancel()
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
// report: synchronously (the GitHub endpoint, whose answer says what the
// token was, and the worker of Submit). A string that is not a token in
// latchkey's format (no prefix, or a bad checksum) is neither looked up
// nor kept, and its report is nil.
func (s *Service) Handle(ctx context.Context, secret apitoken.Token, o Origin) (*Report, error) {
	if apitoken.Check(secret.Reveal()) != apitoken.Valid {
		return nil, nil
	}
	now := s.tokens.Now()
	r := &Report{ID: token.NewID("leak", now), Time: now, Source: o.Source, URL: cutURL(o.URL), Address: o.Address,
		Start: secret.Start(), Outcome: OutcomeUnknown}
	a := &token.Actor{KeyID: "leak-report", Name: "leak report (" + o.Source + ")", Scopes: token.SystemActor.Scopes,
		IP: o.Address, RequestID: o.RequestID}
	if err := s.revoke(ctx, a, secret, r); err != nil {
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
	ev := &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: a.KeyID, Action: "leak.report",
		TargetType: targetType, TargetID: r.TargetID, Outcome: token.OutcomeSuccess, RequestID: o.RequestID, Detail: detail}
	if err := s.store.AddLeakReport(ctx, r, ev); err != nil {
		return nil, err
	}
	return r, nil
}

// revoke finds what secret is and ends it, filling r's kind, target and
// outcome.
func (s *Service) revoke(ctx context.Context, a *token.Actor, secret apitoken.Token, r *Report) error {
	d := secret.Digest()
	switch secret.Prefix() {
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
		grantID, ended, err := s.oauth.EndLeakedRefresh(ctx, a, secret.Reveal(), Reason)
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
	r.Outcome = outcome(live)
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
	if err != nil {
		return nil, "", token.Unavailablef(err, "list leak reports")
	}
	return rs, next, nil
}
