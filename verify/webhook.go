package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultWebhookTolerance is how far a delivery's webhook-timestamp may be
// from the receiver's clock (Standard Webhooks suggests five minutes).
const DefaultWebhookTolerance = 5 * time.Minute

// Errors of VerifyWebhook.
var (
	ErrWebhookHeaders   = errors.New("verify: webhook-id, webhook-timestamp or webhook-signature missing or malformed")
	ErrWebhookTimestamp = errors.New("verify: webhook-timestamp outside the tolerance (replayed or clock skew)")
	ErrWebhookSignature = errors.New("verify: no webhook-signature matches")
	ErrWebhookSecret    = errors.New("verify: the webhook secret is not whsec_ and base64")
)

// VerifyWebhook checks a latchkey webhook delivery as Standard Webhooks
// defines it: one of the space-separated "v1,<base64>" signatures of the
// webhook-signature header must be the HMAC-SHA256, under the base64 part
// of secret ("whsec_…"), of webhook-id "." webhook-timestamp "." body —
// compared in constant time — and the timestamp must be within tolerance
// of now (DefaultWebhookTolerance if tolerance is not positive). body must
// be the raw request body, before any JSON decoding. Use webhook-id to
// drop duplicates: deliveries are at least once.
func VerifyWebhook(secret string, headers http.Header, body []byte, tolerance time.Duration) error {
	return verifyWebhookAt(secret, headers, body, tolerance, time.Now())
}

func verifyWebhookAt(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return ErrWebhookSecret
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrWebhookHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrWebhookHeaders
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrWebhookTimestamp
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, s := range strings.Fields(sigs) {
		v, b64, found := strings.Cut(s, ",")
		if !found || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			ok = true // no early return: every signature is checked alike
		}
	}
	if !ok {
		return ErrWebhookSignature
	}
	return nil
}
