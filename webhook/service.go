package webhook

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/token"
)

// MaxWebhooks bounds the webhooks of an installation (each event is one
// outbox row per subscriber, written in the change's transaction).
const MaxWebhooks = 100

// DefaultRotationGrace is how long the replaced secret keeps signing after
// a rotation, so receivers can switch without missing a delivery.
const DefaultRotationGrace = 24 * time.Hour

// Tokens is what the Service needs of the token service.
type Tokens interface {
	// Refuse records that a was refused action for lacking need and
	// returns the PermissionDenied error to give it.
	Refuse(ctx context.Context, a *token.Actor, action, need string) error
	Now() time.Time
}

// Config configures a Service.
type Config struct {
	Store  Store
	Box    *seal.Box // seals the signing secrets with the master key
	Tokens Tokens
	// AllowPrivate allows webhook URLs with plain http (for receivers on
	// loopback and private networks, LATCHKEY_OUTBOUND_ALLOW_PRIVATE);
	// otherwise only https.
	AllowPrivate bool
}

// Service manages webhooks: the /v1/webhooks API calls it.
type Service struct{ c Config }

// NewService returns a Service.
func NewService(c Config) *Service { return &Service{c: c} }

// Params are the fields of a webhook to create or change; nil leaves one
// as it is.
type Params struct {
	URL         *string
	Events      *[]string
	Description *string
	Enabled     *bool
}

// may lets a through with scope need. A personal credential (one owned
// by a user) needs admin as well: webhooks are a feed of every owner's
// changes, like the audit log, which personal credentials do not read.
func (s *Service) may(ctx context.Context, a *token.Actor, action, need string) error {
	if a.Owner != nil && !a.May(token.ScopeAdmin) {
		return s.c.Tokens.Refuse(ctx, a, action, token.ScopeAdmin)
	}
	if a.May(need) {
		return nil
	}
	return s.c.Tokens.Refuse(ctx, a, action, need)
}

func (s *Service) audit(a *token.Actor, action, id string, d map[string]string) *token.AuditEvent {
	now := s.c.Tokens.Now()
	return &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: a.KeyID, Action: action,
		TargetType: "webhook", TargetID: id, Outcome: token.OutcomeSuccess, RequestID: a.RequestID, Detail: d}
}

func invalid(code, msg string) error { return token.Errorf(token.Invalid, code, "%s", msg) }

// checkURL validates a receiver URL: absolute https (http only where
// private addresses are allowed), a host, no credentials or fragment.
func (s *Service) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || len(raw) > 2048 {
		return invalid("bad_url", "url must be an absolute https URL of at most 2048 characters")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.c.AllowPrivate:
	default:
		return invalid("bad_url", "url must use https (http only with LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true)")
	}
	if u.User != nil || u.Fragment != "" {
		return invalid("bad_url", "url must not carry credentials or a fragment")
	}
	return nil
}

