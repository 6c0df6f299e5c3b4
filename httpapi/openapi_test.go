package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// The tests in this file check openapi.json against the implementation:
// the routes the handler serves, the wire types of package api and the
// codes of package token. When one of them fails, the document (or the
// code) has drifted.

// oaPublicRoutes are the routes served without a management credential.
var oaPublicRoutes = []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /v1/openapi.json",
	"GET /.well-known/jwks.json", "GET /.well-known/oauth-authorization-server", "POST /oauth2/token",
	"POST /oauth2/introspect", "POST /oauth2/revoke", "POST /oauth2/par", "GET /.well-known/openid-configuration", "GET /oauth2/userinfo", "POST /oauth2/userinfo",
	"POST /v1/leaks", "POST /v1/leaks/github"}

func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)

	t.Run("version is 3.1.0", func(t *testing.T) {
		if got := doc["openapi"]; got != "3.1.0" {
			t.Errorf("openapi = %v, want 3.1.0", got)
		}
	})
	t.Run("info has title and version", func(t *testing.T) {
		info, _ := doc["info"].(map[string]any)
		if info["title"] != "latchkey" || info["version"] != "1.0.0" {
			t.Errorf("info title/version = %v/%v, want latchkey/1.0.0", info["title"], info["version"])
		}
	})
	t.Run("description names every management scope", func(t *testing.T) {
		info, _ := doc["info"].(map[string]any)
		desc, _ := info["description"].(string)
		for _, s := range token.ManagementScopes {
			if !strings.Contains(desc, "`"+s+"`") {
				t.Errorf("info.description does not mention scope `%s`", s)
			}
		}
	})
	t.Run("bearer security is global", func(t *testing.T) {
		comps, _ := doc["components"].(map[string]any)
		schemes, _ := comps["securitySchemes"].(map[string]any)
		b, _ := schemes["bearer"].(map[string]any)
		if b["type"] != "http" || b["scheme"] != "bearer" {
			t.Errorf("components.securitySchemes.bearer = %v, want http bearer", b)
		}
		sec, _ := doc["security"].([]any)
		if len(sec) != 1 || !reflect.DeepEqual(sec[0], map[string]any{"bearer": []any{}}) {
			t.Errorf("security = %v, want [{bearer: []}]", doc["security"])
		}
	})
	t.Run("formatted with 2-space indentation", func(t *testing.T) {
		var compact, want bytes.Buffer
		if err := json.Compact(&compact, OpenAPI()); err != nil {
			t.Fatal(err)
		}
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		want.WriteByte('\n')
		if !bytes.Equal(OpenAPI(), want.Bytes()) {
			t.Error("openapi.json is not formatted with 2-space indentation and a final newline; reformat it, e.g. with `python3 -m json.tool --indent 2 --no-ensure-ascii`")
		}
	})
}

// oaRoute turns a ServeMux pattern into an OpenAPI (method, path).
func oaRoute(t *testing.T, pattern string) (method, path string) {
	t.Helper()
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		t.Fatalf("route %q has no method or is not rooted: document it by hand", pattern)
	}
	path = strings.TrimSuffix(path, "{$}")
	path = regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(path, "{$1}")
	return method, path
}

// oaServerRoutes are documented routes that package server serves beside
// Handler; server's TestE2E_QuickStart/operational_endpoints checks them.
var oaServerRoutes = []string{"GET /metrics"}

func TestOpenAPIPathsMatchRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	var served, documented []string
	for _, p := range (&Handler{}).Routes() {
		m, path := oaRoute(t, p)
		served = append(served, m+" "+path)
	}
	// Served by package server beside the API handler (its test checks them).
	served = append(served, oaServerRoutes...)
	for _, o := range doc.operations(t) {
		documented = append(documented, o.String())
	}
	if len(served) == 0 {
		t.Fatal("Handler.Routes() is empty")
	}

	t.Run("every served route is documented", func(t *testing.T) {
		for _, r := range oaMissing(served, documented) {
			t.Errorf("route %s is served but missing from openapi.json", r)
		}
	})
	t.Run("every documented route is served", func(t *testing.T) {
		for _, r := range oaMissing(documented, served) {
			t.Errorf("openapi.json documents %s, which the handler does not serve", r)
		}
	})
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	all := map[string]string{}
	collectRefs(map[string]any(doc), "#", all)
	if len(all) == 0 {
		t.Fatal("openapi.json has no $ref at all")
	}
	used := map[string]bool{}
	for at, ref := range all {
		if _, err := doc.resolve(ref); err != nil {
			t.Errorf("%s: %v", at, err)
		}
		used[ref] = true
	}

	t.Run("every component is used", func(t *testing.T) {
		comps, _ := doc["components"].(map[string]any)
		for _, kind := range []string{"schemas", "responses", "parameters", "headers"} {
			m, _ := comps[kind].(map[string]any)
			for name := range m {
				if ref := "#/components/" + kind + "/" + name; !used[ref] {
					t.Errorf("%s is never referenced", ref)
				}
			}
		}
	})
}

// oaScalarSchemas are the component schemas without a Go struct: named
// strings and free-form objects.
var oaScalarSchemas = []string{"Scope", "Duration", "Metadata", "PrincipalType", "KeyState", "VerifyCode", "WebhookEvent"}

// oaSchemaCase pairs a component schema with the Go type it describes.
type oaSchemaCase struct {
	schema   string
	goType   reflect.Type
	response bool // the server writes it: fields without omitempty are always present
	// nullable lists request fields that accept JSON null (json.RawMessage
	// fields whose null the handler interprets).
	nullable []string
}

// oaTokenForm is the form of POST /oauth2/token (RFC 6749 §4.4.2 and
// §2.3.1), named as the schema's properties.
type oaTokenForm struct {
	GrantType          string `json:"grant_type"`
	Scope              string `json:"scope,omitempty"`
	Audience           string `json:"audience,omitempty"`
	Resource           string `json:"resource,omitempty"`
	ClientID           string `json:"client_id,omitempty"`
	ClientSecret       string `json:"client_secret,omitempty"`
	SubjectToken       string `json:"subject_token,omitempty"`
	SubjectTokenType   string `json:"subject_token_type,omitempty"`
	RequestedTokenType string `json:"requested_token_type,omitempty"`
	ActorToken         string `json:"actor_token,omitempty"`
	ActorTokenType     string `json:"actor_token_type,omitempty"`
}

