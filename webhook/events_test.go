package webhook_test

import (
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
	"github.com/latchkey/latchkey/webhook"
)

func TestWebhooks_EventsFromAudit(t *testing.T) {
	ev := func(action, typ string, d map[string]string) *token.AuditEvent {
		return &token.AuditEvent{ID: "aud_1", Time: time.Now(), ActorKeyID: "key_root", Action: action,
			TargetType: typ, TargetID: "x_1", Outcome: token.OutcomeSuccess, Detail: d}
	}
	for _, tc := range []struct {
		ev   *token.AuditEvent
		want []string
	}{
		{ev("key.create", "key", map[string]string{"keyspace": "default"}), []string{webhook.KeyCreated}},
		{ev("key.create", "key", map[string]string{"keyspace": oauth.AccessKeyspace}), nil},
		{ev("key.rotate", "key", nil), []string{webhook.KeyRotated}},
		{ev("key.revoke", "key", map[string]string{"keyspace": "default", "reason": "done"}), []string{webhook.KeyRevoked}},
		{ev("key.revoke", "key", map[string]string{"keyspace": "default", "reason": "leaked"}), []string{webhook.KeyRevoked, webhook.KeyLeaked}},
		{ev("key.revoke", "key", map[string]string{"keyspace": oauth.AccessKeyspace, "reason": "leaked"}), []string{webhook.KeyLeaked}},
		{ev("key.revoke", "key", map[string]string{"keyspace": oauth.GrantKeyspace, "reason": "revoked by user"}), []string{webhook.OAuthGrantRevoked}},
		{ev("key.revoke", "key", map[string]string{"keyspace": oauth.GrantKeyspace, "reason": "refresh token reused"}),
			[]string{webhook.OAuthGrantRevoked, webhook.OAuthRefreshReuseDetected}},
		{ev("user.update", "user", map[string]string{"disabled": "true"}), []string{webhook.PrincipalDisabled}},
		{ev("app.update", "app", map[string]string{"disabled": "false"}), nil},
		{ev("signing_key.rotate", "signing_key", nil), []string{webhook.SigningKeyRotated}},
		{ev("app.secret.revoke", "app", map[string]string{"reason": "leaked"}), []string{webhook.KeyLeaked}},
		{ev("app.secret.revoke", "app", map[string]string{"reason": "rotated"}), nil},
		{ev("key.delete", "key", nil), nil},
		{&token.AuditEvent{ID: "aud_2", Action: "key.revoke", Outcome: token.OutcomeDenied}, nil},
	} {
		var got []string
		ids := map[string]bool{}
		for _, e := range webhook.FromAudit(tc.ev) {
			got = append(got, e.Type)
			ids[e.ID] = true
		}
		if !slices.Equal(got, tc.want) || len(ids) != len(got) {
			t.Errorf("%s %v: %v (%d ids), want %v", tc.ev.Action, tc.ev.Detail, got, len(ids), tc.want)
		}
	}
}
