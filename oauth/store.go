package oauth

import (
	"context"
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey/token"
)

// Settings are an app's OAuth 2.0 client settings (SPEC §3.6), as
// registered with POST /v1/apps or PATCH /v1/apps/{id}.
type Settings struct {
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes              []string `json:"grant_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	AccessTokenFormat       string   `json:"access_token_format"`
	DPoPBoundAccessTokens   bool     `json:"dpop_bound_access_tokens,omitempty"`
	SkipConsent             bool     `json:"skip_consent,omitempty"`
	BackchannelLogoutURI    string   `json:"backchannel_logout_uri,omitempty"`
	// SubjectType is SubjectPublic (the default) or SubjectPairwise.
	SubjectType string          `json:"subject_type,omitempty"`
	Audiences   []string        `json:"audiences,omitempty"`
	JWKS        json.RawMessage `json:"jwks,omitempty"`
}

// Client is an app's OAuth client record: its settings and the digests of
// its secrets (never a secret itself).
type Client struct {
	AppID    string
	Settings Settings
	// SecretDigest is the SHA-256 of the current client secret; nil for a
	// public client (token_endpoint_auth_method "none").
	SecretDigest []byte
	// PrevSecretDigest, until PrevSecretUntil, is the secret a rotation
	// replaced, still accepted during its grace period.
	PrevSecretDigest []byte
	PrevSecretUntil  time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Version          int64
}

// Store keeps OAuth clients. Writes take an audit event written in the same
// transaction. Missing clients give errors wrapping token.ErrNotFound.
type Store interface {
	// CreateClient stores the app principal p and its client c, with ev,
	// in one transaction: ErrConflict if the app (or its client) exists.
	CreateClient(ctx context.Context, p *token.Principal, c *Client, ev *token.AuditEvent) error
	// Client returns the client of app appID, or ErrNotFound.
	Client(ctx context.Context, appID string) (*Client, error)
	// UpdateClient reads the client of app appID — a zero Client with
	// AppID set when the app has none yet (adding OAuth to an existing
	// app) — applies fn and writes the result with ev, atomically; the
	// store increments Version. ErrNotFound if there is no such app
	// principal. An error from fn aborts and is returned as it is.
	UpdateClient(ctx context.Context, appID string, fn func(*Client) error, ev *token.AuditEvent) (*Client, error)
	// DeleteClient removes the client of app appID (the app stays), with
	// ev; ErrNotFound if it has none.
	DeleteClient(ctx context.Context, appID string, ev *token.AuditEvent) error
}
