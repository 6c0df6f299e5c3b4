package token_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/token"
)

func TestPrincipalProfile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.svc.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.User, ID: "alice", Name: "Alice",
		Email: "alice@example.com", EmailVerified: true, PreferredUsername: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "alice@example.com" || !p.EmailVerified || p.PreferredUsername != "alice" {
		t.Fatalf("created %+v", p)
	}
	email, no, nick := "a.liddell@example.org", false, "Alice L."
	p, err = f.svc.UpdatePrincipal(ctx, f.root, token.User, "alice", token.UpdatePrincipalParams{Email: &email, EmailVerified: &no})
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != email || p.EmailVerified || p.PreferredUsername != "alice" || p.Name != "Alice" {
		t.Fatalf("after changing the email: %+v", p)
	}
	if _, err = f.svc.UpdatePrincipal(ctx, f.root, token.User, "alice", token.UpdatePrincipalParams{PreferredUsername: &nick}); err != nil {
		t.Fatal(err)
	}
	p, err = f.svc.Principal(ctx, f.root, token.User, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != email || p.EmailVerified || p.PreferredUsername != nick {
		t.Fatalf("stored %+v", p)
	}
}

func TestPrincipalProfileValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		p    token.CreatePrincipalParams
	}{
		{"email without @", token.CreatePrincipalParams{Email: "alice.example.com"}},
		{"email with two @", token.CreatePrincipalParams{Email: "a@b@example.com"}},
		{"email with nothing before @", token.CreatePrincipalParams{Email: "@example.com"}},
		{"email with nothing after @", token.CreatePrincipalParams{Email: "alice@"}},
		{"email with a space", token.CreatePrincipalParams{Email: "alice smith@example.com"}},
		{"email with a control character", token.CreatePrincipalParams{Email: "alice\x00@example.com"}},
		{"email too long", token.CreatePrincipalParams{Email: strings.Repeat("a", 243) + "@example.com"}},
		{"email not UTF-8", token.CreatePrincipalParams{Email: "al\xffce@example.com"}},
		{"preferred_username too long", token.CreatePrincipalParams{PreferredUsername: strings.Repeat("é", 65)}},
		{"preferred_username with a control character", token.CreatePrincipalParams{PreferredUsername: "al\nice"}},
		{"app with an email", token.CreatePrincipalParams{Type: token.App, Email: "svc@example.com"}},
		{"app with email_verified", token.CreatePrincipalParams{Type: token.App, EmailVerified: true}},
		{"app with a preferred_username", token.CreatePrincipalParams{Type: token.App, PreferredUsername: "svc"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := c.p
			if p.Type == "" {
				p.Type = token.User
			}
			p.ID = "x"
			_, err := f.svc.CreatePrincipal(ctx, f.root, p)
			wantKind(t, err, token.Invalid)
		})
	}
	// The longest valid values pass.
	if _, err := f.svc.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.User, ID: "long",
		Email: strings.Repeat("a", 242) + "@example.com", PreferredUsername: strings.Repeat("é", 64)}); err != nil {
		t.Fatalf("longest valid profile: %v", err)
	}
	if _, err := f.svc.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.App, ID: "svc"}); err != nil {
		t.Fatal(err)
	}
	bad, empty, yes := "not-an-address", "", true
	for name, u := range map[string]token.UpdatePrincipalParams{
		"bad email":                    {Email: &bad},
		"bad preferred_username":       {PreferredUsername: new(strings.Repeat("x", 65))},
		"email_verified on an app":     {EmailVerified: &yes},
		"email on an app":              {Email: new("svc@example.com")},
		"preferred_username on an app": {PreferredUsername: new("svc")},
	} {
		typ, id := token.User, "long"
		if strings.HasSuffix(name, "an app") {
			typ, id = token.App, "svc"
		}
		_, err := f.svc.UpdatePrincipal(ctx, f.root, typ, id, u)
		if token.KindOf(err) != token.Invalid {
			t.Errorf("%s: error %v, want invalid", name, err)
		}
	}
	// Clearing is allowed on an app: it has nothing to clear.
	if _, err := f.svc.UpdatePrincipal(ctx, f.root, token.App, "svc", token.UpdatePrincipalParams{Email: &empty}); err != nil {
		t.Errorf("clearing an app's email: %v", err)
	}
}

func TestPrincipalGroups(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p, err := f.svc.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.User, ID: "alice",
		Groups: []string{"staff", "Domain Users", "staff"}})
	if err != nil || strings.Join(p.Groups, ",") != "staff,Domain Users" {
		t.Fatalf("created %+v %v", p, err)
	}
	none := []string{}
	if p, err = f.svc.UpdatePrincipal(ctx, f.root, token.User, "alice", token.UpdatePrincipalParams{Groups: &none}); err != nil || p.Groups != nil {
		t.Fatalf("cleared %+v %v", p, err)
	}
	if _, err := f.svc.CreatePrincipal(ctx, f.root, token.CreatePrincipalParams{Type: token.App, ID: "svc", Groups: []string{"x"}}); token.KindOf(err) != token.Invalid {
		t.Errorf("app with groups: %v", err)
	}
	for _, gs := range [][]string{{""}, {" x"}, {"x\n"}, {strings.Repeat("g", token.MaxGroupLen+1)}, {"\xff"}} {
		if _, err := token.NormalizeGroups(gs); token.KindOf(err) != token.Invalid {
			t.Errorf("NormalizeGroups(%q): %v", gs, err)
		}
	}
	many := make([]string, token.MaxGroups+1)
	for i := range many {
		many[i] = strings.Repeat("g", i+1)
	}
	if _, err := token.NormalizeGroups(many); err == nil {
		t.Error("more than MaxGroups accepted")
	}
	if _, err := token.NormalizeGroups(many[:token.MaxGroups]); err != nil {
		t.Errorf("MaxGroups refused: %v", err)
	}
}
