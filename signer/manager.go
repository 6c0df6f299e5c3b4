package signer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/token"
)

// Schedule says when keys are published, sign and retire.
type Schedule struct {
	// Lead is how long a new key is published in the JWKS before it
	// signs: at least the JWKS cache lifetime, so every verifier that
	// cached the JWKS before the key appeared has refetched it by then.
	// Default JWKSCacheTTL.
	Lead time.Duration
	// Period is how long a key signs before its successor takes over.
	// Default SignPeriod.
	Period time.Duration
	// MaxTokenTTL is the longest lifetime of a token (default and cap
	// MaxTokenTTL); a key stays published this long (plus Leeway) after
	// it last signed.
	MaxTokenTTL time.Duration
	// Leeway is the clock skew verifiers allow (default DefaultLeeway).
	Leeway time.Duration
}

func (s Schedule) withDefaults() Schedule {
	if s.Lead <= 0 {
		s.Lead = JWKSCacheTTL
	}
	if s.Period <= 0 {
		s.Period = SignPeriod
	}
	if s.MaxTokenTTL <= 0 || s.MaxTokenTTL > MaxTokenTTL {
		s.MaxTokenTTL = MaxTokenTTL
	}
	if s.Leeway <= 0 {
		s.Leeway = DefaultLeeway
	}
	return s
}

// retireAfter is how long after a key last signs it must stay published.
func (s Schedule) retireAfter() time.Duration { return s.MaxTokenTTL + s.Leeway }

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	Store     token.SigningKeyStore
	MasterKey [32]byte
	// Alg is the algorithm of keys the schedule creates (default EdDSA).
	Alg      string
	Schedule Schedule
	Log      *slog.Logger
	Now      func() time.Time
}

// Manager keeps a node's copy of the signing-key ring in step with the
// store and rotates it. Every change goes through a compare-and-swap of the
// ring's version, so when several nodes share a store exactly one of them
// makes each rotation; the others load the result. A key enters the
// in-memory ring only after the store committed it, so a crash at any point
// never leaves a token signed by a key that the JWKS lacks.
type Manager struct {
	cfg   ManagerConfig
	sched Schedule

	mu      sync.Mutex // serialises loads and swaps
	ring    *Ring
	version int64
}

// NewManager returns a Manager; call Load (or Ensure) before use.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("signer: manager: no store")
	}
	if cfg.Alg == "" {
		cfg.Alg = EdDSA
	}
	if err := validAlg(cfg.Alg); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r, _ := NewRing()
	return &Manager{cfg: cfg, sched: cfg.Schedule.withDefaults(), ring: r}, nil
}

func validAlg(alg string) error {
	switch alg {
	case EdDSA, ES256, RS256:
		return nil
	}
	return fmt.Errorf("signer: unsupported algorithm %q (EdDSA, ES256 or RS256)", alg)
}

// Schedule returns the schedule in force.
func (m *Manager) Schedule() Schedule { return m.sched }

// Ring returns the current in-memory ring. It is replaced, never
// modified, by loads and rotations.
func (m *Manager) Ring() *Ring {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ring
}

// Load reads the ring from the store. A sealed key the master key cannot
// open is an error: the master key is wrong, and guessing would break
// verification of every token.
func (m *Manager) Load(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadLocked(ctx)
}

func (m *Manager) loadLocked(ctx context.Context) error {
	recs, version, err := m.cfg.Store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("signer: load signing keys: %w", err)
	}
	if version == m.version && m.ring != nil && version != 0 {
		return nil
	}
	keys := make([]*Key, 0, len(recs))
	for _, rec := range recs {
		k, err := Open(m.cfg.MasterKey, rec.Sealed)
		if err != nil {
			return fmt.Errorf("signer: signing key %s: %w (is LATCHKEY_MASTER_KEY the one it was sealed with?)", rec.KID, err)
		}
		if k.ID != rec.KID {
			return fmt.Errorf("signer: signing key %s: sealed kid does not match", rec.KID)
		}
		keys = append(keys, k)
	}
	r, err := NewRing(keys...)
	if err != nil {
		return err
	}
	m.ring, m.version = r, version
	return nil
}

