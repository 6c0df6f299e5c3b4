package leak

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/internal/outbound"
)

// GitHub's secret scanning partner program: GitHub POSTs the tokens it
// found in public content, signed with ECDSA P-256 (SHA-256, ASN.1 DER,
// base64 in Github-Public-Key-Signature) by the key that
// Github-Public-Key-Identifier names in its published list.

// DefaultGitHubKeysURL lists GitHub's secret scanning signing keys.
const DefaultGitHubKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// GitHub's headers.
const (
	GitHubKeyIDHeader     = "Github-Public-Key-Identifier"
	GitHubSignatureHeader = "Github-Public-Key-Signature"
)

// GitHub labels.
const (
	LabelTruePositive  = "true_positive"
	LabelFalsePositive = "false_positive"
)

// GitHubRefetchInterval is the least time between two fetches of the key
// list: an unknown identifier refetches at most this often.
const GitHubRefetchInterval = time.Minute

// ErrBadSignature refuses an alert whose signature does not verify, whose
// key is unknown or whose headers are missing.
var ErrBadSignature = errors.New("leak: bad GitHub signature")

// GitHubAlert is one token of a partner alert.
type GitHubAlert struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// GitHubAnswer is the answer for one token: its SHA-256 (hex), its type as
// GitHub sent it, and whether it was one of ours.
type GitHubAnswer struct {
	TokenHash string `json:"token_hash"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// GitHubKeys fetches and caches GitHub's signing keys.
type GitHubKeys struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	fetched time.Time // zero: never
	fetches int
}

// NewGitHubKeys returns the key list at url (DefaultGitHubKeysURL when
// empty), fetched through the outbound address guard: loopback and
// private addresses only with allowPrivate.
func NewGitHubKeys(url string, allowPrivate bool) *GitHubKeys {
	if url == "" {
		url = DefaultGitHubKeysURL
	}
	d := outbound.Guard(&net.Dialer{Timeout: 10 * time.Second}, allowPrivate)
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second, MaxIdleConns: 2}
	return &GitHubKeys{url: url, now: time.Now, keys: map[string]*ecdsa.PublicKey{},
		client: &http.Client{Transport: tr, Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Fetches returns how many times the list was fetched (for tests and
// metrics).
func (g *GitHubKeys) Fetches() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fetches
}

// githubRetryAfterFailure is how soon a failed fetch of the key list may
// be retried.
const githubRetryAfterFailure = 5 * time.Second

// key returns the key named id, fetching the list when id is unknown and
// the last fetch is GitHubRefetchInterval old.
func (g *GitHubKeys) key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if k := g.keys[id]; k != nil {
		return k, nil
	}
	now := g.now()
	if !g.fetched.IsZero() && now.Sub(g.fetched) < GitHubRefetchInterval {
		return nil, fmt.Errorf("%w: unknown key identifier", ErrBadSignature)
	}
	g.fetched = now
	g.fetches++
	// The fetch outlives the request that caused it (a caller that hangs
	// up must not leave the list empty for a minute), bounded by the
	// client's timeout.
	keys, err := g.fetch(context.WithoutCancel(ctx))
	if err != nil {
		// A failed fetch may be retried sooner than a successful one.
		g.fetched = now.Add(githubRetryAfterFailure - GitHubRefetchInterval)
		return nil, err
	}
	g.keys = keys
	if k := keys[id]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w: unknown key identifier", ErrBadSignature)
}

func (g *GitHubKeys) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.url, nil)
	if err != nil {
		return nil, fmt.Errorf("leak: GitHub keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := g.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("leak: fetch GitHub keys: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("leak: fetch GitHub keys: status %d", res.StatusCode)
	}
	var doc struct {
		PublicKeys []struct {
			KeyIdentifier string `json:"key_identifier"`
			Key           string `json:"key"`
			IsCurrent     bool   `json:"is_current"`
		} `json:"public_keys"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("leak: decode GitHub keys: %w", err)
	}
	keys := map[string]*ecdsa.PublicKey{}
	for _, k := range doc.PublicKeys {
		blk, _ := pem.Decode([]byte(k.Key))
		if blk == nil || k.KeyIdentifier == "" {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			continue
		}
		if ek, ok := pub.(*ecdsa.PublicKey); ok && ek.Curve.Params().Name == "P-256" {
			keys[k.KeyIdentifier] = ek
		}
	}
	return keys, nil
}

// Verify checks GitHub's signature sig (base64 ASN.1 ECDSA) of body by key
// keyID. Every refusal wraps ErrBadSignature, except a failure to fetch
// the key list.
func (g *GitHubKeys) Verify(ctx context.Context, keyID, sig string, body []byte) error {
	if keyID == "" || sig == "" {
		return fmt.Errorf("%w: missing %s or %s", ErrBadSignature, GitHubKeyIDHeader, GitHubSignatureHeader)
	}
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrBadSignature)
	}
	k, err := g.key(ctx, keyID)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(k, sum[:], der) {
		return fmt.Errorf("%w: signature does not verify", ErrBadSignature)
	}
	return nil
}

// MaxGitHubAlerts bounds the tokens of one alert.
const MaxGitHubAlerts = 1000

// HandleGitHub revokes the tokens of a verified partner alert and labels
// each: true_positive for a secret this server issued (live or revoked
// before), false_positive for anything else.
func (s *Service) HandleGitHub(ctx context.Context, alerts []GitHubAlert, requestID string) ([]GitHubAnswer, error) {
	out := make([]GitHubAnswer, 0, len(alerts))
	for _, a := range alerts {
		sum := sha256.Sum256([]byte(a.Token))
		ans := GitHubAnswer{TokenHash: hex.EncodeToString(sum[:]), TokenType: a.Type, Label: LabelFalsePositive}
		r, err := s.Handle(ctx, apitoken.FromString(a.Token), Origin{Source: SourceGitHub, URL: a.URL, RequestID: requestID})
		if err != nil {
			return nil, err
		}
		if r != nil && r.Kind != "" {
			ans.Label = LabelTruePositive
		}
		out = append(out, ans)
	}
	return out, nil
}
