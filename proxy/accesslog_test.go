package proxy

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestProxy_AccessLogHasNoSecrets(t *testing.T) {
	var logs logBuffer
	g := newGW(t, `routes: [{path: /orders, scopes: [orders:read], api_key_header: true}]`, func(o *Options) {
		o.Logger = jsonLogger(&logs)
	})
	const querySecret = "qs_Secret9876543210zyxwvuZYXWVU"
	const badToken = "lk_bad_Secret0123456789abcdefABCDEFGHI"
	do(t, g.URL, "GET", "/orders/1?api_key="+querySecret+"&token="+tokWriter, bearerH(tokReader)...)
	do(t, g.URL, "GET", "/orders/2", "X-API-Key", tokWriter)
	do(t, g.URL, "GET", "/orders/3", bearerH(badToken)...)
	do(t, g.URL, "GET", "/orders/4?access_token="+querySecret)

	out := logs.String()
	for _, secret := range []string{tokReader, tokWriter, badToken, querySecret, "api_key", "access_token", "Secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log contains %q:\n%s", secret, out)
		}
	}
	var recs []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == "proxy" {
			recs = append(recs, m)
		}
	}
	if len(recs) != 4 {
		t.Fatalf("%d access records, want 4:\n%s", len(recs), out)
	}
	want := []struct {
		path, keyID, code string
		status            float64
	}{
		{"/orders/1", "key_reader", "", 200},
		{"/orders/2", "key_writer", "", 200},
		{"/orders/3", "", CodeInvalidToken, 401},
		{"/orders/4", "", CodeInvalidToken, 401},
	}
	for i, w := range want {
		r := recs[i]
		if r["method"] != "GET" || r["path"] != w.path || r["route"] != "/orders" || r["status"] != w.status ||
			r["key_id"] != w.keyID || r["code"] != w.code || r["client_ip"] != "127.0.0.1" {
			t.Errorf("record %d: %v", i, r)
		}
		if _, ok := r["duration"].(float64); !ok {
			t.Errorf("record %d has no duration: %v", i, r)
		}
		if b, _ := r["bytes"].(float64); b <= 0 {
			t.Errorf("record %d: bytes %v", i, r["bytes"])
		}
	}
}
