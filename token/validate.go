package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/scope"
)

// Limits on stored attributes.
const (
	MaxNameLen     = 200
	MaxMetadataLen = 16 << 10
	MaxGracePeriod = 30 * 24 * time.Hour
	// MaxEmailLen is the longest email address (RFC 5321 §4.5.3.1.3 with
	// the angle brackets of a path taken off).
	MaxEmailLen = 254
	// MaxPreferredUsernameLen is the most characters of a preferred_username.
	MaxPreferredUsernameLen = 64
	// MaxGroupLen is the most characters of a group name, MaxGroups the
	// most groups of a user.
	MaxGroupLen = 128
	MaxGroups   = 100
)

var (
	keyspaceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	principalIDRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:+|-]{0,127}$`)
)

func validName(field, s string) error {
	if len(s) > MaxNameLen {
		return invalidf("%s is longer than %d bytes", field, MaxNameLen)
	}
	if !utf8.ValidString(s) {
		return invalidf("%s is not valid UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalidf("%s contains a control character", field)
		}
	}
	return nil
}

// ValidEmail reports why s is not an email address a user may have, or
// nil; see validEmail.
func ValidEmail(s string) error { return validEmail(s) }

// ValidPreferredUsername reports why s is not a preferred_username a user
// may have, or nil; see validPreferredUsername.
func ValidPreferredUsername(s string) error { return validPreferredUsername(s) }

// validEmail accepts "" or a plausible email address: at most MaxEmailLen
// bytes of valid UTF-8, exactly one @ with something on either side, and no
// spaces or control characters. Deliverability is not checked.
func validEmail(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxEmailLen {
		return invalidf("email is longer than %d bytes", MaxEmailLen)
	}
	if !utf8.ValidString(s) {
		return invalidf("email is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return invalidf("email contains a space or control character")
		}
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.Count(s, "@") != 1 {
		return invalidf("email must be an address of the form local@domain")
	}
	return nil
}

// validPreferredUsername accepts "" or at most MaxPreferredUsernameLen
// printable characters (no control characters; spaces are allowed as
// unicode.IsPrint allows U+0020 only).
func validPreferredUsername(s string) error {
	if !utf8.ValidString(s) {
		return invalidf("preferred_username is not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxPreferredUsernameLen {
		return invalidf("preferred_username is longer than %d characters", MaxPreferredUsernameLen)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return invalidf("preferred_username contains a character that is not printable")
		}
	}
	return nil
}

// validProfile checks the OpenID Connect profile fields of a principal of
// type typ: only users may have them.
func validProfile(typ PrincipalType, email string, emailVerified bool, preferredUsername string) error {
	if typ != User && (email != "" || emailVerified || preferredUsername != "") {
		return invalidf("only users have email, email_verified and preferred_username")
	}
	if err := validEmail(email); err != nil {
		return err
	}
	return validPreferredUsername(preferredUsername)
}

// NormalizeGroups checks a user's group names and returns them without
// duplicates, in their first order (nil for none): each 1 to MaxGroupLen
// printable characters of valid UTF-8, no space at either end, at most
// MaxGroups of them. The error names the first bad one.
func NormalizeGroups(gs []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, g := range gs {
		if !utf8.ValidString(g) {
			return nil, invalidf("groups: a group name is not valid UTF-8")
		}
		if g == "" || utf8.RuneCountInString(g) > MaxGroupLen {
			return nil, invalidf("groups: %q must be 1 to %d characters", g, MaxGroupLen)
		}
		if strings.TrimSpace(g) != g {
			return nil, invalidf("groups: %q starts or ends with a space", g)
		}
		for _, r := range g {
			if !unicode.IsPrint(r) {
				return nil, invalidf("groups: %q contains a character that is not printable", g)
			}
		}
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	if len(out) > MaxGroups {
		return nil, invalidf("groups: a user has at most %d groups", MaxGroups)
	}
	return out, nil
}

// validGroups is NormalizeGroups for a principal of type typ: only users
// have groups.
func validGroups(typ PrincipalType, gs []string) ([]string, error) {
	if typ != User && len(gs) > 0 {
		return nil, invalidf("only users have groups")
	}
	return NormalizeGroups(gs)
}

// validMetadata accepts nil or a JSON object of at most MaxMetadataLen bytes.
func validMetadata(m json.RawMessage) error {
	if len(m) == 0 {
		return nil
	}
	if len(m) > MaxMetadataLen {
		return invalidf("metadata is larger than %d bytes", MaxMetadataLen)
	}
	t := bytes.TrimSpace(m)
	if len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return invalidf("metadata must be a JSON object")
	}
	return nil
}

func validScopes(field string, ss []string) error {
	if err := scope.ValidateAll(ss); err != nil {
		return invalidf("%s: %v", field, err)
	}
	return nil
}

func validOwner(o *Owner) error {
	if o == nil {
		return nil
	}
	if !ValidPrincipalType(o.Type) {
		return invalidf("owner.type must be \"user\" or \"app\"")
	}
	return validPrincipalID(o.ID)
}

func validPrincipalID(id string) error {
	if !principalIDRE.MatchString(id) {
		return invalidf("principal id %q must be 1-128 characters of letters, digits and ._@:+|- starting with a letter or digit", truncate(id, 140))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ValidDPoPJKT checks a DPoP key thumbprint: "" (no binding) or the
// unpadded base64url form of a SHA-256 digest.
func ValidDPoPJKT(jkt string) error {
	if jkt == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(jkt)
	if err != nil || len(b) != sha256.Size || len(jkt) != 43 {
		return invalidf("dpop_jkt must be the base64url SHA-256 thumbprint of a public key (43 characters)")
	}
	return nil
}
