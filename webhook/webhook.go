// Package webhook is latchkey's lifecycle webhooks (SPEC §3.8): endpoints
// subscribed to events, the events derived from the audit record of the
// change that causes them (so the store writes them in that change's
// transaction: the outbox), Standard Webhooks signatures, and the
// Dispatcher that delivers the outbox at least once.
package webhook

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/token"
)

// Event types (SPEC §3.8; the names are part of the contract).
const (
	KeyCreated                = "key.created"
	KeyRotated                = "key.rotated"
	KeyRevoked                = "key.revoked"
	KeyLeaked                 = "key.leaked"
	KeyExpiring               = "key.expiring"
	RateLimitExceeded         = "ratelimit.exceeded"
	PrincipalDisabled         = "principal.disabled"
	SigningKeyRotated         = "signing_key.rotated"
	OAuthGrantRevoked         = "oauth.grant.revoked"
	OAuthRefreshReuseDetected = "oauth.refresh_reuse_detected"
)

// Events lists every event type.
var Events = []string{KeyCreated, KeyRotated, KeyRevoked, KeyLeaked, KeyExpiring, RateLimitExceeded,
	PrincipalDisabled, SigningKeyRotated, OAuthGrantRevoked, OAuthRefreshReuseDetected}

// ValidEvent reports whether e is one of Events.
func ValidEvent(e string) bool { return slices.Contains(Events, e) }

