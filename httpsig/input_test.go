package httpsig

import (
	"strings"
	"testing"
)

func TestParseSignatureInput(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		ok          bool
		canonical   string // label=String() of each member, joined; "" = field
	}{
		{"rfc b.2.5", rfcB25Input, true, ""},
		{"signer output", `sig1=("@method" "@target-uri" "@path" "@query" "content-digest");created=1;nonce="a";keyid="k";alg="hmac-sha256"`, true, ""},
		{"two members", `a=("@method");created=1, b=();keyid="k"`, true, ""},
		{"ows between members", "a=();created=1 ,\tb=()", true, `a=();created=1, b=()`},
		{"leading and trailing space", ` a=("@path" "@query")  `, true, `a=("@path" "@query")`},
		{"extra spaces in list", `a=(  "@path"   "@query" )`, true, `a=("@path" "@query")`},
		{"space after semicolon", `a=(); created=1`, true, `a=();created=1`},
		{"escaped string", `a=();keyid="q\"b\\s"`, true, ""},
		{"all params", `a=();tag="t";alg="x";keyid="k";nonce="n";expires=2;created=1`, true, ""},

		{"empty", ``, false, ""},
		{"not a list", `a="@method"`, false, ""},
		{"bare key", `a`, false, ""},
		{"token component", `a=(@method)`, false, ""},
		{"integer component", `a=(1)`, false, ""},
		{"component parameter", `a=("@query-param";name="x")`, false, ""},
		{"sf parameter on field", `a=("example-dict";sf)`, false, ""},
		{"unsupported derived", `a=("@status")`, false, ""},
		{"upper-case field", `a=("Date")`, false, ""},
		{"duplicate component", `a=("date" "date")`, false, ""},
		{"duplicate label", `a=(), a=()`, false, ""},
		{"duplicate param", `a=();created=1;created=2`, false, ""},
		{"unknown param", `a=();foo=1`, false, ""},
		{"negative created", `a=();created=-1`, false, ""},
		{"decimal created", `a=();created=1.5`, false, ""},
		{"string created", `a=();created="1"`, false, ""},
		{"long integer", `a=();created=1234567890123456`, false, ""},
		{"empty nonce", `a=();nonce=""`, false, ""},
		{"token keyid", `a=();keyid=k`, false, ""},
		{"boolean keyid", `a=();keyid`, false, ""},
		{"control char", "a=();keyid=\"a\x01\"", false, ""},
		{"non-ascii", "a=();keyid=\"é\"", false, ""},
		{"bad escape", `a=();keyid="\n"`, false, ""},
		{"unterminated string", `a=();keyid="k`, false, ""},
		{"unterminated list", `a=("@method"`, false, ""},
		{"no space between items", `a=("@method""@path")`, false, ""},
		{"trailing comma", `a=(),`, false, ""},
		{"missing comma", `a=() b=()`, false, ""},
		{"upper-case label", `A=()`, false, ""},
		{"tab in list", "a=(\"@path\"\t\"@query\")", false, ""},
		{"nine members", "a=(), b=(), c=(), d=(), e=(), f=(), g=(), h=(), i=()", false, ""},
		{"too long", "a=();keyid=\"" + strings.Repeat("k", maxFieldLen) + "\"", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ins, err := ParseSignatureInput(tc.field)
			if !tc.ok {
				wantErr(t, err, ErrMalformed)
				return
			}
			wantErr(t, err, nil)
			want := tc.canonical
			if want == "" {
				want = tc.field
			}
			var parts []string
			for _, in := range ins {
				parts = append(parts, in.Label+"="+in.String())
			}
			if got := strings.Join(parts, ", "); got != want {
				t.Fatalf("serialized %s\nwant       %s", got, want)
			}
		})
	}
}

func TestParseSignatureInputLimits(t *testing.T) {
	comps := make([]string, maxComponents+1)
	for i := range comps {
		comps[i] = `"x-h` + strings.Repeat("a", i) + `"`
	}
	if _, err := ParseSignatureInput("a=(" + strings.Join(comps[:maxComponents], " ") + ")"); err != nil {
		t.Fatalf("%d components: %v", maxComponents, err)
	}
	_, err := ParseSignatureInput("a=(" + strings.Join(comps, " ") + ")")
	wantErr(t, err, ErrMalformed)
}

func TestParseSignature(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		ok          bool
	}{
		{"rfc", rfcB25Signature, true},
		{"two", "a=:AAAA:, b=::", true},
		{"list", "a=(:AAAA:)", false},
		{"token", "a=AAAA", false},
		{"integer", "a=1", false},
		{"boolean", "a", false},
		{"param", "a=:AAAA:;p", false},
		{"base64url", "a=:-_-_:", false},
		{"no padding", "a=:AAA:", false},
		{"unterminated", "a=:AAAA", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSignature(tc.field)
			if tc.ok {
				wantErr(t, err, nil)
			} else {
				wantErr(t, err, ErrMalformed)
			}
		})
	}
}

func TestSignatureBaseRefusesBadValues(t *testing.T) {
	r := serverRequest(t, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
	r.Header.Set("X-Evil", "a\n\"@method\": POST")
	_, err := SignatureBase(r, SignatureInput{Components: []string{"x-evil"}})
	wantErr(t, err, ErrMalformed)
	r.Header["X-Multi"] = []string{" a ", "b\t"}
	base, err := SignatureBase(r, SignatureInput{Components: []string{"x-multi", "@scheme", "@authority", "@request-target", "@query"}})
	wantErr(t, err, nil)
	want := "\"x-multi\": a, b\n\"@scheme\": http\n\"@authority\": h\n\"@request-target\": /x\n\"@query\": ?\n" +
		`"@signature-params": ("x-multi" "@scheme" "@authority" "@request-target" "@query")`
	if string(base) != want {
		t.Fatalf("base:\n%s\nwant:\n%s", base, want)
	}
	if r.Header["X-Multi"][0] != " a " {
		t.Fatal("SignatureBase modified the request's header")
	}
}
