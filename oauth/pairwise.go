package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
)

// Subject types of an app (OIDC Core §8): public gives every app the user
// ID as sub; pairwise gives each sector (the host of the app's redirect
// URIs) its own sub for a user, so apps on different hosts cannot join
// their users by sub. Only what an app sees about its user is pairwise —
// the ID token's and userinfo's sub and a back-channel logout token's;
// access tokens and introspection name the real user ID, as resource
// servers are trusted parts of the deployment that need the principal
// latchkey's permissions and revocations are about.
const (
	SubjectPublic   = "public"
	SubjectPairwise = "pairwise"
)

// OffersPairwise reports whether apps may have pairwise subjects: the
// service has the key to compute them.
func (s *Service) OffersPairwise() bool { return len(s.pairwiseKey) > 0 }

// sector returns the sector identifier of a pairwise app: the host, lower
// case and without port, its redirect URIs share; ok is false if they do
// not share one (or have none). sector_identifier_uri is not supported.
func sector(set Settings) (host string, ok bool) {
	for i, r := range set.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || u.Hostname() == "" {
			return "", false
		}
		h := strings.ToLower(u.Hostname())
		if i > 0 && h != host {
			return "", false
		}
		host = h
	}
	return host, host != ""
}

// pairwiseSubject is user userID's sub at sector: unpadded base64url of
// HMAC-SHA256(key, sector "|" userID). key is derived from the master key,
// so every node and every restart computes the same sub.
func pairwiseSubject(key []byte, sector, userID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sector + "|" + userID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// subjectOf returns the sub client c's ID tokens, userinfo answers and
// logout tokens give user userID: the user ID, or the pairwise sub of a
// pairwise client.
func (s *Service) subjectOf(c *Client, userID string) string {
	if c == nil || c.Settings.SubjectType != SubjectPairwise {
		return userID
	}
	host, _ := sector(c.Settings)
	return pairwiseSubject(s.pairwiseKey, host, userID)
}

// subjectFor is subjectOf for client clientID, read (cached) from the store.
func (s *Service) subjectFor(ctx context.Context, clientID, userID string) (string, error) {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return "", err
	}
	return s.subjectOf(c, userID), nil
}
