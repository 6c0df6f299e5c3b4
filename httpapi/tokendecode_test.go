package httpapi

import (
	"reflect"
	"testing"

	"github.com/latchkey/latchkey/api"
)

// tokenDecodeCorpus holds bodies of every shape: the fast path's and the
// ones it must hand to encoding/json.
var tokenDecodeCorpus = []string{
	``, `  `, `{}`, ` { } `, `{"scope":"orders:read"}`, `{"scope":"a b","audience":"orders","expires_in":60}`,
	`{"expires_in":0}`, `{"expires_in":3600}`, `{"expires_in":123456789012345678}`, `{"expires_in":1234567890123456789}`,
	`{"expires_in":99999999999999999999}`, `{"expires_in":01}`, `{"expires_in":-1}`, `{"expires_in":1.5}`, `{"expires_in":1e3}`,
	`{"expires_in":"5m"}`, `{"expires_in":null}`, `{"expires_in":true}`, `{"expires_in":}`, `{"expires_in":1 }`,
	"{\n\t\"scope\" : \"a\" ,\r\n \"expires_in\" : 5 }\n", `{"Scope":"a"}`, `{"scope":"a","scope":"b"}`,
	`{"scope":"\u0061"}`, `{"scope":"é"}`, `{"scope":null}`, `{"scope":1}`, `{"scope":"a","extra":1}`,
	`{"scope":"a"}{}`, `{"scope":"a"} x`, `{"scope":"a",}`, `{"scope":"a"`, `[]`, `null`, `{`, `}`, `{,}`, `{"":"a"}`,
}

func TestFastTokenRequestAgreesWithEncodingJSON(t *testing.T) {
	fast := 0
	for _, body := range tokenDecodeCorpus {
		if checkTokenDecode(t, []byte(body)) {
			fast++
		}
	}
	if fast < 10 {
		t.Fatalf("only %d corpus bodies took the fast path", fast)
	}
}

func FuzzTokenRequestDecode(f *testing.F) {
	for _, body := range tokenDecodeCorpus {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkTokenDecode(t, body) })
}

// checkTokenDecode fails when fastTokenRequest accepts body but
// encoding/json (with the rules of decode) refuses it or reads other values.
func checkTokenDecode(t *testing.T, body []byte) bool {
	t.Helper()
	var got api.TokenRequest
	if !fastTokenRequest(body, &got) {
		return false
	}
	var want api.TokenRequest
	if err := decodeBytes(body, &want, true); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json refused it: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body %q: fast path read %+v, encoding/json %+v", body, got, want)
	}
	return true
}