// Webhook is an endpoint and the events it receives.
type Webhook struct {
	ID          string
	URL         string
	Events      []string
	Description string
	// Secret is the sealed signing secret; PrevSecret the sealed secret it
	// replaced, which signs too until PrevUntil (a rotation's grace).
	Secret, PrevSecret []byte
	PrevUntil          time.Time
	Disabled           bool
	DisabledReason     string // "" / "disabled" by a user / "gone": the receiver answered 410
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Subscribes reports whether w receives events of type e.
func (w *Webhook) Subscribes(e string) bool { return slices.Contains(w.Events, e) }

// Delivery states.
const (
	Pending   = "pending"   // waiting for its (next) attempt
	Delivered = "delivered" // a 2xx answer
	Failed    = "failed"    // given up: out of time, or the endpoint answered 410
)

// Delivery is one event for one webhook: an outbox row and the record of
// its attempts. Its ID is the Standard Webhooks message ID (webhook-id),
// the same on every attempt and redelivery, for receivers to deduplicate.
type Delivery struct {
	Seq           int64
	ID            string
	WebhookID     string
	Type          string
	OrderKey      string
	Payload       []byte
	CreatedAt     time.Time
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastAttemptAt time.Time
	LastStatus    int           // the HTTP status of the last attempt; 0: none
	LastDuration  time.Duration // of the last attempt
	LastError     string        // why the last attempt failed; never a secret
	DeliveredAt   time.Time
	// History is the record of its attempts, newest first (at most
	// MaxAttemptRecords); only Store.Delivery fills it.
	History []AttemptRecord
}

// MaxAttemptRecords is how many attempts of one delivery are kept (the
// newest).
const MaxAttemptRecords = 50

// MaxExcerpt bounds the part of a receiver's answer kept with an attempt.
const MaxExcerpt = 512

// AttemptRecord is one stored attempt of a delivery: what the receiver
// answered and when. It never holds a secret: neither the signing secret
// nor the request's headers are kept.
type AttemptRecord struct {
	N          int // 1, 2, …: the attempts of a delivery, across redeliveries
	At         time.Time
	Duration   time.Duration
	Status     int    // the HTTP status; 0: no answer
	Error      string // why it failed; "" when delivered
	Response   string // the first bytes of the answer's body (Excerpt)
	Redelivery bool   // made after someone asked to send the delivery again
}

// Attempt is the outcome of one delivery attempt, for Store.FinishDelivery.
type Attempt struct {
	At       time.Time
	Status   int
	Duration time.Duration
	Error    string
	// Response is the start of the receiver's answer (Excerpt).
	Response string
	// State is the delivery's new state; Next its next attempt (Pending).
	State string
	Next  time.Time
	// Gone disables the webhook (the receiver answered 410 Gone).
	Gone bool
}

// Store is the storage of webhooks and their outbox. Methods return errors
// wrapping token.ErrNotFound for an unknown webhook or delivery.
type Store interface {
	// CreateWebhook stores w and ev in one write, unless MaxWebhooks
	// webhooks exist: then it returns ErrTooManyWebhooks (checked in the
	// insert itself, so concurrent creates cannot pass the bound).
	CreateWebhook(ctx context.Context, w *Webhook, ev *token.AuditEvent) error
	// Webhooks returns every webhook, oldest first.
	Webhooks(ctx context.Context) ([]*Webhook, error)
	// Webhook returns webhook id.
	Webhook(ctx context.Context, id string) (*Webhook, error)
	// UpdateWebhook applies fn to webhook id and stores the result and ev
	// atomically.
	UpdateWebhook(ctx context.Context, id string, fn func(*Webhook) error, ev *token.AuditEvent) (*Webhook, error)
	// DeleteWebhook removes webhook id and its deliveries, with ev.
	DeleteWebhook(ctx context.Context, id string, ev *token.AuditEvent) error
	// Deliveries returns up to limit deliveries of webhook id, newest
	// first, with Seq < before (0: from the newest), and the cursor of the
	// next page (0: none). Payloads are left out.
	Deliveries(ctx context.Context, webhookID string, before int64, limit int) ([]*Delivery, int64, error)
	// Delivery returns delivery did of webhook id with its History (a
	// delivery of another webhook is not found).
	Delivery(ctx context.Context, webhookID, did string) (*Delivery, error)
	// Redeliver makes delivery did of webhook id pending again, due at now.
	Redeliver(ctx context.Context, webhookID, did string, now time.Time, ev *token.AuditEvent) (*Delivery, error)
	// ClaimDeliveries leases up to limit due deliveries of enabled
	// webhooks to node until leaseUntil: pending, next attempt at or before
	// now, not leased to a node whose lease still runs, and with no
	// earlier pending delivery of the same webhook and order key. A
	// delivery leased to one node is claimed by no other while the lease
	// runs (PostgreSQL: FOR UPDATE SKIP LOCKED and the lease condition
	// re-checked on the locked row).
	ClaimDeliveries(ctx context.Context, node string, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
	// FinishDelivery records attempt a of delivery seq and releases its
	// lease, if node still holds it; it reports whether it did. It adds a
	// to the delivery's History in the same transaction and drops the
	// attempts beyond the newest MaxAttemptRecords.
	FinishDelivery(ctx context.Context, seq int64, node string, a Attempt) (bool, error)
	// PruneDeliveries removes deliveries delivered or failed before t.
	PruneDeliveries(ctx context.Context, t time.Time) (int64, error)
	// Mark records mark once: it reports whether this call recorded it (no
	// other call, on any node, ever did), together with the events of evs,
	// which are written in the same transaction only then.
	Mark(ctx context.Context, mark string, at time.Time, evs []Event) (bool, error)
	// EnqueueEvents writes evs to the outbox of their subscribers.
	EnqueueEvents(ctx context.Context, evs []Event) error
}

// JoinEvents frames es as the store keeps them, ",a,b,", so that one LIKE
// "%,e,%" finds the subscribers of e.
func JoinEvents(es []string) string { return "," + strings.Join(es, ",") + "," }

// SplitEvents reverses JoinEvents.
func SplitEvents(s string) []string {
	s = strings.Trim(s, ",")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// ErrTooManyWebhooks is CreateWebhook's answer when MaxWebhooks exist.
var ErrTooManyWebhooks = errors.New("too many webhooks")

// Excerpt returns the start of a receiver's answer b as it is kept with an
// attempt: at most MaxExcerpt bytes of valid UTF-8 (invalid bytes and a
// rune cut at the end are dropped), line breaks and tabs as spaces, other
// control characters removed.
func Excerpt(b []byte) string {
	if len(b) > MaxExcerpt {
		b = b[:MaxExcerpt]
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == utf8.RuneError && n <= 1:
		case r == '\n' || r == '\r' || r == '\t':
			sb.WriteByte(' ')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) && r != '\u200d':
		default:
			sb.WriteRune(r)
		}
	}
	return strings.TrimSpace(sb.String())
}