func checkEvents(es []string) ([]string, error) {
	if len(es) == 0 {
		return nil, invalid("bad_events", "events must name at least one event: "+strings.Join(Events, ", "))
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		if !ValidEvent(e) {
			return nil, invalid("bad_events", "unknown event; known: "+strings.Join(Events, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}

func checkDescription(d string) error {
	if len(d) > 500 || strings.ContainsRune(d, 0) {
		return invalid("bad_description", "description must be at most 500 characters")
	}
	return nil
}

// Create adds a webhook and returns it with its signing secret, which is
// shown this once (webhooks:write).
func (s *Service) Create(ctx context.Context, a *token.Actor, p Params) (*Webhook, Secret, error) {
	const action = "webhook.create"
	if err := s.may(ctx, a, action, token.ScopeWebhooksWrite); err != nil {
		return nil, Secret{}, err
	}
	if p.URL == nil || p.Events == nil {
		return nil, Secret{}, invalid("bad_request", "url and events are required")
	}
	if err := s.checkURL(*p.URL); err != nil {
		return nil, Secret{}, err
	}
	evs, err := checkEvents(*p.Events)
	if err != nil {
		return nil, Secret{}, err
	}
	w := &Webhook{URL: *p.URL, Events: evs}
	if p.Description != nil {
		if err := checkDescription(*p.Description); err != nil {
			return nil, Secret{}, err
		}
		w.Description = *p.Description
	}
	now := s.c.Tokens.Now()
	w.ID, w.CreatedAt, w.UpdatedAt = token.NewID("wh", now), now, now
	w.Disabled = p.Enabled != nil && !*p.Enabled
	if w.Disabled {
		w.DisabledReason = "disabled"
	}
	sec := NewSecret()
	if w.Secret, err = s.seal(w.ID, sec); err != nil {
		return nil, Secret{}, err
	}
	// The store checks MaxWebhooks in the insert: a count read here first
	// would let concurrent creates pass it.
	if err := s.c.Store.CreateWebhook(ctx, w, s.audit(a, action, w.ID, map[string]string{"url": w.URL, "events": strings.Join(evs, ",")})); err != nil {
		if errors.Is(err, ErrTooManyWebhooks) {
			return nil, Secret{}, token.Errorf(token.Conflict, "too_many_webhooks", "at most %d webhooks", MaxWebhooks)
		}
		return nil, Secret{}, token.Unavailablef(err, "create webhook")
	}
	return w, sec, nil
}

func (s *Service) seal(id string, sec Secret) ([]byte, error) {
	b, err := s.c.Box.Seal([]byte(sec.Reveal()), "webhook:"+id)
	if err != nil {
		return nil, token.Unavailablef(err, "seal webhook secret")
	}
	return b, nil
}

// List returns every webhook (webhooks:read).
func (s *Service) List(ctx context.Context, a *token.Actor) ([]*Webhook, error) {
	if err := s.mayRead(ctx, a, "webhook.list"); err != nil {
		return nil, err
	}
	ws, err := s.c.Store.Webhooks(ctx)
	if err != nil {
		return nil, token.Unavailablef(err, "list webhooks")
	}
	return ws, nil
}

// mayRead: webhooks:read, or webhooks:write which implies it.
func (s *Service) mayRead(ctx context.Context, a *token.Actor, action string) error {
	if a.May(token.ScopeWebhooksWrite) {
		return s.may(ctx, a, action, token.ScopeWebhooksWrite)
	}
	return s.may(ctx, a, action, token.ScopeWebhooksRead)
}

func notFound(err error, what string) error {
	// An ID the store cannot even hold (a NUL, bad UTF-8: Invalid from
	// PostgreSQL) names no webhook either.
	if errors.Is(err, token.ErrNotFound) || token.KindOf(err) == token.Invalid {
		return token.Errorf(token.NotFound, what+"_not_found", "%s not found", what)
	}
	return token.Unavailablef(err, "%s", what)
}

// Get returns webhook id (webhooks:read).
func (s *Service) Get(ctx context.Context, a *token.Actor, id string) (*Webhook, error) {
	if err := s.mayRead(ctx, a, "webhook.read"); err != nil {
		return nil, err
	}
	w, err := s.c.Store.Webhook(ctx, id)
	if err != nil {
		return nil, notFound(err, "webhook")
	}
	return w, nil
}

// Update changes webhook id (webhooks:write). Enabling a webhook disabled
// by a 410 resumes its pending deliveries.
func (s *Service) Update(ctx context.Context, a *token.Actor, id string, p Params) (*Webhook, error) {
	const action = "webhook.update"
	if err := s.may(ctx, a, action, token.ScopeWebhooksWrite); err != nil {
		return nil, err
	}
	d := map[string]string{}
	var evs []string
	if p.URL != nil {
		if err := s.checkURL(*p.URL); err != nil {
			return nil, err
		}
		d["url"] = *p.URL
	}
	if p.Events != nil {
		var err error
		if evs, err = checkEvents(*p.Events); err != nil {
			return nil, err
		}
		d["events"] = strings.Join(evs, ",")
	}
	if p.Description != nil {
		if err := checkDescription(*p.Description); err != nil {
			return nil, err
		}
		d["description"] = "changed"
	}
	if p.Enabled != nil {
		d["enabled"] = map[bool]string{true: "true", false: "false"}[*p.Enabled]
	}
	now := s.c.Tokens.Now()
	w, err := s.c.Store.UpdateWebhook(ctx, id, func(w *Webhook) error {
		if p.URL != nil {
			w.URL = *p.URL
		}
		if evs != nil {
			w.Events = evs
		}
		if p.Description != nil {
			w.Description = *p.Description
		}
		if p.Enabled != nil {
			w.Disabled, w.DisabledReason = !*p.Enabled, ""
			if w.Disabled {
				w.DisabledReason = "disabled"
			}
		}
		w.UpdatedAt = now
		return nil
	}, s.audit(a, action, id, d))
	if err != nil {
		return nil, notFound(err, "webhook")
	}
	return w, nil
}

// RotateSecret gives webhook id a new signing secret, returned this once;
// the old one keeps signing beside it for grace (DefaultRotationGrace if
// negative; zero: not at all) (webhooks:write).
func (s *Service) RotateSecret(ctx context.Context, a *token.Actor, id string, grace time.Duration) (*Webhook, Secret, error) {
	const action = "webhook.rotate_secret"
	if err := s.may(ctx, a, action, token.ScopeWebhooksWrite); err != nil {
		return nil, Secret{}, err
	}
	if grace < 0 {
		grace = DefaultRotationGrace
	}
	if grace > 7*24*time.Hour {
		return nil, Secret{}, invalid("bad_grace", "grace may be at most 7 days")
	}
	sec := NewSecret()
	sealed, err := s.seal(id, sec)
	if err != nil {
		return nil, Secret{}, err
	}
	now := s.c.Tokens.Now()
	w, err := s.c.Store.UpdateWebhook(ctx, id, func(w *Webhook) error {
		w.PrevSecret, w.PrevUntil = nil, time.Time{}
		if grace > 0 {
			w.PrevSecret, w.PrevUntil = w.Secret, now.Add(grace)
		}
		w.Secret, w.UpdatedAt = sealed, now
		return nil
	}, s.audit(a, action, id, map[string]string{"grace": grace.String()}))
	if err != nil {
		return nil, Secret{}, notFound(err, "webhook")
	}
	return w, sec, nil
}

// Delete removes webhook id and its deliveries (webhooks:write).
func (s *Service) Delete(ctx context.Context, a *token.Actor, id string) error {
	const action = "webhook.delete"
	if err := s.may(ctx, a, action, token.ScopeWebhooksWrite); err != nil {
		return err
	}
	if err := s.c.Store.DeleteWebhook(ctx, id, s.audit(a, action, id, nil)); err != nil {
		return notFound(err, "webhook")
	}
	return nil
}

// Deliveries returns a page of webhook id's deliveries, newest first
// (webhooks:read).
func (s *Service) Deliveries(ctx context.Context, a *token.Actor, id string, before int64, limit int) ([]*Delivery, int64, error) {
	if _, err := s.Get(ctx, a, id); err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	ds, next, err := s.c.Store.Deliveries(ctx, id, before, limit)
	if err != nil {
		return nil, 0, token.Unavailablef(err, "list deliveries")
	}
	return ds, next, nil
}

// Delivery returns delivery did of webhook id with the record of its
// attempts, newest first (webhooks:read). A delivery of another webhook
// is not found.
func (s *Service) Delivery(ctx context.Context, a *token.Actor, id, did string) (*Delivery, error) {
	if _, err := s.Get(ctx, a, id); err != nil {
		return nil, err
	}
	d, err := s.c.Store.Delivery(ctx, id, did)
	if err != nil {
		return nil, notFound(err, "delivery")
	}
	return d, nil
}

// Redeliver sends delivery did of webhook id again, as soon as a node is
// free, with the same webhook-id (webhooks:write).
func (s *Service) Redeliver(ctx context.Context, a *token.Actor, id, did string) (*Delivery, error) {
	const action = "webhook.redeliver"
	if err := s.may(ctx, a, action, token.ScopeWebhooksWrite); err != nil {
		return nil, err
	}
	d, err := s.c.Store.Redeliver(ctx, id, did, s.c.Tokens.Now(), s.audit(a, action, id, map[string]string{"delivery": did}))
	if err != nil {
		return nil, notFound(err, "delivery")
	}
	return d, nil
}

// keys returns the HMAC keys that sign w's deliveries at now: its secret's,
// and the replaced secret's during a rotation's grace.
func keys(box *seal.Box, w *Webhook, now time.Time) ([][]byte, error) {
	var out [][]byte
	for _, sealed := range [][]byte{w.Secret, w.PrevSecret} {
		if len(sealed) == 0 || (len(out) > 0 && !now.Before(w.PrevUntil)) {
			continue
		}
		plain, err := box.Open(sealed, "webhook:"+w.ID)
		if err != nil {
			return nil, err
		}
		k, err := SecretKey(string(plain))
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}
