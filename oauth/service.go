// Package oauth is latchkey's OAuth 2.0 authorization server: apps as
// clients (settings, secrets checked by digest, rotation with a grace
// period) and the token endpoint. It issues latchkey's own at+jwt access
// tokens (RFC 9068) with the signing-key ring, so every verifier of
// latchkey JWTs — the gateway, the SDK, offline services following the
// revocation feed — accepts them, and disabling an app ends them.
package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/seal"
	"github.com/latchkey/latchkey/signer"
	"github.com/latchkey/latchkey/token"
)

// Grant types.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// Client authentication methods at the token endpoint.
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none"
)

// SecretPrefix starts every client secret: it is a latchkey token, so a
// typo fails its checksum without a lookup and secret scanners find leaked
// ones.
const SecretPrefix = "lkcs"

// Config configures a Service.
type Config struct {
	Store  Store
	Tokens *token.Service
	Signer *signer.Manager // nil: no token issuing
	Issuer string
	// TokenTTL is the lifetime of issued access tokens (default 1h, at
	// most signer.MaxTokenTTL).
	TokenTTL time.Duration
	// Grants keeps codes, grants, refresh tokens and consents; nil: no
	// authorization code grant.
	Grants GrantStore
	// Box seals the answers kept for the refresh grace; nil: no grace.
	Box *seal.Box
	// RefreshGrace is how long a rotated-out refresh token presented again
	// by its client gets the same new pair instead of revoking the grant
	// (default DefaultRefreshGrace; negative: none).
	RefreshGrace time.Duration
	// RefreshIdleTTL ends a refresh token unused for that long (default
	// 30 days); RefreshTTL ends a grant's refresh tokens that long after
	// the sign-in, however often they were used (default 90 days).
	RefreshIdleTTL, RefreshTTL time.Duration
	// RequirePAR refuses authorization requests that were not pushed to
	// /oauth2/par first.
	RequirePAR bool
	// BackchannelRetries is the delay before each attempt of a
	// back-channel logout delivery (default DefaultBackchannelRetries).
	BackchannelRetries []time.Duration
	// OutboundAllowPrivate lets back-channel logout reach loopback and
	// private addresses (tests, and apps inside the network); off, only
	// public addresses are dialled.
	OutboundAllowPrivate bool
	// PairwiseKey computes the pairwise subject identifiers of apps with
	// subject_type pairwise; derived from the master key, the same on
	// every node. Empty: no app may be pairwise.
	PairwiseKey []byte
	Log         *slog.Logger
}

// MaxRefreshTTL bounds the absolute lifetime of a grant's refresh tokens.
const MaxRefreshTTL = 5 * 365 * 24 * time.Hour

// DefaultRefreshGrace is the refresh grace of SPEC §3.6: a client retrying
// after a timeout must not be logged out.
const DefaultRefreshGrace = 10 * time.Second

// Service registers OAuth clients and issues their tokens.
type Service struct {
	clients *otter.Cache[string, *Client] // the token endpoint's reads, ClientCacheAge old at most
	ksOnce  sync.Mutex                    // guards ksReady
	ksReady bool                          // the keyspace of opaque tokens exists
	store   Store
	grants  GrantStore
	box     *seal.Box
	grace   time.Duration
	idle    time.Duration
	absTTL  time.Duration
	// requirePAR refuses authorization requests not pushed first.
	requirePAR bool
	tokens     *token.Service
	// miss counts a client's lookups of tokens that do not exist
	// (SetMissBudget); nil: no budget.
	miss   func(ctx context.Context, clientID string) (throttled bool, retry time.Duration)
	signer *signer.Manager
	issuer string
	ttl    time.Duration
	log    *slog.Logger
	// bcRetries, bcClient and bcWG deliver back-channel logout tokens;
	// bcDrain is closed when the server shuts down (DrainBackchannel).
	bcRetries []time.Duration
	bcClient  *http.Client
	bcWG      sync.WaitGroup
	bcDrain   chan struct{}
	bcOnce    sync.Once
	bcPending atomic.Int32
	// pairwiseKey computes pairwise subs (pairwise.go).
	pairwiseKey []byte
}

