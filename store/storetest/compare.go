package storetest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/token"
)

// equal fails the test, naming each differing field, unless got and want
// (pointers to the same struct type) hold the same values. Times compare
// as instants to the nanosecond, JSON documents by meaning (a backend may
// store them as a JSON type), and an empty slice or map equals nil; every
// other field, pointers included, must match exactly.
func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s differs from what was stored:\n%s", what, strings.Join(d, "\n"))
	}
}

func diff(got, want any) []string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	if g.Type() != w.Type() {
		return []string{fmt.Sprintf("type %s, want %s", g.Type(), w.Type())}
	}
	if g.IsNil() || w.IsNil() {
		if g.IsNil() != w.IsNil() {
			return []string{fmt.Sprintf("got %v, want %v", got, want)}
		}
		return nil
	}
	g, w = g.Elem(), w.Elem()
	var out []string
	for i := range g.NumField() {
		f := g.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		a, b := g.Field(i).Interface(), w.Field(i).Interface()
		if !same(a, b) {
			out = append(out, fmt.Sprintf("  %s: got %s, want %s", f.Name, show(a), show(b)))
		}
	}
	return out
}

func same(a, b any) bool {
	switch a := a.(type) {
	case time.Time:
		return a.Equal(b.(time.Time))
	case json.RawMessage:
		return jsonEqual(a, b.(json.RawMessage))
	}
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	if k := av.Kind(); (k == reflect.Slice || k == reflect.Map) && av.Len() == 0 && bv.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// jsonEqual reports whether a and b are both absent or the same JSON value.
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func show(v any) string {
	switch v := v.(type) {
	case time.Time:
		if v.IsZero() {
			return "zero time"
		}
		return v.Format(time.RFC3339Nano)
	case json.RawMessage:
		if v == nil {
			return "nil"
		}
		return string(v)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "nil"
		}
		return fmt.Sprintf("&%+v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%#v", v)
}

// equalKeys fails the test unless got and want are the same keys in the
// same order.
func equalKeys(t *testing.T, what string, got, want []*token.Key) {
	t.Helper()
	if ids(got) != ids(want) {
		t.Fatalf("%s: got keys %s, want %s", what, ids(got), ids(want))
	}
	for i := range got {
		equal(t, what+" "+got[i].ID, got[i], want[i])
	}
}

func ids(keys []*token.Key) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.ID
	}
	return "[" + strings.Join(s, " ") + "]"
}

// allAudit returns every stored audit event, newest first.
func allAudit(t *testing.T, s token.Store) []*token.AuditEvent {
	t.Helper()
	var out []*token.AuditEvent
	f := token.AuditFilter{Limit: token.MaxPageSize}
	for {
		evs, next, err := s.ListAudit(bg, f)
		if err != nil {
			t.Fatalf("ListAudit: %v", err)
		}
		out = append(out, evs...)
		if next == "" {
			return out
		}
		f.Before = next
	}
}

// auditCount returns the number of stored audit events.
func auditCount(t *testing.T, s token.Store) int {
	t.Helper()
	return len(allAudit(t, s))
}

// wantAudit fails the test unless exactly one event was added since there
// were before, and it is ev with ev's contents as they are now.
func wantAudit(t *testing.T, s token.Store, before int, ev *token.AuditEvent) {
	t.Helper()
	all := allAudit(t, s)
	if len(all) != before+1 {
		t.Errorf("audit log has %d events, want %d: a successful change writes exactly one", len(all), before+1)
	}
	var found []*token.AuditEvent
	for _, e := range all {
		if e.ID == ev.ID {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("audit log holds event %s %d times, want once", ev.ID, len(found))
	}
	equal(t, "audit event", found[0], ev)
}

// wantNoAudit fails the test unless the log still has before events and
// none of them is ev.
func wantNoAudit(t *testing.T, s token.Store, before int, ev *token.AuditEvent) {
	t.Helper()
	all := allAudit(t, s)
	if len(all) != before {
		t.Errorf("audit log has %d events, want %d: a failed change writes none", len(all), before)
	}
	for _, e := range all {
		if e.ID == ev.ID {
			t.Errorf("audit log holds event %s of a change that failed", ev.ID)
		}
	}
}
