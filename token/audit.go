package token

import "time"

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
)

// AuditEvent records one management action. It never contains a secret:
// keys appear by ID only.
type AuditEvent struct {
	ID         string
	Time       time.Time
	ActorKeyID string // the management key that acted; "system" for latchkey itself
	Action     string // e.g. "key.create"
	TargetType string // "key", "keyspace", "user", "app"
	TargetID   string
	Outcome    string
	RequestID  string
	Detail     map[string]string

	// Answer, if set, is the answer of the idempotent call that made the
	// change; the store renders it (Answer.Render) and writes it in the
	// event's transaction. It is not part of the audit log.
	Answer *StoredAnswer
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	Action   string
	TargetID string
	ActorID  string
	Before   string // cursor: events with ID < Before
	Limit    int
}