// New returns a Service.
func New(c Config) *Service {
	s := &Service{store: c.Store, grants: c.Grants, box: c.Box, grace: c.RefreshGrace, idle: c.RefreshIdleTTL, absTTL: c.RefreshTTL,
		requirePAR: c.RequirePAR, tokens: c.Tokens, signer: c.Signer, issuer: strings.TrimSuffix(c.Issuer, "/"), ttl: c.TokenTTL, log: c.Log,
		pairwiseKey: slices.Clone(c.PairwiseKey)}
	if s.grace == 0 {
		s.grace = DefaultRefreshGrace
	}
	if s.box == nil || s.grace < 0 {
		s.grace = 0
	}
	if s.idle <= 0 {
		s.idle = 30 * 24 * time.Hour
	}
	if s.absTTL <= 0 {
		s.absTTL = 90 * 24 * time.Hour
	}
	s.absTTL = min(s.absTTL, MaxRefreshTTL)
	if s.ttl <= 0 || s.ttl > signer.MaxTokenTTL {
		s.ttl = signer.MaxTokenTTL
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.bcRetries = c.BackchannelRetries
	if len(s.bcRetries) == 0 {
		s.bcRetries = DefaultBackchannelRetries
	}
	s.bcClient = OutboundClient(c.OutboundAllowPrivate)
	s.bcDrain = make(chan struct{})
	s.clients = otter.Must(&otter.Options[string, *Client]{
		MaximumSize:      10_000,
		ExpiryCalculator: otter.ExpiryWriting[string, *Client](ClientCacheAge),
	})
	return s
}

// ClientCacheAge bounds how long the token endpoint may use a client
// record read before: a secret rotated or a setting changed on another node
// takes effect here within it (on this node at once).
const ClientCacheAge = time.Second

// client returns app appID's client for the token endpoint, from the cache
// when it was read less than ClientCacheAge ago. A client that does not
// exist is cached too (as noClient): were only known clients cached, the
// time of a second quick try would tell which client IDs exist.
func (s *Service) client(ctx context.Context, appID string) (*Client, error) {
	if c, ok := s.clients.GetIfPresent(appID); ok {
		if c == noClient {
			return nil, token.ErrNotFound
		}
		return c, nil
	}
	c, err := s.store.Client(ctx, appID)
	if errors.Is(err, token.ErrNotFound) {
		s.clients.Set(appID, noClient)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	s.clients.Set(appID, c)
	return c, nil
}

// noClient marks a client ID the store does not know in the cache.
var noClient = &Client{}

// Issuer is the iss of the tokens and the metadata's issuer, byte for byte.
func (s *Service) Issuer() string { return s.issuer }

// SetMissBudget sets the budget of a client's introspections and
// revocations of tokens that do not exist: fn counts one for clientID and
// reports whether the client is over its budget, and for how long. Set it
// before serving.
func (s *Service) SetMissBudget(fn func(ctx context.Context, clientID string) (bool, time.Duration)) {
	s.miss = fn
}

// OffersCodeGrant reports whether the authorization code grant (and
// refresh tokens, PAR) is offered: it needs a store of grants.
func (s *Service) OffersCodeGrant() bool { return s.signer != nil && s.grants != nil }

// RequiresPAR reports whether authorization requests must be pushed first.
func (s *Service) RequiresPAR() bool { return s.requirePAR }

// Enabled reports whether the service can issue tokens.
func (s *Service) Enabled() bool { return s.signer != nil }

func invalidMetadata(format string, args ...any) error {
	return token.Errorf(token.Invalid, "invalid_client_metadata", format, args...)
}

// NormalizeSettings checks an app's OAuth settings and fills the defaults:
// grant types (client_credentials for a client without redirect URIs,
// authorization_code + refresh_token for one with them),
// client_secret_basic, jwt access tokens. A private_key_jwt client needs
// jwks: its public signing keys.
func NormalizeSettings(in Settings) (Settings, error) {
	out := in
	out.RedirectURIs = slices.Clone(in.RedirectURIs)
	out.Audiences = slices.Clone(in.Audiences)
	out.JWKS = slices.Clone(in.JWKS)
	if len(out.GrantTypes) == 0 {
		if len(out.RedirectURIs) > 0 {
			out.GrantTypes = []string{GrantAuthorizationCode, GrantRefreshToken}
		} else {
			out.GrantTypes = []string{GrantClientCredentials}
		}
	}
	seen := map[string]bool{}
	for _, g := range out.GrantTypes {
		switch g {
		case GrantClientCredentials, GrantTokenExchange, GrantAuthorizationCode, GrantRefreshToken:
		case "password", "implicit":
			return out, invalidMetadata("grant_types: %q is not supported (RFC 9700 forbids it)", g)
		default:
			return out, invalidMetadata("grant_types: unknown grant type %q", g)
		}
		if seen[g] {
			return out, invalidMetadata("grant_types: %q is listed twice", g)
		}
		seen[g] = true
	}
	if seen[GrantRefreshToken] && !seen[GrantAuthorizationCode] {
		return out, invalidMetadata("grant_types: refresh_token goes with authorization_code (refresh tokens are issued by that grant only)")
	}
	if out.TokenEndpointAuthMethod == "" {
		out.TokenEndpointAuthMethod = AuthSecretBasic
	}
	switch out.TokenEndpointAuthMethod {
	case AuthSecretBasic, AuthSecretPost:
	case AuthNone:
		if seen[GrantClientCredentials] || seen[GrantTokenExchange] {
			return out, invalidMetadata("a public client (token_endpoint_auth_method none) cannot use client_credentials or token exchange: it has no secret to authenticate with")
		}
	case AuthPrivateKeyJWT:
		if len(out.JWKS) == 0 {
			return out, invalidMetadata("token_endpoint_auth_method private_key_jwt needs jwks: the client's public keys")
		}
		if err := validJWKS(out.JWKS); err != nil {
			return out, invalidMetadata("jwks: %v", err)
		}
	default:
		return out, invalidMetadata("token_endpoint_auth_method: unknown method %q (client_secret_basic, client_secret_post, private_key_jwt or none)", out.TokenEndpointAuthMethod)
	}
	if out.AccessTokenFormat == "" {
		out.AccessTokenFormat = "jwt"
	}
	switch out.AccessTokenFormat {
	case "jwt":
	case "opaque":
	default:
		return out, invalidMetadata("access_token_format: %q is neither jwt nor opaque", out.AccessTokenFormat)
	}
	if len(out.JWKS) > 0 && out.TokenEndpointAuthMethod != AuthPrivateKeyJWT {
		return out, invalidMetadata("jwks is only for token_endpoint_auth_method private_key_jwt")
	}
	if (seen[GrantAuthorizationCode] || len(out.RedirectURIs) > 0) && !seen[GrantAuthorizationCode] {
		return out, invalidMetadata("redirect_uris are only for the authorization_code grant")
	}
	if seen[GrantAuthorizationCode] && len(out.RedirectURIs) == 0 {
		return out, invalidMetadata("the authorization_code grant needs at least one redirect_uris entry")
	}
	for _, u := range out.RedirectURIs {
		if err := validRedirectURI(u); err != nil {
			return out, invalidMetadata("redirect_uris: %v", err)
		}
	}
	for _, u := range out.PostLogoutRedirectURIs {
		if err := validRedirectURI(u); err != nil {
			return out, invalidMetadata("post_logout_redirect_uris: %v", err)
		}
	}
	if u := out.BackchannelLogoutURI; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Fragment != "" {
			return out, invalidMetadata("backchannel_logout_uri: %q is not an absolute http(s) URL without a fragment", u)
		}
	}
	switch out.SubjectType {
	case "":
		out.SubjectType = SubjectPublic
	case SubjectPublic:
	case SubjectPairwise:
		if len(out.RedirectURIs) == 0 {
			return out, invalidMetadata("subject_type pairwise is for apps that sign users in: it needs redirect_uris")
		}
		if _, ok := sector(out); !ok {
			return out, invalidMetadata("subject_type pairwise needs all redirect_uris on one host, the sector identifier (sector_identifier_uri is not supported)")
		}
	default:
		return out, invalidMetadata("subject_type: %q is neither public nor pairwise", out.SubjectType)
	}
	for _, a := range out.Audiences {
		if a == "" || len(a) > 256 || strings.ContainsAny(a, " \t\r\n") {
			return out, invalidMetadata("audiences: %q must be 1-256 characters without spaces", a)
		}
	}
	return out, nil
}

// normalize is NormalizeSettings, refusing pairwise subjects when the
// service has no key to compute them with.
func (s *Service) normalize(in Settings) (Settings, error) {
	out, err := NormalizeSettings(in)
	if err == nil && out.SubjectType == SubjectPairwise && len(s.pairwiseKey) == 0 {
		return out, invalidMetadata("subject_type pairwise is not available: the server has no master key to derive pairwise subjects from")
	}
	return out, err
}

// validRedirectURI accepts an absolute URL without a fragment: https, http
// for loopback hosts only, or a private-use scheme of a native app
// (RFC 8252 §7.1, "com.example.app:/cb").
func validRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("%q has a fragment (RFC 6749 §3.1.2)", s)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", s)
		}
	case "http":
		if h := u.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
			return fmt.Errorf("%q: http is only allowed for loopback redirect URIs of native apps", s)
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: a private-use scheme must be a reverse domain name (RFC 8252 §7.1)", s)
		}
	}
	return nil
}

