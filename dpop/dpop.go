// Package dpop checks DPoP proofs (RFC 9449): the JWT a client signs with
// its own key for each request, binding a token to that key. Verify does
// the checks of RFC 9449 §4.3 that need nothing but the proof, the request
// and the clock; the replay check of the proof's jti (§11.1) needs shared
// state and is the caller's (latchkey records jtis in the database, so a
// replay fails on every node).
package dpop

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Algorithms are the signature algorithms accepted in a proof: asymmetric
// only (RFC 9449 §4.2: never "none", never a MAC).
var Algorithms = []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.ES384, jose.RS256, jose.PS256}

// Defaults.
const (
	// DefaultMaxAge bounds how old a proof's iat may be.
	DefaultMaxAge = 60 * time.Second
	// DefaultSkew bounds how far in the future a proof's iat may be.
	DefaultSkew = 5 * time.Second
	// MaxJTILen refuses unnecessarily large jti values (§11.1).
	MaxJTILen = 64
	// maxProofLen bounds a proof before anything parses it.
	maxProofLen = 8 << 10
)

// ErrInvalidProof is the class of every refusal: invalid_dpop_proof.
var ErrInvalidProof = errors.New("invalid DPoP proof")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidProof, fmt.Sprintf(format, args...))
}

// Options are the request-independent parts of a check.
type Options struct {
	MaxAge time.Duration // 0: DefaultMaxAge
	Skew   time.Duration // 0: DefaultSkew
	// AccessToken, if set, must be hashed in the proof's ath (a proof
	// presented with an access token, at a resource server).
	AccessToken string
	// Nonce, if set, must equal the proof's nonce (a server-provided
	// DPoP-Nonce).
	Nonce string
	Now   time.Time // zero: time.Now()
}

// Proof is what a valid proof says.
type Proof struct {
	JKT      string // the RFC 7638 thumbprint of the proof's key, base64url (cnf.jkt)
	JTI      string
	IssuedAt time.Time
	Nonce    string // the proof's nonce claim, "" if none
}

type claims struct {
	JTI   *string  `json:"jti"`
	HTM   *string  `json:"htm"`
	HTU   *string  `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   *string  `json:"ath"`
	Nonce *string  `json:"nonce"`
}

// Verify checks proof for a request with method and URL (the request's
// absolute URL, as the server sees itself) under o.
func Verify(proof, method, requestURL string, o Options) (*Proof, error) {
	if proof == "" || len(proof) > maxProofLen || strings.Count(proof, ".") != 2 {
		return nil, invalid("not a compact JWS")
	}
	sig, err := jose.ParseSignedCompact(proof, Algorithms)
	if err != nil {
		return nil, invalid("unparsable or disallowed algorithm")
	}
	if len(sig.Signatures) != 1 {
		return nil, invalid("one signature expected")
	}
	h := sig.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return nil, invalid("typ must be dpop+jwt")
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return nil, invalid("the header must carry a public jwk")
	}
	if _, symmetric := jwk.Key.([]byte); symmetric {
		return nil, invalid("the header must carry a public jwk")
	}
	payload, err := sig.Verify(jwk)
	if err != nil {
		return nil, invalid("the signature does not verify under the header's jwk")
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalid("the claims are not a JSON object")
	}
	if c.JTI == nil || *c.JTI == "" || c.HTM == nil || c.HTU == nil || c.IAT == nil {
		return nil, invalid("jti, htm, htu and iat are required")
	}
	if len(*c.JTI) > MaxJTILen {
		return nil, invalid("jti is longer than %d characters", MaxJTILen)
	}
	if *c.HTM != method {
		return nil, invalid("htm does not match the request's method")
	}
	if !sameTarget(*c.HTU, requestURL) {
		return nil, invalid("htu does not match the request's URL")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	maxAge, skew := o.MaxAge, o.Skew
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if skew <= 0 {
		skew = DefaultSkew
	}
	iat := time.Unix(int64(*c.IAT), 0)
	if iat.Before(now.Add(-maxAge)) || iat.After(now.Add(skew)) {
		return nil, invalid("iat is outside the accepted window")
	}
	if o.Nonce != "" && (c.Nonce == nil || *c.Nonce != o.Nonce) {
		return nil, invalid("the server's nonce is missing or stale")
	}
	if o.AccessToken != "" {
		want := sha256.Sum256([]byte(o.AccessToken))
		if c.ATH == nil || *c.ATH != base64.RawURLEncoding.EncodeToString(want[:]) {
			return nil, invalid("ath does not hash the access token")
		}
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, invalid("the jwk has no thumbprint")
	}
	p := &Proof{JKT: base64.RawURLEncoding.EncodeToString(tp), JTI: *c.JTI, IssuedAt: iat}
	if c.Nonce != nil {
		p.Nonce = *c.Nonce
	}
	return p, nil
}

// sameTarget compares htu with the request URL as RFC 9449 §4.3 asks:
// without query and fragment, after RFC 3986 §6.2.2–6.2.3 normalisation
// (scheme and host case, default ports, empty path as "/").
func sameTarget(htu, request string) bool {
	a, err1 := normalize(htu)
	b, err2 := normalize(request)
	return err1 == nil && err2 == nil && a == b
}

func normalize(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if u.Host == "" || (scheme != "https" && scheme != "http") {
		return "", errors.New("not an absolute http(s) URL")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = host + ":" + port
	}
	if strings.Contains(u.Hostname(), ":") { // IPv6
		host = "[" + strings.ToLower(u.Hostname()) + "]"
		if port != "" {
			host += ":" + port
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}
