package dpop

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrUseNonce refuses a proof without the server's current nonce, or with
// a stale one: use_dpop_nonce (RFC 9449 §8, §9). The answer carries a
// fresh nonce (Checker.Nonce) in a DPoP-Nonce header.
var ErrUseNonce = errors.New("use the server's DPoP nonce")

// NonceSlot is how long a server nonce is current; the one of the slot
// before is still accepted, so a nonce lives between one and two slots.
const NonceSlot = 5 * time.Minute

// ReplayFunc records that a proof of key jkt with digest id was accepted,
// until expires, and reports false if it already was (a replay). The
// record must be shared by every node; an error refuses the proof.
type ReplayFunc func(ctx context.Context, jkt, id string, expires time.Time) (fresh bool, err error)

// Checker adds to Verify what needs shared state: the replay check of the
// proof's jti (§11.1) and server nonces (§8, §9). Nonces are stateless:
// an HMAC of a time slot under NonceKey, so that any node sharing the key
// accepts the nonce another node issued.
type Checker struct {
	// Replay records accepted proofs; nil refuses every proof (a checker
	// without shared state cannot detect replays).
	Replay ReplayFunc
	// NonceKey derives server nonces; nil: no nonces (RequireNonce is
	// then ignored, and a proof's nonce claim is not checked).
	NonceKey []byte
	// RequireNonce refuses proofs without a current nonce (ErrUseNonce).
	// A proof that carries a nonce must have a current one either way.
	RequireNonce bool
	MaxAge       time.Duration // 0: DefaultMaxAge
	Skew         time.Duration // 0: DefaultSkew
	Now          func() time.Time
}

// Request is one request to check a proof for.
type Request struct {
	Proof  string // the DPoP header's value
	Method string
	URL    string // the request's absolute URL, as the server sees itself
	// AccessToken, if set, must be hashed in the proof's ath.
	AccessToken string
	// JKT, if set, is the thumbprint the proof's key must have (the
	// token's cnf.jkt or a key's binding).
	JKT string
	// Nonce requires a current server nonce for this request, whatever
	// the Checker's RequireNonce.
	Nonce bool
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Check verifies r's proof and records its jti. The error wraps
// ErrInvalidProof or is ErrUseNonce for a refusal; any other error is the
// replay store's (the proof must then be refused too).
func (c *Checker) Check(ctx context.Context, r Request) (*Proof, error) {
	now := c.now()
	p, err := Verify(r.Proof, r.Method, r.URL, Options{MaxAge: c.MaxAge, Skew: c.Skew, AccessToken: r.AccessToken, Now: now})
	if err != nil {
		return nil, err
	}
	if r.JKT != "" && p.JKT != r.JKT {
		return nil, invalid("the proof is signed by another key than the one the token is bound to")
	}
	if c.NonceKey != nil {
		switch {
		case p.Nonce != "" && !c.validNonce(p.Nonce, now):
			return nil, ErrUseNonce
		case p.Nonce == "" && (c.RequireNonce || r.Nonce):
			return nil, ErrUseNonce
		}
	}
	if c.Replay == nil {
		return nil, errors.New("dpop: no replay store")
	}
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	// The record outlives the window in which the proof's iat is
	// accepted: after it Verify refuses the proof anyway.
	fresh, err := c.Replay(ctx, p.JKT, ReplayID(p.JTI, r.URL), p.IssuedAt.Add(maxAge+time.Second))
	if err != nil {
		return nil, fmt.Errorf("dpop: record the proof: %w", err)
	}
	if !fresh {
		return nil, invalid("the proof was already used")
	}
	return p, nil
}

// ReplayID is the digest a proof is recorded under: its jti and the
// normalised request URL, hashed (§11.1 "store only a hash").
func ReplayID(jti, requestURL string) string {
	u, err := normalize(requestURL)
	if err != nil {
		u = requestURL
	}
	sum := sha256.Sum256([]byte(jti + " " + u))
	return hex.EncodeToString(sum[:])
}

// Nonce returns the current server nonce, for a DPoP-Nonce header; ""
// without a NonceKey.
func (c *Checker) Nonce() string {
	if c.NonceKey == nil {
		return ""
	}
	return c.nonceAt(c.now().Unix() / int64(NonceSlot/time.Second))
}

func (c *Checker) nonceAt(slot int64) string {
	m := hmac.New(sha256.New, c.NonceKey)
	m.Write([]byte("latchkey dpop nonce v1 "))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(slot))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// validNonce accepts the nonce of the current slot and of the one before.
func (c *Checker) validNonce(n string, now time.Time) bool {
	slot := now.Unix() / int64(NonceSlot/time.Second)
	ok := hmac.Equal([]byte(n), []byte(c.nonceAt(slot)))
	ok = hmac.Equal([]byte(n), []byte(c.nonceAt(slot-1))) || ok
	return ok
}
