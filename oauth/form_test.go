package oauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadForm covers the /oauth2 form reader on both of its paths (the
// exact media type, read directly; with parameters, through ParseForm):
// the same values, the same refusals.
func TestReadForm(t *testing.T) {
	read := func(ct, target, body string) (map[string][]string, *Error) {
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		form, err := readForm(httptest.NewRecorder(), r)
		if err != nil {
			var oe *Error
			if !errors.As(err, &oe) {
				t.Fatalf("readForm error %v is not an *Error", err)
			}
			return nil, oe
		}
		if r.PostForm == nil || len(r.Form) != len(form) {
			t.Fatal("r.PostForm and r.Form are not the form")
		}
		return form, nil
	}
	for _, ct := range []string{formType, formType + "; charset=UTF-8"} {
		form, err := read(ct, "/oauth2/token", "grant_type=client_credentials&audience=a&audience=b&scope=x+y%21")
		if err != nil || form["grant_type"][0] != "client_credentials" || len(form["audience"]) != 2 || form["scope"][0] != "x y!" {
			t.Errorf("%s: form %v, err %v", ct, form, err)
		}
		if _, err := read(ct, "/oauth2/token", strings.Repeat("a", maxForm)); err != nil {
			t.Errorf("%s: a body of exactly 16 KiB: %v", ct, err)
		}
		if _, err := read(ct, "/oauth2/token", strings.Repeat("a", maxForm+1)); err == nil || err.status() != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: a body over 16 KiB: %v, want 413", ct, err)
		}
		if _, err := read(ct, "/oauth2/token", "grant_type=a&grant_type=b"); err == nil || !strings.Contains(err.Description, "repeated") {
			t.Errorf("%s: repeated grant_type: %v", ct, err)
		}
		if _, err := read(ct, "/oauth2/token", "grant_type=%zz"); err == nil || err.status() != http.StatusBadRequest {
			t.Errorf("%s: bad percent-encoding: %v, want 400", ct, err)
		}
		if _, err := read(ct, "/oauth2/token?grant_type=x", ""); err == nil || err.status() != http.StatusBadRequest {
			t.Errorf("%s: parameters in the URL: %v, want 400", ct, err)
		}
		if form, err := read(ct, "/oauth2/token", ""); err != nil || len(form) != 0 {
			t.Errorf("%s: empty body: %v, %v", ct, form, err)
		}
	}
	for _, ct := range []string{"", "application/json", "text/plain"} {
		if _, err := read(ct, "/oauth2/token", "grant_type=x"); err == nil || err.status() != http.StatusUnsupportedMediaType {
			t.Errorf("content type %q: %v, want 415", ct, err)
		}
	}
}
