package webhook

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/latchkey/latchkey/token"
)

// Keyspaces of OAuth's keys (package oauth's GrantKeyspace and
// AccessKeyspace; a test keeps them equal): a grant's revocation is
// oauth.grant.revoked, and the keys behind OAuth tokens are no
// key.created / key.revoked of their own.
const (
	grantKeyspace  = "oauth-grants"
	accessKeyspace = "oauth"
)

// reuseReason is the revocation reason of a grant whose refresh token was
// presented again (package oauth, reuse detection).
const reuseReason = "refresh token reused"

// LeakedReason is the revocation reason of a leaked key: its revocation is
// key.leaked as well as key.revoked.
const LeakedReason = "leaked"

// Event is one event about to be written to the outbox.
type Event struct {
	// ID is unique per event; a delivery's ID (the webhook-id header) is
	// ID, "_" and the webhook's ID without its "wh_" prefix.
	ID       string
	Type     string
	OrderKey string // deliveries of one webhook and order key go out in order
	Time     time.Time
	Payload  []byte // the body: {"type", "timestamp", "data"}; never a secret
}

// payload is the Standard Webhooks body.
type payload struct {
	Type      string            `json:"type"`
	Timestamp time.Time         `json:"timestamp"`
	Data      map[string]string `json:"data"`
}

// NewEvent builds an event of type typ about orderKey with data.
func NewEvent(id, typ, orderKey string, at time.Time, data map[string]string) Event {
	if data == nil {
		data = map[string]string{}
	}
	b, _ := json.Marshal(payload{Type: typ, Timestamp: at.UTC(), Data: data}) // a map of strings always marshals
	return Event{ID: id, Type: typ, OrderKey: orderKey, Time: at, Payload: b}
}

// FromAudit returns the events that the audited change ev causes (none for
// most): the store calls it where it writes the audit record, so that
// every event is written in the transaction of its change. Audit details
// hold no secrets (token.AuditEvent), so neither do the payloads.
func FromAudit(ev *token.AuditEvent) []Event {
	if ev == nil || ev.Outcome != token.OutcomeSuccess {
		return nil
	}
	var types []string
	d := ev.Detail
	orderKey := ev.TargetType + ":" + ev.TargetID
	switch ev.Action {
	case "key.create":
		if !oauthKeyspace(d["keyspace"]) {
			types = append(types, KeyCreated)
		}
	case "key.rotate":
		types = append(types, KeyRotated)
	case "key.revoke":
		switch {
		case d["keyspace"] == grantKeyspace:
			types = append(types, OAuthGrantRevoked)
			if d["reason"] == reuseReason {
				types = append(types, OAuthRefreshReuseDetected)
			}
		case d["keyspace"] != accessKeyspace:
			types = append(types, KeyRevoked)
		}
		if d["reason"] == LeakedReason {
			types = append(types, KeyLeaked)
		}
	case "app.secret.revoke":
		// A leaked client secret is replaced by one nobody holds.
		if d["reason"] == LeakedReason {
			types = append(types, KeyLeaked)
		}
	case "user.update", "app.update":
		if d["disabled"] == "true" {
			types = append(types, PrincipalDisabled)
		}
	case "signing_key.rotate":
		types = append(types, SigningKeyRotated)
	}
	if len(types) == 0 {
		return nil
	}
	evs := make([]Event, len(types))
	base := "msg_" + strings.TrimPrefix(ev.ID, "aud_")
	for i, typ := range types {
		data := map[string]string{}
		for k, v := range d {
			data[k] = v
		}
		name := ev.TargetType
		if typ == OAuthGrantRevoked || typ == OAuthRefreshReuseDetected {
			name = "grant"
		}
		data[name+"_id"] = ev.TargetID
		if ev.TargetType == "user" || ev.TargetType == "app" {
			data["principal_type"] = ev.TargetType
		}
		data["actor"] = ev.ActorKeyID
		if ev.RequestID != "" {
			data["request_id"] = ev.RequestID
		}
		id := base
		if i > 0 {
			id += "_" + string(rune('a'+i))
		}
		evs[i] = NewEvent(id, typ, orderKey, ev.Time, data)
	}
	return evs
}

func oauthKeyspace(ks string) bool { return ks == grantKeyspace || ks == accessKeyspace }