// oaIntrospectForm is the form of POST /oauth2/introspect (RFC 7662 §2.1).
type oaIntrospectForm struct {
	Token         string `json:"token"`
	TokenTypeHint string `json:"token_type_hint,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	ClientSecret  string `json:"client_secret,omitempty"`
}

func TestOpenAPISchemasMatchAPITypes(t *testing.T) {
	doc := loadOpenAPI(t)
	tests := []oaSchemaCase{
		{"Owner", reflect.TypeFor[api.Owner](), true, nil},
		{"RateLimit", reflect.TypeFor[api.RateLimit](), true, nil},
		{"Refill", reflect.TypeFor[api.Refill](), true, nil},
		{"RateLimitState", reflect.TypeFor[api.RateLimitState](), true, nil},
		{"Key", reflect.TypeFor[api.Key](), true, nil},
		{"CreatedKey", reflect.TypeFor[api.CreatedKey](), true, nil},
		{"RotatedKey", reflect.TypeFor[api.RotatedKey](), true, nil},
		{"CreateKeyRequest", reflect.TypeFor[api.CreateKeyRequest](), false, nil},
		{"UpdateKeyRequest", reflect.TypeFor[api.UpdateKeyRequest](), false, []string{"expires_at", "remaining", "metadata", "refill"}},
		{"RevokeRequest", reflect.TypeFor[api.RevokeRequest](), false, nil},
		{"RotateRequest", reflect.TypeFor[api.RotateRequest](), false, nil},
		{"RenewRequest", reflect.TypeFor[struct{}](), false, nil}, // renewKey decodes into struct{}
		{"KeyList", reflect.TypeFor[api.KeyList](), true, nil},
		{"UsageBucket", reflect.TypeFor[api.UsageBucket](), true, nil},
		{"KeyUsage", reflect.TypeFor[api.KeyUsage](), true, nil},
		{"UsageGroup", reflect.TypeFor[api.UsageGroup](), true, nil},
		{"Analytics", reflect.TypeFor[api.Analytics](), true, nil},
		{"VerifyRequest", reflect.TypeFor[api.VerifyRequest](), false, nil},
		{"ImportKeysRequest", reflect.TypeFor[api.ImportKeysRequest](), false, nil},
		{"ImportKey", reflect.TypeFor[api.ImportKey](), false, nil},
		{"ImportKeysResponse", reflect.TypeFor[api.ImportKeysResponse](), true, nil},
		{"VerifyResponse", reflect.TypeFor[api.VerifyResponse](), true, nil},
		{"Keyspace", reflect.TypeFor[api.Keyspace](), true, nil},
		{"KeySecret", reflect.TypeFor[api.KeySecret](), true, nil},
		{"KeyspaceRequest", reflect.TypeFor[api.KeyspaceRequest](), false, nil},
		{"KeyspaceList", reflect.TypeFor[api.KeyspaceList](), true, nil},
		{"Principal", reflect.TypeFor[api.Principal](), true, nil},
		{"CreatePrincipalRequest", reflect.TypeFor[api.CreatePrincipalRequest](), false, nil},
		{"UpdatePrincipalRequest", reflect.TypeFor[api.UpdatePrincipalRequest](), false, []string{"metadata"}},
		{"PrincipalList", reflect.TypeFor[api.PrincipalList](), true, nil},
		{"AuditEvent", reflect.TypeFor[api.AuditEvent](), true, nil},
		{"AuditList", reflect.TypeFor[api.AuditList](), true, nil},
		{"AuditCheckpoint", reflect.TypeFor[api.AuditCheckpoint](), true, nil},
		{"AuditInclusionProof", reflect.TypeFor[api.AuditInclusionProof](), true, nil},
		{"AuditConsistencyProof", reflect.TypeFor[api.AuditConsistencyProof](), true, nil},
		{"Self", reflect.TypeFor[api.Self](), true, nil},
		{"Problem", reflect.TypeFor[api.Problem](), true, nil},
		{"TokenRequest", reflect.TypeFor[api.TokenRequest](), false, nil},
		{"TokenResponse", reflect.TypeFor[api.TokenResponse](), true, nil},
		{"AuthorizationServerMetadata", reflect.TypeFor[api.AuthorizationServerMetadata](), true, nil},
		{"SigningKey", reflect.TypeFor[api.SigningKey](), true, nil},
		{"SigningKeyList", reflect.TypeFor[api.SigningKeyList](), true, nil},
		{"RotateSigningKeyRequest", reflect.TypeFor[api.RotateSigningKeyRequest](), false, nil},
		{"Revocation", reflect.TypeFor[api.Revocation](), true, nil},
		{"RevocationList", reflect.TypeFor[api.RevocationList](), true, nil},
		{"SignedRequest", reflect.TypeFor[api.SignedRequest](), false, nil},
		{"DPoPProof", reflect.TypeFor[api.DPoPProof](), false, nil},
		{"EmptyRequest", reflect.TypeFor[struct{}](), false, nil}, // enrollUserTOTP, regenerateUserRecoveryCodes
		{"SetPasswordRequest", reflect.TypeFor[api.SetPasswordRequest](), false, nil},
		{"TOTPEnrollment", reflect.TypeFor[api.TOTPEnrollment](), true, nil},
		{"TOTPConfirmRequest", reflect.TypeFor[api.TOTPConfirmRequest](), false, nil},
		{"RecoveryCodes", reflect.TypeFor[api.RecoveryCodes](), true, nil},
		{"Factors", reflect.TypeFor[api.Factors](), true, nil},
		{"PasskeySummary", reflect.TypeFor[api.PasskeySummary](), true, nil},
		{"SessionFactor", reflect.TypeFor[api.SessionFactor](), true, nil},
		{"SessionApp", reflect.TypeFor[api.SessionApp](), true, nil},
		{"Session", reflect.TypeFor[api.Session](), true, nil},
		{"SessionList", reflect.TypeFor[api.SessionList](), true, nil},
		{"SessionsEnded", reflect.TypeFor[api.SessionsEnded](), true, nil},
		{"Grant", reflect.TypeFor[api.Grant](), true, nil},
		{"GrantList", reflect.TypeFor[api.GrantList](), true, nil},
		{"GrantsRevoked", reflect.TypeFor[api.GrantsRevoked](), true, nil},
		{"OAuthSettings", reflect.TypeFor[api.OAuthSettings](), true, nil},
		{"ClientSecret", reflect.TypeFor[api.ClientSecret](), true, nil},
		{"RotateSecretRequest", reflect.TypeFor[api.RotateSecretRequest](), false, nil},
		{"OAuthTokenRequest", reflect.TypeFor[oaTokenForm](), false, nil},
		{"OAuthTokenResponse", reflect.TypeFor[oauth.TokenResponse](), true, nil},
		{"OAuthIntrospectionRequest", reflect.TypeFor[oaIntrospectForm](), false, nil},
		{"OAuthIntrospection", reflect.TypeFor[oauth.Introspection](), true, nil},
		{"OAuthError", reflect.TypeFor[api.OAuthError](), true, nil},
		{"LeakReportRequest", reflect.TypeFor[api.LeakReportRequest](), false, nil},
		{"LeakReceived", reflect.TypeFor[api.LeakReceived](), true, nil},
		{"LeakReport", reflect.TypeFor[api.LeakReport](), true, nil},
		{"LeakReportList", reflect.TypeFor[api.LeakReportList](), true, nil},
		{"LeakLookupRequest", reflect.TypeFor[api.LeakLookupRequest](), false, nil},
		{"LeakLookupItem", reflect.TypeFor[api.LeakLookupItem](), true, nil},
		{"LeakLookupResult", reflect.TypeFor[api.LeakLookupResult](), true, nil},
		{"GitHubAlert", reflect.TypeFor[leak.GitHubAlert](), false, nil},
		{"GitHubAnswer", reflect.TypeFor[leak.GitHubAnswer](), true, nil},
		{"CreateWebhookRequest", reflect.TypeFor[api.CreateWebhookRequest](), false, nil},
		{"UpdateWebhookRequest", reflect.TypeFor[api.UpdateWebhookRequest](), false, nil},
		{"RotateWebhookSecretRequest", reflect.TypeFor[api.RotateWebhookSecretRequest](), false, nil},
		{"Webhook", reflect.TypeFor[api.Webhook](), true, nil},
		{"WebhookList", reflect.TypeFor[api.WebhookList](), true, nil},
		{"WebhookDelivery", reflect.TypeFor[api.WebhookDelivery](), true, nil},
		{"WebhookAttempt", reflect.TypeFor[api.WebhookAttempt](), true, nil},
		{"WebhookDeliveryList", reflect.TypeFor[api.WebhookDeliveryList](), true, nil},
	}
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)

	t.Run("every component schema is checked", func(t *testing.T) {
		for name := range schemas {
			mapped := slices.ContainsFunc(tests, func(tc oaSchemaCase) bool { return tc.schema == name })
			if !mapped && !slices.Contains(oaScalarSchemas, name) {
				t.Errorf("schema %s has no Go type in this test's table; add it", name)
			}
		}
		for _, name := range oaScalarSchemas {
			if _, ok := schemas[name]; !ok {
				t.Errorf("schema %s is missing", name)
			}
		}
	})

	for _, tc := range tests {
		t.Run(tc.schema, func(t *testing.T) {
			s, ok := schemas[tc.schema]
			if !ok {
				t.Fatalf("components.schemas.%s is missing", tc.schema)
			}
			flat := doc.flatten(t, s)
			fields := oaJSONFields(tc.goType)
			var goNames, docNames []string
			for _, f := range fields {
				goNames = append(goNames, f.name)
			}
			for name := range flat.props {
				docNames = append(docNames, name)
			}
			for _, n := range oaMissing(goNames, docNames) {
				t.Errorf("field %q of %v is not a property of the schema", n, tc.goType)
			}
			for _, n := range oaMissing(docNames, goNames) {
				t.Errorf("property %q is not a JSON field of %v", n, tc.goType)
			}
			for _, n := range oaMissing(flat.required, docNames) {
				t.Errorf("required property %q is not among the properties", n)
			}
			for _, f := range fields {
				prop, ok := flat.props[f.name]
				if !ok {
					continue
				}
				if tc.response && !f.omitempty && !slices.Contains(flat.required, f.name) {
					t.Errorf("%q is always present in responses (no omitempty) but not required", f.name)
				}
				if tc.response && f.omitempty && slices.Contains(flat.required, f.name) {
					t.Errorf("%q is required but omitted when empty (omitempty)", f.name)
				}
				want, nullable := oaJSONType(f.typ)
				nullable = (nullable && !f.omitempty) || slices.Contains(tc.nullable, f.name)
				got := doc.schemaTypes(t, prop)
				if want != "" && !slices.Contains(got, want) {
					t.Errorf("%q has type %v, want %s (Go %v)", f.name, got, want, f.typ)
				}
				if nullable && !slices.Contains(got, "null") {
					t.Errorf("%q accepts or may be null (Go %v) but its type %v excludes null", f.name, f.typ, got)
				}
				if !nullable && slices.Contains(got, "null") {
					t.Errorf("%q is never null (Go %v) but its type %v allows null", f.name, f.typ, got)
				}
			}
		})
	}
}

// oaEnum returns the enum of component schema name.
func oaEnum(t *testing.T, doc openapiDoc, name string) []string {
	t.Helper()
	s := doc.deref(t, map[string]any{"$ref": "#/components/schemas/" + name})
	raw, ok := s["enum"].([]any)
	if !ok {
		t.Fatalf("schema %s has no enum", name)
	}
	var out []string
	for _, v := range raw {
		out = append(out, fmt.Sprint(v))
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIEnumsMatchToken(t *testing.T) {
	doc := loadOpenAPI(t)
	codes := make([]string, 0, len(token.Codes))
	for _, c := range token.Codes {
		codes = append(codes, string(c))
	}
	tests := []struct {
		schema string
		want   []string
	}{
		{"VerifyCode", codes},
		{"KeyState", []string{string(token.Active), string(token.Disabled), string(token.Revoked), string(token.Expired)}},
		{"PrincipalType", []string{string(token.User), string(token.App)}},
	}
	for _, tc := range tests {
		t.Run(tc.schema, func(t *testing.T) {
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if got := oaEnum(t, doc, tc.schema); !slices.Equal(got, want) {
				t.Errorf("enum = %v, want %v", got, want)
			}
		})
	}
	t.Run("KeyState values are valid states", func(t *testing.T) {
		for _, s := range oaEnum(t, doc, "KeyState") {
			if !token.ValidState(token.State(s)) {
				t.Errorf("%q is not a token.State", s)
			}
		}
	})
}

func TestOpenAPIOperations(t *testing.T) {
	doc := loadOpenAPI(t)
	ids := map[string]string{}
	for _, o := range doc.operations(t) {
		t.Run(o.String(), func(t *testing.T) {
			id, _ := o.op["operationId"].(string)
			if id == "" {
				t.Error("no operationId")
			} else if prev, dup := ids[id]; dup {
				t.Errorf("operationId %q is also used by %s", id, prev)
			}
			ids[id] = o.String()
			if s, _ := o.op["summary"].(string); s == "" {
				t.Error("no summary")
			}

			responses, _ := o.op["responses"].(map[string]any)
			has2xx := false
			for code := range responses {
				if strings.HasPrefix(code, "2") {
					has2xx = true
				}
			}
			if !has2xx {
				t.Errorf("no 2xx response among %v", oaSortedKeys(responses))
			}

			public := slices.Contains(oaPublicRoutes, o.String())
			sec, overrides := o.op["security"].([]any)
			switch {
			case public && (!overrides || len(sec) != 0):
				t.Error("public route must have `security: []`")
			case !public && overrides:
				t.Errorf("authenticated route overrides the global security with %v", sec)
			case !public:
				for _, code := range []string{"401", "429", "503"} {
					if _, ok := responses[code]; !ok {
						t.Errorf("authenticated route does not document %s", code)
					}
				}
				if r, ok := responses["429"]; ok {
					if h, _ := doc.deref(t, r)["headers"].(map[string]any); h["Retry-After"] == nil {
						t.Error("429 does not document the Retry-After header")
					}
				}
			}

			oaCheckPathParams(t, doc, o)
			oaCheckRequestBody(t, doc, o, responses)
		})
	}
}

// oaCheckPathParams checks that the path parameters declared for o are
// exactly the {placeholders} of its path.
func oaCheckPathParams(t *testing.T, doc openapiDoc, o oaOperation) {
	t.Helper()
	var want, got []string
	for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(o.path, -1) {
		want = append(want, m[1])
	}
	for _, src := range []map[string]any{o.item, o.op} {
		params, _ := src["parameters"].([]any)
		for _, p := range params {
			pm := doc.deref(t, p)
			if pm["in"] == "path" {
				if pm["required"] != true {
					t.Errorf("path parameter %v is not required", pm["name"])
				}
				got = append(got, pm["name"].(string))
			}
		}
	}
	for _, n := range oaMissing(want, got) {
		t.Errorf("path parameter {%s} is not declared", n)
	}
	for _, n := range oaMissing(got, want) {
		t.Errorf("declared path parameter %q is not in the path", n)
	}
}

// oaCheckRequestBody checks that POST, PUT and PATCH document a JSON body
// whose schema rejects unknown fields, as decode does, and the decode
// errors. The OAuth endpoints take a form instead, whose unknown
// parameters are ignored (RFC 6749 §3.2).
func oaCheckRequestBody(t *testing.T, doc openapiDoc, o oaOperation, responses map[string]any) {
	t.Helper()
	rb, hasBody := o.op["requestBody"]
	if o.method != http.MethodPost && o.method != http.MethodPut && o.method != http.MethodPatch {
		if hasBody {
			t.Errorf("%s has a request body", o.method)
		}
		return
	}
	if !hasBody {
		t.Error("no requestBody")
		return
	}
	content, _ := doc.deref(t, rb)["content"].(map[string]any)
	media, ok := content["application/json"].(map[string]any)
	form := strings.HasPrefix(o.path, "/oauth2/")
	if form {
		media, ok = content["application/x-www-form-urlencoded"].(map[string]any)
	}
	if !ok || len(content) != 1 {
		t.Fatalf("request body content is %v, want only application/json (application/x-www-form-urlencoded under /oauth2/)", oaSortedKeys(content))
	}
	flat := doc.flatten(t, media["schema"])
	// GitHub's partner alerts are GitHub's format: fields it may add are
	// ignored, not refused.
	if !form && !flat.closed && o.path != "/v1/leaks/github" {
		t.Error("request body schema does not set additionalProperties: false (unknown fields are rejected)")
	}
	var props []string
	for name := range flat.props {
		props = append(props, name)
	}
	for _, n := range oaMissing(flat.required, props) {
		t.Errorf("request body requires %q, which is not a property", n)
	}
	for _, code := range []string{"400", "413", "415"} {
		if _, ok := responses[code]; !ok {
			t.Errorf("operation with a body does not document %s", code)
		}
	}
}

func oaSortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIServed(t *testing.T) {
	h := New(Config{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: status %d, want 200", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), OpenAPI()) {
		t.Error("served document differs from the embedded openapi.json")
	}
}