// newSecret returns a fresh client secret and its digest.
func newSecret() (string, []byte, error) {
	t, err := apitoken.New(SecretPrefix)
	if err != nil {
		return "", nil, err
	}
	d := apitoken.Hash(t.Reveal())
	return t.Reveal(), d[:], nil
}

func (s *Service) audit(a *token.Actor, action, appID string, detail map[string]string) *token.AuditEvent {
	now := s.tokens.Now()
	return &token.AuditEvent{ID: token.NewID("aud", now), Time: now, ActorKeyID: a.KeyID, Action: action,
		TargetType: "app", TargetID: appID, Outcome: token.OutcomeSuccess, RequestID: a.RequestID, Detail: detail}
}

func unavailable(err error, what string) error {
	var te *token.Error
	if errors.As(err, &te) {
		return err
	}
	return &token.Error{Kind: token.Unavailable, Msg: "storage is unavailable", Err: fmt.Errorf("%s: %w", what, err)}
}

// updateErr maps the answer of UpdateClient: the function's own errors as
// they are, a missing app as app_not_found, the rest as unavailable.
func updateErr(err error, what string) error {
	var te *token.Error
	if errors.As(err, &te) {
		return err
	}
	if errors.Is(err, token.ErrNotFound) {
		return token.Errorf(token.NotFound, "app_not_found", "app not found")
	}
	return unavailable(err, what)
}

