package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/latchkey/latchkey/api"
)

// verifyDecodeCorpus holds bodies of every shape: the fast path's and the
// ones it must hand to encoding/json (escapes, case variants, duplicates,
// other fields, null, non-ASCII, trailing data, syntax errors).
var verifyDecodeCorpus = []string{
	`{}`, ` { } `, `{"key":"lk_abc"}`, `{"key":"lk_abc","scopes":["orders:read"]}`,
	`{"key":"k","keyspace":"acme","scopes":[],"scope_query":"a and b","ip":"10.0.0.1"}`,
	"{\n\t\"key\" : \"k\" ,\r\n \"scopes\" : [ \"a\" , \"b\" ] }\n",
	`{"key":"k","scopes":["a","b","c","d","e","f"]}`,
	`{"KEY":"k"}`, `{"Key":"k"}`, `{"key":"k","key":"j"}`, `{"scopes":["a"],"scopes":["b"]}`,
	`{"key":"k\"q"}`, `{"key":"\u006b"}`, `{"key":"é"}`, "{\"key\":\"\xff\"}", "{\"key\":\"a\tb\"}",
	`{"key":null}`, `{"scopes":null}`, `{"scopes":[null]}`, `{"key":1}`, `{"scopes":"a"}`,
	`{"key":"k","cost":0}`, `{"key":"k","cost":5}`, `{"key":"k","request":{"method":"GET"}}`,
	`{"key":"k","extra":1}`, `{"key":"k"}{}`, `{"key":"k"} x`, `{"key":"k",}`, `{"key":"k"`,
	`{"key" "k"}`, `{"scopes":["a",]}`, `{"scopes":["a"`, `[]`, `"k"`, `null`, ``, `   `, `{`, `}`,
	`{"key":"k","scopes":["a"]]`, `{,}`, `{"":"k"}`, `{"ip":""}`,
}

func TestFastVerifyRequestAgreesWithEncodingJSON(t *testing.T) {
	fast := 0
	for _, body := range verifyDecodeCorpus {
		if checkVerifyDecode(t, []byte(body)) {
			fast++
		}
	}
	if fast < 8 {
		t.Fatalf("only %d corpus bodies took the fast path", fast)
	}
}

func FuzzVerifyRequestDecode(f *testing.F) {
	for _, body := range verifyDecodeCorpus {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkVerifyDecode(t, body) })
}

// checkVerifyDecode fails when fastVerifyRequest accepts body but
// encoding/json (with the rules of decode) refuses it or reads other values.
func checkVerifyDecode(t *testing.T, body []byte) bool {
	t.Helper()
	var got api.VerifyRequest
	if !fastVerifyRequest(body, &got) {
		return false
	}
	var want api.VerifyRequest
	if err := decodeBytes(body, &want, false); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json refused it: %v", body, err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("body %q: fast path read %s (scopes nil: %v), encoding/json %s (scopes nil: %v)", body, g, got.Scopes == nil, w, want.Scopes == nil)
	}
	return true
}
