package oauth_test

import (
	"testing"

	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/token"
)

// TestReservedKeyspacesMatch: the keyspaces the token service reserves for
// the OAuth issuer are the ones the OAuth server keeps its keys in.
func TestReservedKeyspacesMatch(t *testing.T) {
	for _, ks := range []string{oauth.AccessKeyspace, oauth.GrantKeyspace} {
		if !token.ReservedKeyspace(ks) {
			t.Errorf("keyspace %q of the OAuth server is not reserved in package token", ks)
		}
	}
}
