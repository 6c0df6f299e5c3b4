package token

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/scope"
)

// CreatePrincipalParams describes a new user or app.
type CreatePrincipalParams struct {
	Type        PrincipalType
	ID          string
	Name        string
	Permissions []string
	Metadata    json.RawMessage
	RateLimits  []ratelimit.Limit // shared by all keys of the principal
	// Email, EmailVerified and PreferredUsername are a user's OpenID
	// Connect profile claims; an app must leave them zero.
	Email             string
	EmailVerified     bool
	PreferredUsername string
	// Groups are a user's groups (short names; see NormalizeGroups); an
	// app must have none.
	Groups []string
}

// CreatePrincipal registers a user or an app.
func (s *Service) CreatePrincipal(ctx context.Context, a *Actor, p CreatePrincipalParams) (*Principal, error) {
	pr, ev, err := s.PreparePrincipal(ctx, a, p)
	if err != nil {
		return nil, err
	}
	if err := s.wrote(s.store.CreatePrincipal(ctx, pr, ev)); err != nil {
		return nil, s.CreatePrincipalError(err, p.Type, p.ID)
	}
	return pr, nil
}

// PreparePrincipal checks that a may create principal p and that p is
// valid, and returns the record to store and its audit event — for a
// caller that stores it together with more (an app with its OAuth client)
// in one transaction. Nothing is written but the audit record of a refusal.
func (s *Service) PreparePrincipal(ctx context.Context, a *Actor, p CreatePrincipalParams) (*Principal, *AuditEvent, error) {
	action := string(p.Type) + ".create"
	if !ValidPrincipalType(p.Type) {
		return nil, nil, invalidf("principal type must be \"user\" or \"app\"")
	}
	if !a.May(ScopePrincipalsWrite) {
		return nil, nil, s.deny(ctx, a, action, string(p.Type), p.ID, ScopePrincipalsWrite)
	}
	if err := validPrincipalID(p.ID); err != nil {
		return nil, nil, err
	}
	if err := validName("name", p.Name); err != nil {
		return nil, nil, err
	}
	if err := validProfile(p.Type, p.Email, p.EmailVerified, p.PreferredUsername); err != nil {
		return nil, nil, err
	}
	groups, err := validGroups(p.Type, p.Groups)
	if err != nil {
		return nil, nil, err
	}
	if err := validMetadata(p.Metadata); err != nil {
		return nil, nil, err
	}
	perms := scope.Normalize(p.Permissions)
	if err := validScopes("permissions", perms); err != nil {
		return nil, nil, err
	}
	if err := validRateLimits("owner_ratelimits", p.RateLimits); err != nil {
		return nil, nil, err
	}
	if hasManagementScope(perms) && !a.May(ScopeAdmin) {
		return nil, nil, s.deny(ctx, a, action, string(p.Type), p.ID, ScopeAdmin)
	}
	now := s.Now()
	pr := &Principal{
		Type: p.Type, ID: p.ID, Name: p.Name, Permissions: perms, Metadata: p.Metadata, RateLimits: p.RateLimits,
		Email: p.Email, EmailVerified: p.EmailVerified, PreferredUsername: p.PreferredUsername, Groups: groups,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	return pr, s.audit(a, action, string(p.Type), p.ID, nil), nil
}

// CreatePrincipalError turns the store's answer to creating principal
// (typ, id) into the error to give the caller.
func (s *Service) CreatePrincipalError(err error, typ PrincipalType, id string) error {
	if errors.Is(err, ErrConflict) {
		return conflictf(string(typ)+"_exists", "%s %q already exists", typ, id)
	}
	return storeErr(err, "create %s", typ)
}

// hasManagementScope reports whether perms grant any management scope.
func hasManagementScope(perms []string) bool {
	for _, m := range ManagementScopes {
		if scope.Set(perms).Has(m) {
			return true
		}
	}
	return false
}

// mayManagePrincipal guards changes to principals by credentials without
// admin: they may not change their own owner, grant management scopes, or
// touch a principal that owns management keys (or holds management
// permissions, checked in the update itself) — any of these would let a
// lower credential raise itself or lock out a higher one.
func (s *Service) mayManagePrincipal(ctx context.Context, a *Actor, action string, typ PrincipalType, id string, perms []string) error {
	if a.May(ScopeAdmin) {
		return nil
	}
	if a.Owner != nil && a.Owner.Type == typ && a.Owner.ID == id {
		return s.deny(ctx, a, action, string(typ), id, ScopeAdmin)
	}
	if hasManagementScope(perms) {
		return s.deny(ctx, a, action, string(typ), id, ScopeAdmin)
	}
	mgmt, _, err := s.store.ListKeys(ctx, KeyFilter{Keyspace: ManagementKeyspace, OwnerType: typ, OwnerID: id, Limit: 1})
	if err != nil {
		return storeErr(err, "look up management keys of %s", typ)
	}
	if len(mgmt) > 0 {
		return s.deny(ctx, a, action, string(typ), id, ScopeAdmin)
	}
	return nil
}

// mayReadPrincipal reports whether a may see principal (typ, id).
func (a *Actor) mayReadPrincipal(typ PrincipalType, id string) bool {
	if a.May(ScopePrincipalsWrite) {
		return true
	}
	if a.ownerBound() {
		return a.Owner.Type == typ && a.Owner.ID == id
	}
	return a.mayReadKeys()
}

// Principal returns one user or app.
func (s *Service) Principal(ctx context.Context, a *Actor, typ PrincipalType, id string) (*Principal, error) {
	if !a.mayReadPrincipal(typ, id) {
		if a.ownerBound() {
			return nil, notFound(string(typ), id)
		}
		return nil, Errorf(PermissionDenied, "insufficient_scope", "this credential lacks the %q scope", ScopePrincipalsWrite)
	}
	p, err := s.store.Principal(ctx, typ, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(string(typ), id)
	}
	if err != nil {
		return nil, storeErr(err, "get %s", typ)
	}
	return p, nil
}

// Principals lists users or apps.
func (s *Service) Principals(ctx context.Context, a *Actor, f PrincipalFilter) ([]*Principal, string, error) {
	if a.ownerBound() && !a.May(ScopePrincipalsWrite) {
		if a.Owner.Type != f.Type {
			return nil, "", nil
		}
		p, err := s.Principal(ctx, a, f.Type, a.Owner.ID)
		if KindOf(err) == NotFound || (err == nil && f.After >= p.ID) {
			return nil, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		return []*Principal{p}, "", nil
	}
	if !a.May(ScopePrincipalsWrite) && !a.mayReadKeys() {
		return nil, "", Errorf(PermissionDenied, "insufficient_scope", "this credential lacks the %q scope", ScopePrincipalsWrite)
	}
	var err error
	if f.Limit, err = pageSize(f.Limit); err != nil {
		return nil, "", err
	}
	ps, next, err := s.store.ListPrincipals(ctx, f)
	if err != nil {
		return nil, "", storeErr(err, "list principals")
	}
	return ps, next, nil
}

// UpdatePrincipalParams lists the attributes to change; nil stays.
type UpdatePrincipalParams struct {
	Name        *string
	Permissions *[]string
	Disabled    *bool
	Metadata    json.RawMessage // nil: unchanged; JSON null: cleared
	RateLimits  *[]ratelimit.Limit
	// Email, EmailVerified and PreferredUsername change a user's OpenID
	// Connect profile claims; setting any of them on an app is refused.
	Email             *string
	EmailVerified     *bool
	PreferredUsername *string
	// Groups replaces a user's groups (empty: none); setting any on an
	// app is refused.
	Groups *[]string
}

// UpdatePrincipal changes a user or an app. Disabling it makes every one of
// its keys verify as OWNER_DISABLED; narrowing its permissions narrows every
// key's effective scopes, both at once.
func (s *Service) UpdatePrincipal(ctx context.Context, a *Actor, typ PrincipalType, id string, p UpdatePrincipalParams) (*Principal, error) {
	action := string(typ) + ".update"
	if !a.May(ScopePrincipalsWrite) {
		return nil, s.deny(ctx, a, action, string(typ), id, ScopePrincipalsWrite)
	}
	if p.Name != nil {
		if err := validName("name", *p.Name); err != nil {
			return nil, err
		}
	}
	if typ != User && ((p.Email != nil && *p.Email != "") || (p.EmailVerified != nil && *p.EmailVerified) ||
		(p.PreferredUsername != nil && *p.PreferredUsername != "")) {
		return nil, invalidf("only users have email, email_verified and preferred_username")
	}
	if p.Email != nil {
		if err := validEmail(*p.Email); err != nil {
			return nil, err
		}
	}
	if p.PreferredUsername != nil {
		if err := validPreferredUsername(*p.PreferredUsername); err != nil {
			return nil, err
		}
	}
	var groups []string
	if p.Groups != nil {
		var err error
		if groups, err = validGroups(typ, *p.Groups); err != nil {
			return nil, err
		}
	}
	if string(p.Metadata) != "null" {
		if err := validMetadata(p.Metadata); err != nil {
			return nil, err
		}
	}
	var perms []string
	if p.Permissions != nil {
		perms = scope.Normalize(*p.Permissions)
		if err := validScopes("permissions", perms); err != nil {
			return nil, err
		}
	}
	if p.RateLimits != nil {
		if err := validRateLimits("owner_ratelimits", *p.RateLimits); err != nil {
			return nil, err
		}
	}
	if err := s.mayManagePrincipal(ctx, a, action, typ, id, perms); err != nil {
		return nil, err
	}
	now := s.Now()
	detail := map[string]string{}
	errAdmin := errors.New("admin needed")
	pr, err := s.store.UpdatePrincipal(ctx, typ, id, func(pr *Principal) error {
		if !a.May(ScopeAdmin) && hasManagementScope(pr.Permissions) {
			return errAdmin
		}
		if p.Name != nil {
			pr.Name = *p.Name
			detail["name"] = "changed"
		}
		if p.Email != nil {
			pr.Email = *p.Email
			detail["email"] = "changed"
		}
		if p.EmailVerified != nil {
			pr.EmailVerified = *p.EmailVerified
			detail["email_verified"] = boolString(*p.EmailVerified)
		}
		if p.PreferredUsername != nil {
			pr.PreferredUsername = *p.PreferredUsername
			detail["preferred_username"] = "changed"
		}
		if p.Groups != nil {
			pr.Groups = groups
			detail["groups"] = strings.Join(groups, " ")
		}
		if p.Permissions != nil {
			pr.Permissions = perms
			detail["permissions"] = joinScopes(perms)
		}
		if p.RateLimits != nil {
			pr.RateLimits = *p.RateLimits
			detail["owner_ratelimits"] = "changed"
		}
		if p.Disabled != nil {
			pr.Disabled = *p.Disabled
			detail["disabled"] = boolString(*p.Disabled)
		}
		if p.Metadata != nil {
			pr.Metadata = p.Metadata
			if string(p.Metadata) == "null" {
				pr.Metadata = nil
			}
			detail["metadata"] = "changed"
		}
		pr.UpdatedAt = now
		return nil
	}, s.audit(a, action, string(typ), id, detail))
	s.wrote(err)
	s.forgetPrincipal(typ, id) // before returning: every key of it sees the change
	if errors.Is(err, errAdmin) {
		return nil, s.deny(ctx, a, action, string(typ), id, ScopeAdmin)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(string(typ), id)
	}
	if err != nil {
		return nil, storeErr(err, "update %s", typ)
	}
	return pr, nil
}
