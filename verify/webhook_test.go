package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func signed(key []byte, id string, ts int64, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifyWebhook(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("another secret, rotated out.....")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	now := time.Unix(1_800_000_000, 0)
	body := `{"type":"key.revoked","timestamp":"2027-01-15T08:00:00Z","data":{"key_id":"key_1"}}`
	hdr := func(id string, ts int64, sig string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		h.Set("webhook-signature", sig)
		return h
	}
	ts := now.Unix()
	for _, tc := range []struct {
		name   string
		secret string
		h      http.Header
		body   string
		want   error
	}{
		{"valid", secret, hdr("msg_1", ts, signed(key, "msg_1", ts, body)), body, nil},
		{"one of two (rotation)", secret, hdr("msg_1", ts, signed(other, "msg_1", ts, body)+" "+signed(key, "msg_1", ts, body)), body, nil},
		{"only the old secret", secret, hdr("msg_1", ts, signed(other, "msg_1", ts, body)), body, ErrWebhookSignature},
		{"body changed", secret, hdr("msg_1", ts, signed(key, "msg_1", ts, body)), body + " ", ErrWebhookSignature},
		{"id changed", secret, hdr("msg_2", ts, signed(key, "msg_1", ts, body)), body, ErrWebhookSignature},
		{"unknown version", secret, hdr("msg_1", ts, "v1a,"+signed(key, "msg_1", ts, body)[3:]), body, ErrWebhookSignature},
		{"too old", secret, hdr("msg_1", ts-301, signed(key, "msg_1", ts-301, body)), body, ErrWebhookTimestamp},
		{"from the future", secret, hdr("msg_1", ts+301, signed(key, "msg_1", ts+301, body)), body, ErrWebhookTimestamp},
		{"no signature", secret, hdr("msg_1", ts, ""), body, ErrWebhookHeaders},
		{"bad timestamp", secret, func() http.Header { h := hdr("msg_1", ts, "v1,x"); h.Set("webhook-timestamp", "soon"); return h }(), body, ErrWebhookHeaders},
		{"bad secret", "whsec_%%%", hdr("msg_1", ts, signed(key, "msg_1", ts, body)), body, ErrWebhookSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := verifyWebhookAt(tc.secret, tc.h, []byte(tc.body), 0, now); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