// Ensure loads the ring and makes the changes the schedule calls for:
// a first key when none can sign, a successor published Lead before the
// signing key's period ends, and removal of retired keys. It returns
// whether this node changed the ring.
func (m *Manager) Ensure(ctx context.Context) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if err := m.loadLocked(ctx); err != nil {
			return false, err
		}
		now := m.cfg.Now().UTC()
		plan, err := m.planLocked(now)
		if err != nil || plan == nil {
			return false, err
		}
		err = m.applyLocked(ctx, plan, token.SystemActor)
		if errors.Is(err, token.ErrConflict) && attempt < 3 {
			continue // another node changed the ring: look again
		}
		return err == nil, err
	}
}

// RotateOptions adjust an on-demand rotation.
type RotateOptions struct {
	// Alg of the new key; empty means the configured algorithm.
	Alg string
	// Immediately makes the new key sign at once and withdraws every other
	// key from the JWKS: tokens they signed stop verifying. For a
	// compromised key; otherwise the new key is published Lead before it
	// signs and nothing valid is cut short.
	Immediately bool
	Actor       *token.Actor
}

// Rotate creates a new signing key now. A successor that is published but
// has not signed yet is replaced (it signed nothing, so nothing breaks).
func (m *Manager) Rotate(ctx context.Context, opts RotateOptions) (*Key, error) {
	alg := opts.Alg
	if alg == "" {
		alg = m.cfg.Alg
	}
	if err := validAlg(alg); err != nil {
		return nil, err
	}
	actor := opts.Actor
	if actor == nil {
		actor = token.SystemActor
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if err := m.loadLocked(ctx); err != nil {
			return nil, err
		}
		now := m.cfg.Now().UTC()
		nbf := now.Add(m.sched.Lead)
		if opts.Immediately {
			nbf = now
		}
		p, err := m.successorPlan(now, alg, nbf, opts.Immediately)
		if err != nil {
			return nil, err
		}
		err = m.applyLocked(ctx, p, actor)
		if errors.Is(err, token.ErrConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return p.added, nil
	}
}

// plan is one change of the ring.
type plan struct {
	added   *Key
	put     []*Key // added and shortened keys
	del     []string
	reason  string
	dropped []string // keys withdrawn before their time (Immediately)
}

// planLocked decides what the schedule needs at now; nil means nothing.
func (m *Manager) planLocked(now time.Time) (*plan, error) {
	keys := m.ring.all()
	var del []string
	var live []*Key
	for _, k := range keys {
		if !now.Before(k.RetireAt) {
			del = append(del, k.ID)
		} else {
			live = append(live, k)
		}
	}
	cur, _ := m.ring.Signing(now)
	var next *Key
	for _, k := range live {
		if now.Before(k.NotBefore) && (next == nil || k.NotBefore.After(next.NotBefore)) {
			next = k
		}
	}
	switch {
	case cur == nil:
		// No key can sign (first start, or down for longer than a period):
		// sign at once. Verifiers fetch the JWKS on an unknown kid.
		p, err := m.successorPlan(now, m.cfg.Alg, now, false)
		if err != nil {
			return nil, err
		}
		p.del = append(p.del, del...)
		p.reason = "first"
		return p, nil
	case cur != nil && next == nil && !now.Before(cur.SignUntil.Add(-2*m.sched.Lead)):
		p, err := m.successorPlan(now, m.cfg.Alg, now.Add(m.sched.Lead), false)
		if err != nil {
			return nil, err
		}
		p.del = append(p.del, del...)
		p.reason = "scheduled"
		return p, nil
	case len(del) > 0:
		return &plan{del: del, reason: "retire"}, nil
	}
	return nil, nil
}

// successorPlan adds a key that signs from nbf. Keys that sign now sign
// until nbf exactly — cut short, or extended when the successor they were
// waiting for is replaced — and stay published until their last tokens
// have expired; a successor that has not signed yet is dropped (it signed
// nothing). With drop, every other key is withdrawn.
func (m *Manager) successorPlan(now time.Time, alg string, nbf time.Time, drop bool) (*plan, error) {
	k, err := Generate(alg, now)
	if err != nil {
		return nil, err
	}
	k.NotBefore = nbf
	k.SignUntil = nbf.Add(m.sched.Period)
	k.RetireAt = k.SignUntil.Add(m.sched.retireAfter())
	p := &plan{added: k, put: []*Key{k}, reason: "rotate"}
	for _, old := range m.ring.all() {
		switch {
		case drop || !now.Before(old.RetireAt):
			p.del = append(p.del, old.ID)
			if drop && now.Before(old.RetireAt) {
				p.dropped = append(p.dropped, old.ID)
			}
		case now.Before(old.NotBefore):
			p.del = append(p.del, old.ID) // published, never signed
		case now.Before(old.SignUntil) && !old.SignUntil.Equal(nbf):
			// Signing now: it hands over at nbf. Tokens it signs until
			// then expire by nbf+MaxTokenTTL.
			c := *old
			c.SignUntil = nbf
			c.RetireAt = nbf.Add(m.sched.retireAfter())
			if !c.NotBefore.Before(c.SignUntil) { // nbf == now: it never signs again
				c.SignUntil = c.NotBefore.Add(time.Nanosecond)
				c.RetireAt = now.Add(m.sched.retireAfter())
			}
			p.put = append(p.put, &c)
		}
	}
	return p, nil
}

// applyLocked writes p by compare-and-swap and, once committed, installs
// the new ring.
func (m *Manager) applyLocked(ctx context.Context, p *plan, actor *token.Actor) error {
	now := m.cfg.Now().UTC()
	recs := make([]token.SigningKeyRecord, 0, len(p.put))
	for _, k := range p.put {
		sealed, err := Seal(m.cfg.MasterKey, k)
		if err != nil {
			return err
		}
		recs = append(recs, token.SigningKeyRecord{KID: k.ID, Alg: k.Alg, Sealed: sealed,
			NotBefore: k.NotBefore, SignUntil: k.SignUntil, RetireAt: k.RetireAt, CreatedAt: now})
	}
	var evs []*token.AuditEvent
	if p.added != nil {
		d := map[string]string{"alg": p.added.Alg, "reason": p.reason,
			"not_before": p.added.NotBefore.Format(time.RFC3339)}
		if len(p.dropped) > 0 {
			d["withdrawn"] = fmt.Sprint(p.dropped)
		}
		evs = append(evs, auditEvent(actor, "signing_key.rotate", p.added.ID, now, d))
	}
	for _, kid := range p.del {
		if !slices.Contains(p.dropped, kid) {
			evs = append(evs, auditEvent(token.SystemActor, "signing_key.retire", kid, now, nil))
		}
	}
	v, err := m.cfg.Store.SwapSigningKeys(ctx, m.version, recs, p.del, evs)
	if err != nil {
		if errors.Is(err, token.ErrConflict) {
			return err
		}
		return fmt.Errorf("signer: store signing keys: %w", err)
	}
	keys := make(map[string]*Key)
	for _, k := range m.ring.all() {
		keys[k.ID] = k
	}
	for _, kid := range p.del {
		delete(keys, kid)
	}
	for _, k := range p.put {
		keys[k.ID] = k
	}
	list := make([]*Key, 0, len(keys))
	for _, k := range keys {
		list = append(list, k)
	}
	r, err := NewRing(list...)
	if err != nil {
		return err
	}
	m.ring, m.version = r, v
	if p.added != nil {
		m.cfg.Log.Info("signing key created", "kid", p.added.ID, "alg", p.added.Alg,
			"reason", p.reason, "signs_from", p.added.NotBefore, "signs_until", p.added.SignUntil)
	}
	return nil
}

func auditEvent(a *token.Actor, action, kid string, now time.Time, d map[string]string) *token.AuditEvent {
	return &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: a.KeyID, Action: action,
		TargetType: "signing_key", TargetID: kid, Outcome: token.OutcomeSuccess, RequestID: a.RequestID, Detail: d}
}

// Run keeps the ring in step until ctx ends: every interval it loads the
// ring (picking up other nodes' rotations) and makes the scheduled changes.
// interval should be well below Lead; errors are logged and retried.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := m.Ensure(ctx); err != nil && ctx.Err() == nil {
			m.cfg.Log.Error("signing keys: scheduled check failed", "err", err)
		}
	}
}
