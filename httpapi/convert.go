package httpapi

import (
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
)

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func apiOwner(o *token.Owner) *api.Owner {
	if o == nil {
		return nil
	}
	return &api.Owner{Type: string(o.Type), ID: o.ID}
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func apiKey(k *token.Key, now time.Time) api.Key {
	return api.Key{
		ID:           k.ID,
		Keyspace:     k.Keyspace,
		Name:         k.Name,
		Start:        k.Start,
		Owner:        apiOwner(k.Owner),
		Scopes:       nonNil(k.Scopes),
		Metadata:     k.Metadata,
		State:        string(k.State(now)),
		Enabled:      !k.Disabled,
		CreatedAt:    k.CreatedAt.UTC(),
		UpdatedAt:    k.UpdatedAt.UTC(),
		ExpiresAt:    timePtr(k.ExpiresAt),
		TTL:          durString(k.TTL),
		RevokedAt:    timePtr(k.RevokedAt),
		RevokeReason: k.RevokeReason,
		Remaining:    k.Remaining,
		RotatedFrom:  k.RotatedFrom,
		RotatedTo:    k.RotatedTo,
		LastUsedAt:   timePtr(k.LastUsedAt),
		LastUsedIP:   k.LastUsedIP,
		Imported:     k.Foreign,
		RateLimits:   apiRateLimits(k.RateLimits),
		IPAllow:      ipStrings(k),
		Refill:       apiRefill(k.Refill),
		RefilledAt:   timePtr(k.RefilledAt),

		SignsRequests: k.SigningSecret != nil,
		DPoPJKT:       k.DPoPJKT,
	}
}

// withScopes adds a key's effective and inert scopes to its representation.
func withScopes(k api.Key, ks token.KeyScopes) api.Key {
	eff, inert := nonNil(ks.Effective), nonNil(ks.Inert)
	k.EffectiveScopes, k.InertScopes = &eff, &inert
	return k
}

func apiCreated(ck *token.CreatedKey, now time.Time) api.CreatedKey {
	c := api.CreatedKey{Key: apiKey(ck.Key, now), Secret: ck.Secret.Reveal()}
	if !ck.SigningSecret.IsZero() {
		c.SigningSecret = ck.SigningSecret.Reveal()
	}
	return c
}

func apiKeyspace(ks *token.Keyspace) api.Keyspace {
	return api.Keyspace{
		Name:           ks.Name,
		Prefix:         ks.Prefix,
		DefaultTTL:     durString(ks.DefaultTTL),
		MaxTTL:         durString(ks.MaxTTL),
		AllowPermanent: ks.AllowPermanent,
		Scopes:         ks.Scopes,
		RateLimits:     apiRateLimits(ks.RateLimits),
		Audiences:      ks.Audiences,

		AllowAPIKeyHeader: ks.AllowAPIKeyHeader,
		Recoverable:       ks.Recoverable,
		CreatedAt:         ks.CreatedAt.UTC(),
		UpdatedAt:         ks.UpdatedAt.UTC(),
	}
}

func apiPrincipal(p *token.Principal) api.Principal {
	return api.Principal{
		Type:        string(p.Type),
		ID:          p.ID,
		Name:        p.Name,
		Permissions: nonNil(p.Permissions),
		Disabled:    p.Disabled,
		Metadata:    p.Metadata,
		CreatedAt:   p.CreatedAt.UTC(),

		OwnerRateLimits: apiRateLimits(p.RateLimits),
		UpdatedAt:       p.UpdatedAt.UTC(),

		Email:             p.Email,
		EmailVerified:     p.EmailVerified,
		PreferredUsername: p.PreferredUsername,
		Groups:            p.Groups,
	}
}

func apiAudit(e *token.AuditEvent) api.AuditEvent {
	return api.AuditEvent{
		ID:         e.ID,
		Time:       e.Time.UTC(),
		Actor:      e.ActorKeyID,
		Action:     e.Action,
		TargetType: e.TargetType,
		TargetID:   e.TargetID,
		Outcome:    e.Outcome,
		RequestID:  e.RequestID,
		Detail:     e.Detail,
	}
}
