package apitoken

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// assertHidden fails if out shows any of the token beyond its Start.
func assertHidden(t *testing.T, what, out string, tok Token) {
	t.Helper()
	s := tok.Reveal()
	if hidden := s[len(tok.Start()):]; strings.Contains(out, hidden) || strings.Contains(out, s) {
		t.Errorf("%s shows the plaintext: %s", what, out)
	}
}

func TestTokenNeverPrintsPlaintext(t *testing.T) {
	tok := mustNew(t, "acme_live")
	type exported struct{ Tok Token }
	type unexported struct{ tok Token }
	values := map[string]any{
		"value":             tok,
		"pointer":           &tok,
		"slice":             []Token{tok},
		"map":               map[string]Token{"k": tok},
		"exported field":    exported{tok},
		"unexported field":  unexported{tok},
		"pointer to struct": &unexported{tok},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q", "%x", "%X", "%d", "%T %[1]v"} {
			t.Run(name+"/"+verb, func(t *testing.T) {
				assertHidden(t, verb, fmt.Sprintf(verb, v), tok)
			})
		}
	}
	t.Run("String", func(t *testing.T) {
		if got := tok.String(); got != redacted {
			t.Errorf("String() = %q, want %q", got, redacted)
		}
	})
	t.Run("Errorf with %w-wrapped error", func(t *testing.T) {
		err := fmt.Errorf("verify %v: %w", tok, errors.New("boom"))
		assertHidden(t, "error", err.Error(), tok)
	})
}

func TestTokenRefusesToMarshal(t *testing.T) {
	tok := mustNew(t, "acme")
	for name, v := range map[string]any{
		"value":   tok,
		"field":   struct{ Token Token }{tok},
		"map key": map[string]Token{"k": tok},
	} {
		t.Run("json/"+name, func(t *testing.T) {
			out, err := json.Marshal(v)
			if !errors.Is(err, ErrSecretMarshal) {
				t.Errorf("json.Marshal error = %v, want ErrSecretMarshal", err)
			}
			assertHidden(t, "json.Marshal", string(out), tok)
		})
	}
	t.Run("MarshalText", func(t *testing.T) {
		if out, err := tok.MarshalText(); !errors.Is(err, ErrSecretMarshal) || out != nil {
			t.Errorf("MarshalText() = %q, %v; want nil, ErrSecretMarshal", out, err)
		}
	})
	t.Run("json omitzero skips the zero token", func(t *testing.T) {
		out, err := json.Marshal(struct {
			Token Token `json:",omitzero"`
		}{})
		if err != nil || string(out) != "{}" {
			t.Errorf("json.Marshal = %s, %v; want {}", out, err)
		}
	})
}

func TestTokenNeverLogsPlaintext(t *testing.T) {
	tok := mustNew(t, "acme")
	for name, newHandler := range map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(newHandler(&buf)).Info("verify", "token", tok, "ptr", &tok,
				slog.Group("g", "token", tok))
			if !strings.Contains(buf.String(), "REDACTED") {
				t.Errorf("log lacks placeholder: %s", buf.String())
			}
			assertHidden(t, "log", buf.String(), tok)
		})
	}
}

func TestTokenAccessors(t *testing.T) {
	valid := refToken(t, "acme_live", bytes.Repeat([]byte{1}, 32))
	for _, tc := range []struct {
		name, s, prefix, start string
		zero                   bool
	}{
		{"valid", valid, "acme_live", valid[:len("acme_live_")+4], false},
		{"bad checksum keeps prefix", valid[:len(valid)-1] + "x", "acme_live", valid[:len("acme_live_")+4], false},
		{"foreign shows 4 characters", "sk_live_abcdefghijklmnop", "", "sk_l", false},
		{"short foreign shows less", "abcdefgh", "", "ab", false},
		{"tiny foreign shows nothing", "abc", "", "", false},
		{"malformed shows nothing", "root key\n", "", "", false},
		{"empty", "", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := FromString(tc.s)
			if got := tok.Reveal(); got != tc.s {
				t.Errorf("Reveal() = %q, want %q", got, tc.s)
			}
			if got := tok.Prefix(); got != tc.prefix {
				t.Errorf("Prefix() = %q, want %q", got, tc.prefix)
			}
			if got := tok.Start(); got != tc.start {
				t.Errorf("Start() = %q, want %q", got, tc.start)
			}
			if got := tok.IsZero(); got != tc.zero {
				t.Errorf("IsZero() = %v, want %v", got, tc.zero)
			}
			if got, want := tok.Digest(), Hash(tc.s); got != want {
				t.Errorf("Digest() = %v, want Hash(plaintext) %v", got, want)
			}
		})
	}
	t.Run("zero Token", func(t *testing.T) {
		var tok Token
		if !tok.IsZero() || tok.Reveal() != "" || tok.Prefix() != "" || tok.Start() != "" {
			t.Errorf("zero Token: IsZero %v, Reveal %q, Prefix %q, Start %q",
				tok.IsZero(), tok.Reveal(), tok.Prefix(), tok.Start())
		}
	})
}

func TestTokenEqual(t *testing.T) {
	a, b := mustNew(t, "acme"), mustNew(t, "acme")
	for _, tc := range []struct {
		name string
		x, y Token
		want bool
	}{
		{"same token", a, a, true},
		{"same plaintext, different values", a, FromString(a.Reveal()), true},
		{"different tokens", a, b, false},
		{"token and zero", a, Token{}, false},
		{"zero and empty string", Token{}, FromString(""), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.x.Equal(tc.y); got != tc.want {
				t.Errorf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
}
