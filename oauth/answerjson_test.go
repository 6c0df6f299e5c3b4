package oauth

import (
	"bytes"
	"encoding/json"
	"testing"
)

// encodeStd is what the answers were before the hand-written encoders:
// encoding/json's Encoder.
func encodeStd(t testing.TB, v any) string {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var trickyStrings = []string{"", "orders:read", `a"b\c`, "<script>&amp;</script>", "\x00\x01\x1f\n\r\t\b\f", "\u2028\u2029",
	"\xff\xfe", "é😀 ünïcode", "\x7f"}

func TestTokenResponseJSONMatchesEncodingJSON(t *testing.T) {
	cases := []TokenResponse{{}, {AccessToken: "a.b.c", TokenType: "Bearer", ExpiresIn: 300, Scope: "orders:read orders:write"},
		{AccessToken: "lka_x", IssuedTokenType: TokenTypeAccessToken, TokenType: "DPoP", ExpiresIn: -1, RefreshToken: "lkr_y"}}
	for _, s := range trickyStrings {
		cases = append(cases, TokenResponse{AccessToken: s, IssuedTokenType: s, TokenType: s, ExpiresIn: 1 << 40, Scope: s, RefreshToken: s})
	}
	for _, c := range cases {
		if got, want := string(c.appendJSON(nil)), encodeStd(t, &c); got != want {
			t.Errorf("appendJSON = %s, encoding/json %s", got, want)
		}
	}
}

func TestIntrospectionJSONMatchesEncodingJSON(t *testing.T) {
	cases := []Introspection{{}, {Active: true}, {Active: true, Audience: []string{}}, *inactive,
		{Active: true, Scope: "a b", ClientID: "svc", Subject: "app:svc", Audience: []string{"orders", "billing"}, Issuer: "https://as",
			Expiry: 1700000000, IssuedAt: -5, ID: "jti", TokenType: "DPoP", KeyID: "key_1", Confirmation: &Confirmation{JKT: "thumb"}}}
	for _, s := range trickyStrings {
		cases = append(cases, Introspection{Active: true, Scope: s, ClientID: s, Subject: s, Audience: []string{s, s}, Issuer: s,
			Expiry: 1, IssuedAt: 2, ID: s, TokenType: s, KeyID: s, Confirmation: &Confirmation{JKT: s}})
	}
	for _, c := range cases {
		if got, want := string(c.appendJSON(nil)), encodeStd(t, &c); got != want {
			t.Errorf("appendJSON = %s, encoding/json %s", got, want)
		}
	}
}

func FuzzAnswerJSON(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, s, int64(len(s)), len(s)%2 == 0)
	}
	f.Fuzz(func(t *testing.T, a, b string, n int64, active bool) {
		tr := TokenResponse{AccessToken: a, IssuedTokenType: b, TokenType: b, ExpiresIn: n, Scope: a, RefreshToken: b}
		if got, want := string(tr.appendJSON(nil)), encodeStd(t, &tr); got != want {
			t.Errorf("TokenResponse: appendJSON = %s, encoding/json %s", got, want)
		}
		in := Introspection{Active: active, Scope: a, ClientID: b, Audience: []string{a, b}, Expiry: n, IssuedAt: -n, KeyID: a}
		if n%3 == 0 {
			in.Confirmation, in.Audience = &Confirmation{JKT: b}, nil
		}
		if got, want := string(in.appendJSON(nil)), encodeStd(t, &in); got != want {
			t.Errorf("Introspection: appendJSON = %s, encoding/json %s", got, want)
		}
		var back Introspection
		if err := json.Unmarshal(in.appendJSON(nil), &back); err != nil {
			t.Fatalf("the answer is not JSON: %v", err)
		}
	})
}
