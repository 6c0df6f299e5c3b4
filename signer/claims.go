package signer

import (
	"encoding/json"
	"math"
	"strings"
	"time"
)

// AccessClaims are the claims of a latchkey access token (RFC 9068).
type AccessClaims struct {
	Issuer    string    // iss
	Subject   string    // sub: the principal
	Audience  []string  // aud: one string on the wire when it has one element
	Expiry    time.Time // exp (required)
	IssuedAt  time.Time // iat (set by Issue)
	NotBefore time.Time // nbf (optional; zero means absent)
	ID        string    // jti: 128 random bits, set by Issue when empty
	Scope     []string  // scope: space-separated on the wire
	ClientID  string    // client_id (optional)
	KeyID     string    // key_id: the API key the token was exchanged for (optional)
	// ConfirmationJKT is cnf.jkt, the thumbprint of a proof-of-possession key (optional).
	ConfirmationJKT string
	// Actor is act (RFC 8693 §4.1): who acts for Subject — the current
	// actor, with the actors before it nested inside (optional).
	Actor *Actor
}

// Actor is one link of an act chain.
type Actor struct {
	Subject string `json:"sub"`
	Actor   *Actor `json:"act,omitempty"`
}

// MaxActorDepth bounds an act chain (TX-03): a delegation of delegations
// deeper than this is refused.
const MaxActorDepth = 4

// Depth is the number of actors in the chain a starts.
func (a *Actor) Depth() int {
	n := 0
	for ; a != nil; a = a.Actor {
		n++
	}
	return n
}

type wireCnf struct {
	JKT string `json:"jkt,omitempty"`
}

// wireOut is the encoding Issue writes.
type wireOut struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      any      `json:"aud"`
	Exp      int64    `json:"exp"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf,omitempty"`
	Jti      string   `json:"jti"`
	Scope    string   `json:"scope,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	KeyID    string   `json:"key_id,omitempty"`
	Cnf      *wireCnf `json:"cnf,omitempty"`
	Act      *Actor   `json:"act,omitempty"`
}

func (c *AccessClaims) wire() wireOut {
	w := wireOut{
		Iss:      c.Issuer,
		Sub:      c.Subject,
		Exp:      c.Expiry.Unix(),
		Iat:      c.IssuedAt.Unix(),
		Jti:      c.ID,
		Scope:    strings.Join(c.Scope, " "),
		ClientID: c.ClientID,
		KeyID:    c.KeyID,
	}
	if len(c.Audience) == 1 {
		w.Aud = c.Audience[0]
	} else {
		w.Aud = c.Audience
	}
	if !c.NotBefore.IsZero() {
		w.Nbf = c.NotBefore.Unix()
	}
	if c.ConfirmationJKT != "" {
		w.Cnf = &wireCnf{JKT: c.ConfirmationJKT}
	}
	w.Act = c.Actor
	return w
}

// wireIn is the encoding Verify reads. Pointers tell missing from zero;
// numeric dates are float64 so that a JSON string ("tomorrow", "123") is a
// type error (JWT-08).
type wireIn struct {
	Iss      *string         `json:"iss"`
	Sub      *string         `json:"sub"`
	Aud      json.RawMessage `json:"aud"`
	Exp      *float64        `json:"exp"`
	Iat      *float64        `json:"iat"`
	Nbf      *float64        `json:"nbf"`
	Jti      *string         `json:"jti"`
	Scope    *string         `json:"scope"`
	ClientID *string         `json:"client_id"`
	KeyID    *string         `json:"key_id"`
	Cnf      *wireCnf        `json:"cnf"`
	Act      *Actor          `json:"act"`
}

// numericDate converts an RFC 7519 NumericDate.
func numericDate(f float64) (time.Time, bool) {
	if math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true
}

// audience decodes aud, a string or an array of strings.
func audience(raw json.RawMessage) ([]string, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false
		}
		return []string{s}, true
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, false
	}
	return list, true
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