// CreateApp creates app p as an OAuth client with settings set, in one
// transaction, and returns it with its client secret (empty for a public
// client or a private_key_jwt one), shown only now.
func (s *Service) CreateApp(ctx context.Context, a *token.Actor, p token.CreatePrincipalParams, set Settings) (*token.Principal, *Client, string, error) {
	p.Type = token.App
	set, err := s.normalize(set)
	if err != nil {
		return nil, nil, "", err
	}
	pr, ev, err := s.tokens.PreparePrincipal(ctx, a, p)
	if err != nil {
		return nil, nil, "", err
	}
	c := &Client{AppID: pr.ID, Settings: set, CreatedAt: pr.CreatedAt, UpdatedAt: pr.CreatedAt, Version: 1}
	var secret string
	if hasSecret(set) {
		if secret, c.SecretDigest, err = newSecret(); err != nil {
			return nil, nil, "", &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
		}
	}
	ev.Detail = map[string]string{"oauth": "true", "grant_types": strings.Join(set.GrantTypes, " ")}
	err = s.store.CreateClient(ctx, pr, c, ev)
	s.clients.Invalidate(pr.ID)
	if err != nil {
		return nil, nil, "", s.tokens.CreatePrincipalError(err, token.App, pr.ID)
	}
	return pr, c, secret, nil
}

// SetSettings replaces app appID's OAuth settings; an app that was no
// client (or was a public or private_key_jwt one) and becomes a client
// authenticating with a secret gets one, returned only now; one that
// becomes public or private_key_jwt loses its secrets.
func (s *Service) SetSettings(ctx context.Context, a *token.Actor, appID string, set Settings) (*Client, string, error) {
	const action = "app.oauth.update"
	if !a.May(token.ScopePrincipalsWrite) {
		return nil, "", s.tokens.Refuse(ctx, a, action, token.ScopePrincipalsWrite)
	}
	set, err := s.normalize(set)
	if err != nil {
		return nil, "", err
	}
	secret, digest, err := newSecret()
	if err != nil {
		return nil, "", &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	issued := false
	now := s.tokens.Now()
	c, err := s.store.UpdateClient(ctx, appID, func(c *Client) error {
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		c.Settings, c.UpdatedAt = set, now
		switch {
		case !hasSecret(set):
			c.SecretDigest, c.PrevSecretDigest, c.PrevSecretUntil = nil, nil, time.Time{}
		case c.SecretDigest == nil:
			c.SecretDigest, issued = digest, true
		}
		return nil
	}, s.audit(a, action, appID, map[string]string{"grant_types": strings.Join(set.GrantTypes, " ")}))
	s.clients.Invalidate(appID)
	if err != nil {
		return nil, "", updateErr(err, "update client")
	}
	if !issued {
		secret = ""
	}
	return c, secret, nil
}

// Client returns app appID's OAuth client (nil, nil when the app is none).
func (s *Service) Client(ctx context.Context, appID string) (*Client, error) {
	c, err := s.store.Client(ctx, appID)
	if errors.Is(err, token.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err, "get client")
	}
	return c, nil
}

