package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestMultiNodeOAuth_SecretRotationAndDisable: a client secret rotated
// without grace on node A stops working on node B within about the bound of
// a key revocation — the token endpoint's client cache is at most 1 s old;
// the test allows half a second more for a read that raced the rotation's
// commit on a loaded machine — and a disabled app is refused at once (the
// app goes through the verification cache and its invalidations).
func TestMultiNodeOAuth_SecretRotationAndDisable(t *testing.T) {
	a, b := startPair(t)
	app := createClient(t, a, `{"id":"svc","oauth":{"grant_types":["client_credentials"]}}`)
	cc := url.Values{"grant_type": {"client_credentials"}}
	if r := postToken(t, b.URL, cc, "svc", app.ClientSecret); r.Status != http.StatusOK {
		t.Fatalf("node B before the rotation: %d %+v", r.Status, r.Problem)
	}
	r := a.doJSON(t, http.MethodPost, "/v1/apps/svc/secret", a.Root, `{}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("rotate on A: %d %s", r.Status, r.Body)
	}
	rotated := time.Now()
	refusedWithinBound(t, rotated, time.Second+500*time.Millisecond, func() bool {
		return postToken(t, b.URL, cc, "svc", app.ClientSecret).Status == http.StatusUnauthorized
	})
	if r := a.doJSON(t, http.MethodPatch, "/v1/apps/svc", a.Root, `{"disabled":true}`); r.Status != http.StatusOK {
		t.Fatal(r.Status)
	}
	disabled := time.Now()
	refusedWithinBound(t, disabled, time.Second+500*time.Millisecond, func() bool {
		// Any secret: a disabled app authenticates with none.
		return postToken(t, b.URL, cc, "svc", app.ClientSecret).Status == http.StatusUnauthorized
	})
}

// refusedWithinBound polls refused until it reports true, and fails the test if
// a request sent more than bound after since was still accepted.
func refusedWithinBound(t *testing.T, since time.Time, bound time.Duration, refused func() bool) {
	t.Helper()
	for {
		sent := time.Now()
		if refused() {
			t.Logf("refused %s after the change", time.Since(since).Round(time.Millisecond))
			return
		}
		if sent.Sub(since) > bound {
			t.Fatalf("still accepted on a request sent %s after the change", sent.Sub(since))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
