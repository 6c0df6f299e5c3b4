package token

import "context"

// Audit lists audit events, newest first.
func (s *Service) Audit(ctx context.Context, a *Actor, f AuditFilter) ([]*AuditEvent, string, error) {
	if !a.May(ScopeAuditRead) {
		return nil, "", Errorf(PermissionDenied, "insufficient_scope", "this credential lacks the %q scope", ScopeAuditRead)
	}
	var err error
	if f.Limit, err = pageSize(f.Limit); err != nil {
		return nil, "", err
	}
	evs, next, err := s.store.ListAudit(ctx, f)
	if err != nil {
		return nil, "", storeErr(err, "list audit events")
	}
	return evs, next, nil
}
