// Package upstream signs users in with an upstream OpenID Connect provider
// (Entra ID, Okta, Google Workspace, another latchkey): the authorization
// code flow with PKCE S256, state and nonce (golang.org/x/oauth2), and
// discovery and ID token verification (github.com/coreos/go-oidc/v3). It
// maps the verified claims to a latchkey user ID and permissions; creating
// the user and the session is the people service's (SignInExternal).
package upstream

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// StateTTL is how long a started sign-in may take at the upstream.
const StateTTL = 10 * time.Minute

// Config is one upstream provider.
type Config struct {
	// ID names the provider in URLs (/login/upstream/{id}) and in user
	// IDs ("<id>:<sub>"): lower-case letters, digits, '-' and '_'.
	ID string
	// Name is shown on the sign-in page ("Sign in with <Name>").
	Name string
	// Issuer is the provider's issuer URL (discovery at
	// <issuer>/.well-known/openid-configuration).
	Issuer string
	// ClientID and ClientSecret are latchkey's registration there.
	ClientID, ClientSecret string
	// RedirectURL is latchkey's callback (<issuer>/login/upstream/{id}/callback).
	RedirectURL string
	// Scopes asked for (default openid, profile, email); openid is always
	// among them.
	Scopes []string
	// UsernameClaim, if set, names the claim that is the latchkey user ID
	// (e.g. preferred_username); else the user ID is "<id>:<sub>".
	UsernameClaim string
	// GroupsClaim names the claim (a string or a list of strings) whose
	// values are the user's groups, which GroupPermissions maps to
	// permissions (default "groups").
	GroupsClaim      string
	GroupPermissions map[string][]string
	// HTTPClient reaches the provider (default: NewHTTPClient(false)).
	HTTPClient *http.Client
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Validate checks the configuration without reaching the provider.
func (c *Config) Validate() error {
	if !idPattern.MatchString(c.ID) {
		return fmt.Errorf("oidc provider id %q: want 1-32 lower-case letters, digits, '-' or '_'", c.ID)
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidc provider %s: issuer %q is not an http(s) URL", c.ID, c.Issuer)
	}
	if c.ClientID == "" {
		return fmt.Errorf("oidc provider %s: client_id is required", c.ID)
	}
	if c.RedirectURL == "" {
		return fmt.Errorf("oidc provider %s: no redirect URL", c.ID)
	}
	return nil
}

// Provider is a configured upstream. Discovery happens at the first
// sign-in (and again after a failure), so latchkey starts while the
// provider is down.
type Provider struct {
	c Config

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New returns the provider of c.
func New(c Config) (*Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	if len(c.Scopes) == 0 {
		c.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		c.Scopes = append([]string{oidc.ScopeOpenID}, c.Scopes...)
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	if c.HTTPClient == nil {
		c.HTTPClient = NewHTTPClient(false)
	}
	return &Provider{c: c}, nil
}

// ID is the provider's ID.
func (p *Provider) ID() string { return p.c.ID }

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.c.Issuer }

// Name is the provider's display name.
func (p *Provider) Name() string { return p.c.Name }

// ErrUnavailable wraps failures to reach the provider.
var ErrUnavailable = errors.New("the sign-in provider cannot be reached")

// ErrRejected wraps an answer of the provider that latchkey refuses: a
// code that does not redeem, an ID token that does not verify.
var ErrRejected = errors.New("the sign-in provider's answer was refused")

func (p *Provider) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, p.verifier, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.c.HTTPClient), 15*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(ctx, strings.TrimSuffix(p.c.Issuer, "/"))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: discovery: %v", ErrUnavailable, err)
	}
	p.oauth = &oauth2.Config{ClientID: p.c.ClientID, ClientSecret: p.c.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: p.c.RedirectURL, Scopes: p.c.Scopes}
	p.verifier = op.Verifier(&oidc.Config{ClientID: p.c.ClientID})
	return p.oauth, p.verifier, nil
}

// State is what a started sign-in keeps in the browser (sealed by a
// Codec) until the provider sends the browser back.
type State struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r,omitempty"`
	Expires  int64  `json:"e"`
}

// Start begins a sign-in: the URL to send the browser to and the state to
// keep for the callback.
func (p *Provider) Start(ctx context.Context, returnTo string, now time.Time) (string, *State, error) {
	oc, _, err := p.discover(ctx)
	if err != nil {
		return "", nil, err
	}
	st := &State{Provider: p.c.ID, State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: returnTo, Expires: now.Add(StateTTL).Unix()}
	u := oc.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	return u, st, nil
}

