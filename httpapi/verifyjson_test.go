package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/latchkey/latchkey/api"
)

// wantSameJSON checks that appendVerifyResponse and json.Marshal agree.
func wantSameJSON(t *testing.T, v *api.VerifyResponse) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got := appendVerifyResponse(nil, v)
	if !json.Valid(got) {
		t.Fatalf("invalid JSON: %s", got)
	}
	// Metadata is written as stored; compare it compacted, as Marshal does.
	var compacted bytes.Buffer
	if err := json.Compact(&compacted, got); err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(want, &a)
	json.Unmarshal(got, &b)
	wa, _ := json.Marshal(a)
	wb, _ := json.Marshal(b)
	if !bytes.Equal(wa, wb) {
		t.Fatalf("hand-written JSON differs:\n got %s\nwant %s", got, want)
	}
	if len(v.Metadata) == 0 && !bytes.Equal(got, want) {
		t.Fatalf("bytes differ:\n got %s\nwant %s", got, want)
	}
}

func TestVerifyResponseJSON(t *testing.T) {
	exp := time.Date(2026, 12, 23, 6, 24, 22, 497862579, time.UTC)
	n := int64(42)
	for name, v := range map[string]*api.VerifyResponse{
		"not found": {Code: "NOT_FOUND"},
		"full": {Valid: true, Code: "VALID", KeyID: "key_06h0e4xr62qhmmvm684wrgwnam", Keyspace: "acme-live", Name: "ci <deploy> & \"quotes\" \\ \n\t\x01 \u2028 é 🗝",
			Owner: &api.Owner{Type: "user", ID: "alice@example.com"}, Scopes: []string{"orders:read", "billing:*"},
			ExpiresAt: &exp, Metadata: json.RawMessage(`{"plan":"pro","n":[1,2]}`), Remaining: &n,
			RateLimits: []api.RateLimitState{{Name: "requests", Limit: 100, Remaining: 99, Reset: 1763880000123, Window: "1m0s"}, {Name: "owner_daily", Limit: 5, Window: "24h0m0s"}}},
		"invalid utf-8":  {Code: "VALID", Name: "a\xffb\xc3"},
		"zero remaining": {Code: "USAGE_EXCEEDED", KeyID: "key_x", Remaining: new(int64)},
	} {
		t.Run(name, func(t *testing.T) { wantSameJSON(t, v) })
	}
}

func FuzzVerifyResponseJSON(f *testing.F) {
	f.Add("VALID", "key_1", "name", "user", "alice", "orders:read", int64(3), int64(1763880000123))
	f.Add("NOT_FOUND", "", "\x00\u2029<&>", "", "", "", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, code, id, name, ownerType, ownerID, sc string, n, reset int64) {
		exp := time.Unix(0, reset).UTC()
		v := &api.VerifyResponse{Code: code, KeyID: id, Name: name, Scopes: []string{sc, name}, Remaining: &n, ExpiresAt: &exp,
			RateLimits: []api.RateLimitState{{Name: sc, Limit: n, Remaining: n / 2, Reset: reset, Window: name}}}
		if ownerType != "" {
			v.Owner = &api.Owner{Type: ownerType, ID: ownerID}
		}
		if exp.Year() > 9999 || exp.Year() < 0 {
			v.ExpiresAt = nil // json.Marshal refuses such times
		}
		wantSameJSON(t, v)
	})
}
