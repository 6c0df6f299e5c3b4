package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/latchkey/latchkey/oauth"
)

// TestRequirePAR: with RequirePAR, an authorization request that was not
// pushed is refused, and a pushed one — checked at /oauth2/par as the
// authorization endpoint would — is accepted there and then through its
// request_uri.
func TestRequirePAR(t *testing.T) {
	f := newCodeFixture(t, oauth.Config{RequirePAR: true})
	sum := sha256.Sum256([]byte("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
	params := url.Values{"response_type": {"code"}, "client_id": {"web"}, "state": {"s1"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	var ae *oauth.AuthorizeError
	if _, err := f.svc.ParseAuthorize(context.Background(), params); !errors.As(err, &ae) || ae.Err.Code != "invalid_request" {
		t.Fatalf("an authorization request not pushed: %v", err)
	}
	form := url.Values{"client_secret": {f.secret}}
	for k, v := range params {
		form[k] = v
	}
	a := f.post("/oauth2/par", form, f.svc.HandlePAR)
	if a.status != http.StatusCreated || a.body["request_uri"] == nil {
		t.Fatalf("PAR with RequirePAR: %v", a)
	}
	req, err := f.svc.ParseAuthorize(context.Background(), url.Values{"client_id": {"web"}, "request_uri": {a.body["request_uri"].(string)}})
	if err != nil || req.State != "s1" {
		t.Fatalf("the pushed request: %v", err)
	}
}
