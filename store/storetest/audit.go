package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// auditFixture appends events at t0, t0+1ms, … (so their IDs are ordered)
// with actors, actions and targets cycling, and returns them newest first.
func auditFixture(t *testing.T, s token.Store, n int) []*token.AuditEvent {
	t.Helper()
	var out []*token.AuditEvent
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		ev := &token.AuditEvent{
			ID:         token.NewID("aud", at),
			Time:       at,
			ActorKeyID: []string{"key_a", "key_b", "system"}[i%3],
			Action:     []string{"key.create", "key.revoke"}[i%2],
			TargetType: "key",
			TargetID:   fmt.Sprintf("key_%d", i%4),
			Outcome:    []string{token.OutcomeSuccess, token.OutcomeDenied}[i%5/4],
			RequestID:  fmt.Sprintf("req-%d", i),
			Detail:     map[string]string{"i": fmt.Sprint(i)},
		}
		if i%6 == 0 {
			ev.Detail, ev.RequestID = nil, ""
		}
		if err := s.AppendAudit(bg, ev); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		out = append(out, ev)
	}
	slices.Reverse(out)
	return out
}

// listAudit pages through ListAudit with f and checks the cursors.
func listAudit(t *testing.T, s token.Store, f token.AuditFilter, pageSize int) []*token.AuditEvent {
	t.Helper()
	f.Limit = pageSize
	var out []*token.AuditEvent
	for range 1000 {
		evs, next, err := s.ListAudit(bg, f)
		if err != nil {
			t.Fatalf("ListAudit(%+v): %v", f, err)
		}
		out = append(out, evs...)
		if next == "" {
			return out
		}
		if len(evs) != pageSize || next != evs[len(evs)-1].ID {
			t.Fatalf("ListAudit(%+v): %d events, next %q; want a full page and its last ID", f, len(evs), next)
		}
		f.Before = next
	}
	t.Fatal("ListAudit never returned an empty cursor")
	return nil
}

func equalEvents(t *testing.T, what string, got, want []*token.AuditEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range got {
		equal(t, fmt.Sprintf("%s: event %d", what, i), got[i], want[i])
	}
}

var auditTests = []test{
	{"an empty log lists nothing", func(t *testing.T, s token.Store) {
		evs, next, err := s.ListAudit(bg, token.AuditFilter{Limit: 10})
		if err != nil || len(evs) != 0 || next != "" {
			t.Fatalf("ListAudit = %d events, %q, %v; want none", len(evs), next, err)
		}
	}},
	{"appended events round-trip, newest first", func(t *testing.T, s token.Store) {
		want := auditFixture(t, s, 13)
		equalEvents(t, "ListAudit", listAudit(t, s, token.AuditFilter{}, 100), want)
	}},
	{"pages with a cursor only when older events exist", func(t *testing.T, s token.Store) {
		want := auditFixture(t, s, 9)
		for _, size := range []int{1, 2, 3, 8, 9, 10} {
			equalEvents(t, fmt.Sprintf("pages of %d", size), listAudit(t, s, token.AuditFilter{}, size), want)
		}
	}},
	{"filters by action, target and actor", func(t *testing.T, s token.Store) {
		all := auditFixture(t, s, 24)
		for _, f := range []token.AuditFilter{
			{Action: "key.revoke"}, {TargetID: "key_1"}, {ActorID: "system"},
			{Action: "key.create", ActorID: "key_b"}, {Action: "key.create", TargetID: "key_2", ActorID: "key_a"},
			{Action: "key.create", TargetID: "key_1"}, {ActorID: "nobody"},
		} {
			var want []*token.AuditEvent
			for _, ev := range all {
				if (f.Action == "" || ev.Action == f.Action) && (f.TargetID == "" || ev.TargetID == f.TargetID) &&
					(f.ActorID == "" || ev.ActorKeyID == f.ActorID) {
					want = append(want, ev)
				}
			}
			equalEvents(t, fmt.Sprintf("filter %+v", f), listAudit(t, s, f, 2), want)
		}
	}},
	{"AppendAudit stores a denied event as given", func(t *testing.T, s token.Store) {
		n := auditCount(t, s)
		ev := event("key.create", "key", "")
		ev.Outcome, ev.Detail = token.OutcomeDenied, map[string]string{"missing_scope": "keys:write"}
		if err := s.AppendAudit(bg, ev); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		wantAudit(t, s, n, ev)
	}},
}
