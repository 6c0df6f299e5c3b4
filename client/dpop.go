package client

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DPoPTransport is an http.RoundTripper that proves possession of Key on
// every request (DPoP, RFC 9449): it adds a DPoP header with a fresh
// proof signed by Key for the request's method and URL, hashing the
// credential of an "Authorization: DPoP" header in the proof's ath. When
// the server answers with a DPoP-Nonce challenge (use_dpop_nonce), it
// retries the request once with a proof carrying the nonce, and keeps the
// nonce for later requests to the same origin.
//
// Use it for keys bound to Key (latchkey keys create --dpop-jkt, see
// DPoPThumbprint) and for DPoP-bound OAuth access tokens.
type DPoPTransport struct {
	// Key signs the proofs: an ECDSA P-256 key (ES256) or an Ed25519 key
	// (EdDSA), in memory or any crypto.Signer holding one.
	Key crypto.Signer
	// Token, if set, is sent as "Authorization: DPoP <Token>" on requests
	// that have no Authorization header.
	Token string
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Now is the clock of the proofs' iat; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	nonces map[string]string // origin → the last DPoP-Nonce it sent
}

// DPoPThumbprint returns the RFC 7638 SHA-256 thumbprint, base64url, of a
// DPoP public key (ECDSA P-256 or Ed25519): the dpop_jkt to bind a key to.
func DPoPThumbprint(pub crypto.PublicKey) (string, error) {
	jwk, _, err := dpopJWK(pub)
	if err != nil {
		return "", err
	}
	// Members in lexicographic order, no white space (RFC 7638 §3.2):
	// encoding/json writes map keys sorted.
	b, err := json.Marshal(jwk)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// dpopJWK returns the required members of pub's JWK and the JWS algorithm.
func dpopJWK(pub crypto.PublicKey) (map[string]string, string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, "", errors.New("client: DPoP ECDSA keys must be P-256")
		}
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return nil, "", err
		}
		return map[string]string{"crv": "P-256", "kty": "EC", "x": b64(raw[1:33]), "y": b64(raw[33:])}, "ES256", nil
	case ed25519.PublicKey:
		return map[string]string{"crv": "Ed25519", "kty": "OKP", "x": b64(k)}, "EdDSA", nil
	}
	return nil, "", fmt.Errorf("client: DPoP keys must be ECDSA P-256 or Ed25519, not %T", pub)
}

// Proof returns a DPoP proof for a request with method and URL (its query
// and fragment are dropped), hashing accessToken in ath when it is set
// and carrying nonce when it is set.
func (t *DPoPTransport) Proof(method, url, accessToken, nonce string) (string, error) {
	if t.Key == nil {
		return "", errors.New("client: DPoPTransport has no Key")
	}
	jwk, alg, err := dpopJWK(t.Key.Public())
	if err != nil {
		return "", err
	}
	hdr, err := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": jwk})
	if err != nil {
		return "", err
	}
	var jti [16]byte
	rand.Read(jti[:])
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti[:]), "htm": method, "htu": url, "iat": now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(body)
	var sig []byte
	switch alg {
	case "EdDSA":
		if sig, err = t.Key.Sign(rand.Reader, []byte(input), crypto.Hash(0)); err != nil {
			return "", err
		}
	default: // ES256: the JWS form is R || S, 32 bytes each
		digest := sha256.Sum256([]byte(input))
		der, err := t.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return "", err
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			return "", fmt.Errorf("client: ECDSA signature: %w", err)
		}
		sig = make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// RoundTrip implements http.RoundTripper.
func (t *DPoPTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	origin := req.URL.Scheme + "://" + req.URL.Host
	resp, err := t.send(base, req, origin, t.nonce(origin))
	if err != nil {
		return nil, err
	}
	n := resp.Header.Get("DPoP-Nonce")
	if n == "" {
		return resp, nil
	}
	t.setNonce(origin, n)
	if !nonceChallenge(resp) || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
		return resp, nil
	}
	// One retry with the server's nonce (RFC 9449 §8, §9).
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = body
	}
	return t.send(base, req, origin, n)
}

// send signs a proof for req (a copy: a RoundTripper must not modify its
// request) and sends it.
func (t *DPoPTransport) send(base http.RoundTripper, req *http.Request, origin, nonce string) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body = req.Body
	if r.Header.Get("Authorization") == "" && t.Token != "" {
		r.Header.Set("Authorization", "DPoP "+t.Token)
	}
	var ath string
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "DPoP") {
		ath = strings.TrimLeft(tok, " ")
	}
	p, err := t.Proof(r.Method, origin+r.URL.EscapedPath(), ath, nonce)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r.Header.Set("DPoP", p)
	return base.RoundTrip(r)
}

// nonceChallenge reports whether resp asks for a proof with the server's
// nonce: a resource server's 401 "WWW-Authenticate: DPoP
// error=use_dpop_nonce" or an authorization server's 400
// {"error":"use_dpop_nonce"}.
func nonceChallenge(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			if strings.Contains(v, "use_dpop_nonce") {
				return true
			}
		}
	case http.StatusBadRequest:
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if err != nil {
			return false
		}
		var e struct {
			Error string `json:"error"`
		}
		return json.Unmarshal(b, &e) == nil && e.Error == "use_dpop_nonce"
	}
	return false
}

func (t *DPoPTransport) nonce(origin string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nonces[origin]
}

func (t *DPoPTransport) setNonce(origin, n string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nonces == nil {
		t.nonces = map[string]string{}
	}
	if len(t.nonces) > 100 { // a transport talks to a few servers
		clear(t.nonces)
	}
	t.nonces[origin] = n
}