// MaxSecretGrace bounds how long a replaced client secret keeps working.
const MaxSecretGrace = 30 * 24 * time.Hour

// RotateSecret gives app appID a new client secret; the old one keeps
// working for grace (0: it stops at once). It returns the new secret, shown
// only now, and when the old one stops.
func (s *Service) RotateSecret(ctx context.Context, a *token.Actor, appID string, grace time.Duration) (string, time.Time, error) {
	const action = "app.secret.rotate"
	if !a.May(token.ScopePrincipalsWrite) {
		return "", time.Time{}, s.tokens.Refuse(ctx, a, action, token.ScopePrincipalsWrite)
	}
	if grace < 0 || grace > MaxSecretGrace {
		return "", time.Time{}, token.Errorf(token.Invalid, "bad_grace_period", "grace_period must be between 0s and %s", MaxSecretGrace)
	}
	secret, digest, err := newSecret()
	if err != nil {
		return "", time.Time{}, &token.Error{Kind: token.Internal, Msg: "internal error", Err: err}
	}
	now := s.tokens.Now()
	var until time.Time
	_, err = s.store.UpdateClient(ctx, appID, func(c *Client) error {
		if c.Version == 0 {
			return token.Errorf(token.NotFound, "client_not_found", "this app is not an OAuth client: give it OAuth settings first")
		}
		switch c.Settings.TokenEndpointAuthMethod {
		case AuthNone:
			return token.Errorf(token.Invalid, "public_client", "a public client (token_endpoint_auth_method none) has no secret")
		case AuthPrivateKeyJWT:
			return token.Errorf(token.Invalid, "private_key_jwt_client", "a private_key_jwt client has no secret: it authenticates with its keys; change its jwks to rotate them")
		}
		c.PrevSecretDigest, c.PrevSecretUntil = nil, time.Time{}
		if grace > 0 {
			until = now.Add(grace)
			c.PrevSecretDigest, c.PrevSecretUntil = c.SecretDigest, until
		}
		c.SecretDigest, c.UpdatedAt = digest, now
		return nil
	}, s.audit(a, action, appID, map[string]string{"grace_period": grace.String()}))
	s.clients.Invalidate(appID)
	if err != nil {
		return "", time.Time{}, updateErr(err, "rotate client secret")
	}
	return secret, until, nil
}

// hasSecret reports whether a client with settings set authenticates with
// a client secret (client_secret_basic or client_secret_post).
func hasSecret(set Settings) bool {
	return set.TokenEndpointAuthMethod == AuthSecretBasic || set.TokenEndpointAuthMethod == AuthSecretPost
}

// checkSecret compares secret with the client's digests in constant time
// (both, always, so the time does not tell which matched).
func checkSecret(c *Client, secret string, now time.Time) bool {
	if c.SecretDigest == nil || apitoken.Check(secret) != apitoken.Valid {
		return false
	}
	d := apitoken.Hash(secret)
	cur := subtle.ConstantTimeCompare(d[:], c.SecretDigest)
	prev := 0
	if c.PrevSecretDigest != nil {
		prev = subtle.ConstantTimeCompare(d[:], c.PrevSecretDigest)
		if !now.Before(c.PrevSecretUntil) {
			prev = 0
		}
	}
	return cur|prev == 1
}

// narrowScopes returns the requested scopes if the app holds each of them,
// else invalid_scope; no request means all of the app's permissions.
func narrowScopes(perms []string, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(perms), nil
	}
	if err := scope.ValidateAll(requested); err != nil {
		return nil, &Error{Code: "invalid_scope", Description: "scope: " + err.Error()}
	}
	held := scope.Set(perms)
	out := make([]string, 0, len(requested))
	for _, r := range requested {
		if !held.Has(r) {
			return nil, &Error{Code: "invalid_scope", Description: fmt.Sprintf("the client may not receive scope %q", r)}
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}
