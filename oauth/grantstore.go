package oauth

import (
	"context"
	"errors"
	"time"
)

// A user's authorization of an app — a grant — is a latchkey key of its
// own keyspace (GrantKeyspace), owned by the user, whose secret is never
// shown to anyone: its ID is the key_id of every access token the grant
// issues, so revoking the grant is revoking that key, which every node
// and every offline verifier following the revocation feed learns within
// the bound of a key revocation, and the grant's tokens carry at most the
// user's current permissions (the key's scopes ∩ its owner's) without a
// line of code of their own. The records below are what the
// authorization server keeps beside it: codes, refresh tokens, consents
// and pushed authorization requests. Every secret among them (a code, a
// refresh token, a request_uri) is kept as its SHA-256 digest only.

// Code is an authorization code, single-use and short-lived (CodeTTL),
// bound to its client, redirect URI, PKCE challenge and DPoP key.
type Code struct {
	Digest      []byte // SHA-256 of the code
	ClientID    string
	UserID      string
	SessionID   string // the sign-in session that approved it
	RedirectURI string
	Challenge   string // PKCE S256 code_challenge; "" only for a confidential client that sent none
	Scopes      []string
	Audiences   []string
	Nonce       string // OpenID Connect nonce (kept for the id_token)
	DPoPJKT     string // dpop_jkt of the authorization request (RFC 9449 §10)
	AuthTime    time.Time
	AMR         []string // the factors of the sign-in ("pwd", "otp", "hwk", …)
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      time.Time // zero until redeemed
	GrantID     string    // the grant its redemption created, once it did
}

// Grant is what the authorization server records of a grant beside its
// key (whose ID it shares): who gave it to which client, how they signed
// in. Its liveness, scopes and expiry are the key's.
type Grant struct {
	ID        string // the grant key's ID
	ClientID  string
	UserID    string
	Scopes    []string // as granted (the key's scopes)
	Audiences []string
	DPoPJKT   string // refresh tokens of a DPoP-bound public client are bound to this key
	SessionID string
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time // the absolute end of its refresh tokens
}

// RefreshToken is one refresh token of a grant. A grant has one current
// refresh token; using it rotates it (RotatedAt set, a successor stored in
// the same transaction).
type RefreshToken struct {
	Digest    []byte // SHA-256 of the token
	GrantID   string
	ClientID  string
	UserID    string
	CreatedAt time.Time
	// ExpiresAt is the idle end: a refresh token unused until then is dead
	// (RT-07), whatever the grant's absolute end.
	ExpiresAt time.Time
	RotatedAt time.Time // zero while current
	// Successor is the answer its rotation gave (the new access and
	// refresh token), sealed with the master key, kept so that the same
	// client presenting this token again within the grace gets the same
	// pair; cleared by pruning once the grace has passed.
	Successor []byte
}

// Consent remembers that a user allowed a client some scopes, so the
// consent page is not shown again for them.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PushedRequest is an authorization request pushed to /oauth2/par (RFC
// 9126): its parameters, kept until ExpiresAt under the digest of the
// request_uri handed back.
type PushedRequest struct {
	Digest    []byte // SHA-256 of the request_uri's random part
	ClientID  string
	Params    []byte // the form, URL-encoded
	ExpiresAt time.Time
}

// GrantFilter selects grant records. Zero fields do not filter; at least
// one of UserID and ClientID is set.
type GrantFilter struct {
	UserID   string
	ClientID string
	// SessionID selects the grants approved in one sign-in session.
	SessionID string
	After     string // cursor: grants with ID > After
	Limit     int    // 0: 100
}

// ErrCodeUsed is returned by RedeemCode for a code that was redeemed
// before, with the code record (whose GrantID names what to revoke).
var ErrCodeUsed = errors.New("authorization code already used")

// ErrRotated is returned by RotateRefresh when the token is no longer
// current (rotated by another request first), with nothing changed.
var ErrRotated = errors.New("refresh token already rotated")

// GrantStore keeps the authorization server's records. Missing records
// give errors wrapping token.ErrNotFound.
type GrantStore interface {
	// CreateCode stores an authorization code.
	CreateCode(ctx context.Context, c *Code) error
	// RedeemCode marks the code with digest d used at now, atomically:
	// exactly one of any number of concurrent calls, on any node, gets the
	// code; the others mark it reused and get it (with the GrantID its
	// first redemption recorded so far) together with ErrCodeUsed.
	// ErrNotFound if there is no such code (expired codes may have been
	// pruned).
	RedeemCode(ctx context.Context, d []byte, now time.Time) (*Code, error)
	// SetCodeGrant records the grant a redeemed code created, and reports
	// whether the code was marked reused before — atomically with respect
	// to RedeemCode's mark, so that of a redemption and a replay racing
	// each other one always learns of the other: the replay finds the
	// grant to revoke, or the redemption finds the mark and revokes it.
	SetCodeGrant(ctx context.Context, d []byte, grantID string) (reused bool, err error)

	// CreateGrant stores a grant record and, unless rt is nil, its first
	// refresh token, in one transaction.
	CreateGrant(ctx context.Context, g *Grant, rt *RefreshToken) error
	// Grant returns grant id, or ErrNotFound.
	Grant(ctx context.Context, id string) (*Grant, error)
	// Grants lists grant records by ID (live or not: the caller asks
	// their keys).
	Grants(ctx context.Context, f GrantFilter) ([]*Grant, error)
	// DeleteGrants deletes the records of grants ids and their refresh
	// tokens (the caller has revoked their keys).
	DeleteGrants(ctx context.Context, ids []string) error

	// RefreshToken returns the refresh token with digest d, or ErrNotFound.
	RefreshToken(ctx context.Context, d []byte) (*RefreshToken, error)
	// RotateRefresh marks the refresh token with digest old rotated at
	// now with the sealed answer successor, and stores next, in one
	// transaction — only if old is still current (compare-and-set in the
	// primary store: of concurrent calls on any node exactly one wins, the
	// rest get ErrRotated and change nothing). ErrNotFound if old is
	// unknown.
	RotateRefresh(ctx context.Context, old []byte, now time.Time, successor []byte, next *RefreshToken) error

	// Consent returns the consent of user to client, or ErrNotFound.
	Consent(ctx context.Context, userID, clientID string) (*Consent, error)
	// PutConsent creates or replaces a consent.
	PutConsent(ctx context.Context, c *Consent) error
	// DeleteConsent deletes a consent (nil if there was none).
	DeleteConsent(ctx context.Context, userID, clientID string) error
	// Consents lists a user's consents by client ID.
	Consents(ctx context.Context, userID string) ([]*Consent, error)

	// PushRequest stores a pushed authorization request.
	PushRequest(ctx context.Context, p *PushedRequest) error
	// PushedRequest returns the pushed request with digest d, or
	// ErrNotFound (also once it expired at now).
	PushedRequest(ctx context.Context, d []byte, now time.Time) (*PushedRequest, error)
	// DeletePushedRequest deletes it: a request_uri is used once. Of
	// concurrent calls, on any node, one deletes it; the others, and a
	// call for a request that is gone, get ErrNotFound.
	DeletePushedRequest(ctx context.Context, d []byte) error

	// PruneGrants deletes codes and pushed requests that expired before
	// before, refresh tokens whose idle end passed before it, and clears
	// the sealed successors of refresh tokens rotated before graceEnd.
	// It returns how many rows it changed.
	PruneGrants(ctx context.Context, before, graceEnd time.Time) (int64, error)
}
