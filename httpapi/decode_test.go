package httpapi

import "testing"

func TestValidTextRefusesInvalidUTF8AndLoneSurrogates(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want bool
	}{
		{"plain", `{"a":"b"}`, true},
		{"pair", `{"a":"\ud83d\ude00"}`, true},
		{"escaped backslash then u", `{"a":"\\udc00"}`, true},
		{"bmp escape", `{"a":"\u00e9"}`, true},
		{"lone low surrogate", `{"a":"\udc00"}`, false},
		{"lone high surrogate", `{"a":"\ud800"}`, false},
		{"high then non-low", `{"a":"\ud800\u0041"}`, false},
		{"lone surrogate in a key", `{"\udfff":1}`, false},
		{"raw invalid bytes", "{\"a\":\"\xff\xfe\"}", false},
		{"truncated raw sequence", "{\"a\":\"\xe2\x82\"}", false},
	} {
		if got := validText([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: validText(%q) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}
