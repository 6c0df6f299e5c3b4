package oauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

func TestNormalizeSettingsSubjectType(t *testing.T) {
	for name, c := range map[string]struct {
		set  Settings
		want string // "" for refused
	}{
		"default public":     {Settings{RedirectURIs: []string{"https://a.example/cb"}}, SubjectPublic},
		"public":             {Settings{RedirectURIs: []string{"https://a.example/cb"}, SubjectType: "public"}, SubjectPublic},
		"pairwise one host":  {Settings{RedirectURIs: []string{"https://a.example/cb", "https://A.example:8443/cb2"}, SubjectType: "pairwise"}, SubjectPairwise},
		"pairwise two hosts": {Settings{RedirectURIs: []string{"https://a.example/cb", "https://b.example/cb"}, SubjectType: "pairwise"}, ""},
		"pairwise private-use scheme": {Settings{RedirectURIs: []string{"com.example.app:/cb"}, TokenEndpointAuthMethod: AuthNone,
			SubjectType: "pairwise"}, ""},
		"pairwise without redirect URIs": {Settings{GrantTypes: []string{GrantClientCredentials}, SubjectType: "pairwise"}, ""},
		"unknown":                        {Settings{RedirectURIs: []string{"https://a.example/cb"}, SubjectType: "Pairwise"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := NormalizeSettings(c.set)
			if c.want == "" {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				return
			}
			if err != nil || got.SubjectType != c.want {
				t.Fatalf("subject_type %q, %v; want %q", got.SubjectType, err, c.want)
			}
		})
	}
	// Without a key the service refuses pairwise apps rather than
	// computing subs nobody could reproduce.
	s := &Service{}
	if _, err := s.normalize(Settings{RedirectURIs: []string{"https://a.example/cb"}, SubjectType: "pairwise"}); err == nil {
		t.Error("pairwise accepted without a pairwise key")
	}
}

func TestPairwiseSubject(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	s := &Service{pairwiseKey: key}
	shop := &Client{Settings: Settings{RedirectURIs: []string{"https://Shop.example/cb"}, SubjectType: SubjectPairwise}}
	wiki := &Client{Settings: Settings{RedirectURIs: []string{"https://wiki.example/cb"}, SubjectType: SubjectPairwise}}
	pub := &Client{Settings: Settings{RedirectURIs: []string{"https://pub.example/cb"}, SubjectType: SubjectPublic}}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("shop.example|alice"))
	if got, want := s.subjectOf(shop, "alice"), base64.RawURLEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("shop's sub %q, want %q", got, want)
	}
	if s.subjectOf(shop, "alice") == s.subjectOf(wiki, "alice") || s.subjectOf(shop, "alice") == s.subjectOf(shop, "bob") {
		t.Error("pairwise subs collide across hosts or users")
	}
	if got := s.subjectOf(pub, "alice"); got != "alice" {
		t.Errorf("public sub %q", got)
	}
	other := &Service{pairwiseKey: []byte("another key, another deployment.")}
	if other.subjectOf(shop, "alice") == s.subjectOf(shop, "alice") {
		t.Error("the sub does not depend on the key")
	}
}
