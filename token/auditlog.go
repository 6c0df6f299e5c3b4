package token

import "context"

// Audit lists audit events, newest first.
func (s *Service) Audit(ctx context.Context, a *Actor, f AuditFilter) ([]*AuditEvent, string, error) {
	if err := s.AuthorizeAuditRead(ctx, a); err != nil {
		return nil, "", err
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

// RecordThrottle audits that a client address was throttled for failing
// too often (kind: "auth" or "verify"). The caller records one event per
// burst, not per refused request.
func (s *Service) RecordThrottle(ctx context.Context, addr, kind string) error {
	ev := s.audit(&Actor{KeyID: "anonymous"}, "auth.throttled", "address", addr, map[string]string{"kind": kind})
	ev.Outcome = OutcomeDenied
	return s.wrote(s.store.AppendAudit(ctx, ev))
}

// AuthorizeAuditRead returns nil if a may read the audit log (its
// records, checkpoints and proofs), and otherwise records the refusal and
// returns the error to give.
func (s *Service) AuthorizeAuditRead(ctx context.Context, a *Actor) error {
	if !a.May(ScopeAuditRead) {
		return s.deny(ctx, a, "audit.read", "audit", "", ScopeAuditRead)
	}
	if a.ownerBound() {
		// The log covers every owner's actions; a personal credential sees
		// only its owner's keys, so it may not read the log (KEY-03).
		return s.deny(ctx, a, "audit.read", "audit", "", ScopeAdmin)
	}
	return nil
}
