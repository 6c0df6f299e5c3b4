package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/apitoken"
)

// HandlePAR answers POST /oauth2/par (RFC 9126): an authenticated client
// pushes its authorization request, checked as /oauth2/authorize would,
// and gets a request_uri to send the browser with instead (with its
// client_id), valid for PushedTTL and used once.
func (s *Service) HandlePAR(w http.ResponseWriter, r *http.Request) error {
	form, err := readForm(w, r)
	if err != nil {
		return err
	}
	if s.grants == nil || s.signer == nil {
		return &Error{Code: "temporarily_unavailable", Description: "this server does not offer the authorization code grant"}
	}
	c, _, err := s.authenticate(r, form)
	if err != nil {
		return err
	}
	if form.Has("request_uri") {
		return &Error{Code: "invalid_request", Description: "request_uri cannot be pushed (RFC 9126 §2.1)"}
	}
	params := cloneValues(form)
	for _, k := range []string{"client_secret", "client_assertion", "client_assertion_type"} {
		params.Del(k)
	}
	params.Set("client_id", c.AppID)
	if _, err := s.parseAuthorize(r.Context(), params, true); err != nil {
		var ae *AuthorizeError
		if errors.As(err, &ae) {
			return ae.Err
		}
		return err
	}
	id, err := apitoken.New("lkpar")
	if err != nil {
		return &Error{Code: "server_error", Description: "internal error"}
	}
	d := id.Digest()
	now := s.tokens.Now()
	if err := s.grants.PushRequest(r.Context(), &PushedRequest{Digest: d[:], ClientID: c.AppID,
		Params: []byte(params.Encode()), ExpiresAt: now.Add(PushedTTL)}); err != nil {
		return unavailable(err, "push request")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int64  `json:"expires_in"`
	}{RequestURIPrefix + id.Reveal(), int64(PushedTTL / time.Second)})
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