// Identity is a verified upstream user, mapped to latchkey.
type Identity struct {
	// UserID is the latchkey user: "<provider>:<sub>" or the username claim.
	UserID string
	// Subject is the upstream's sub; Source is "oidc:<provider>".
	Subject, Source string
	Name, Email     string
	// EmailVerified is the upstream's email_verified claim.
	EmailVerified bool
	// Groups are the values of the groups claim (Config.GroupsClaim),
	// in the provider's order; Permissions are what GroupPermissions maps
	// them to.
	Groups      []string
	Permissions []string
	// AMR is the upstream's amr claim, if any.
	AMR []string
}

// Finish redeems the code of a callback whose state matched st and
// verifies the ID token: signature, iss, aud, exp and the nonce.
func (p *Provider) Finish(ctx context.Context, st *State, code string) (*Identity, error) {
	oc, v, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.c.HTTPClient), 15*time.Second)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.c.HTTPClient)
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return nil, fmt.Errorf("%w: token endpoint: %s", ErrRejected, re.ErrorCode)
		}
		return nil, fmt.Errorf("%w: token endpoint: %v", ErrUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: no id_token", ErrRejected)
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: id_token: %v", ErrRejected, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, fmt.Errorf("%w: id_token nonce does not match", ErrRejected)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: id_token claims: %v", ErrRejected, err)
	}
	return p.identity(idt.Subject, claims)
}

// identity maps verified claims to a latchkey user.
func (p *Provider) identity(sub string, claims map[string]any) (*Identity, error) {
	if sub == "" || len(sub) > 255 {
		return nil, fmt.Errorf("%w: sub missing or too long", ErrRejected)
	}
	id := &Identity{Subject: sub, Source: "oidc:" + p.c.ID, UserID: p.c.ID + ":" + sub}
	if p.c.UsernameClaim != "" {
		u, _ := claims[p.c.UsernameClaim].(string)
		if u == "" {
			return nil, fmt.Errorf("%w: no %s claim", ErrRejected, p.c.UsernameClaim)
		}
		id.UserID = u
	}
	id.Name, _ = claims["name"].(string)
	id.Email, _ = claims["email"].(string)
	id.EmailVerified, _ = claims["email_verified"].(bool)
	id.AMR = strings.Fields(strings.Join(stringsOf(claims["amr"]), " "))
	seen := map[string]bool{}
	id.Groups = stringsOf(claims[p.c.GroupsClaim])
	for _, g := range id.Groups {
		for _, perm := range p.c.GroupPermissions[g] {
			if !seen[perm] {
				seen[perm] = true
				id.Permissions = append(id.Permissions, perm)
			}
		}
	}
	slices.Sort(id.Permissions)
	return id, nil
}

// stringsOf reads a claim that is a string or a list of strings.
func stringsOf(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Codec seals a State for a cookie: JSON, then an HMAC-SHA256 tag under a
// key derived from latchkey's master key. The state holds no secret of
// the user's (the verifier only redeems together with a code the
// provider sends the same browser), so integrity is what it needs.
type Codec struct{ key []byte }

// NewCodec returns a codec with key (at least 32 bytes).
func NewCodec(key []byte) (*Codec, error) {
	if len(key) < 32 {
		return nil, errors.New("upstream state key: want at least 32 bytes")
	}
	return &Codec{key: slices.Clone(key)}, nil
}

// ErrBadState says a callback's state cookie is missing, forged, expired
// or not the callback's.
var ErrBadState = errors.New("the sign-in state is missing, expired or was altered")

// Seal returns st as a cookie value.
func (c *Codec) Seal(st *State) string {
	b, _ := json.Marshal(st)
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(c.tag(body))
}

// Open checks a cookie value and returns its state if it is live at now.
func (c *Codec) Open(v string, now time.Time) (*State, error) {
	body, tag, ok := strings.Cut(v, ".")
	if !ok || len(v) > 4096 {
		return nil, ErrBadState
	}
	got, err := base64.RawURLEncoding.DecodeString(tag)
	if err != nil || !hmac.Equal(got, c.tag(body)) {
		return nil, ErrBadState
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, ErrBadState
	}
	var st State
	if json.Unmarshal(b, &st) != nil || now.Unix() >= st.Expires || st.State == "" || st.Nonce == "" || st.Verifier == "" {
		return nil, ErrBadState
	}
	return &st, nil
}

func (c *Codec) tag(body string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("latchkey upstream state v1\x00"))
	m.Write([]byte(body))
	return m.Sum(nil)
}
