package httpapi

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListProblemCodes: the problem codes added with the idempotency,
// import tombstone, owner-narrowing, input-validation and OAuth client work are named in
// the OpenAPI document's error responses (with the status each is sent
// with) and in the README, so that a client can rely on them as stable.
func TestDocsListProblemCodes(t *testing.T) {
	want := map[string]string{ // code → the response that lists it
		"digest_revoked":           "Conflict",
		"idempotency_in_progress":  "Conflict",
		"owner_may_only_narrow":    "Forbidden",
		"duration_out_of_range":    "UnprocessableEntity",
		"invalid_utf8":             "UnprocessableEntity",
		"idempotency_key_mismatch": "UnprocessableEntity",
		"outcome_unknown":          "ServiceUnavailable",
		"invalid_client_metadata":  "UnprocessableEntity",
		"client_not_found":         "NotFound",
	}
	doc := loadOpenAPI(t)
	comps, _ := doc["components"].(map[string]any)
	responses, _ := comps["responses"].(map[string]any)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for code, resp := range want {
		r, _ := responses[resp].(map[string]any)
		desc, _ := r["description"].(string)
		if !strings.Contains(desc, "`"+code+"`") {
			t.Errorf("openapi.json components.responses.%s does not list `%s`", resp, code)
		}
		if !strings.Contains(string(readme), code) {
			t.Errorf("README.md does not list the problem code %s", code)
		}
	}
}
