package main

import (
	"reflect"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		pos      string // usage of the positional arguments
		wantPos  []string
		wantJSON bool
		wantName string
		wantErr  bool
	}{
		{"flags after positional", []string{"key_1", "--json"}, "KEY_ID", []string{"key_1"}, true, "", false},
		{"flags before positional", []string{"--json", "key_1"}, "KEY_ID", []string{"key_1"}, true, "", false},
		{"flags around positionals", []string{"--name", "n", "a", "--json", "b"}, "A B", []string{"a", "b"}, true, "n", false},
		{"double dash ends flags", []string{"--", "--json"}, "KEY", []string{"--json"}, false, "", false},
		{"dash is positional", []string{"-", "--json"}, "KEY", []string{"-"}, true, "", false},
		{"flag value with equals", []string{"k", "--name=a b"}, "KEY", []string{"k"}, false, "a b", false},
		{"missing positional", []string{"--json"}, "KEY", nil, true, "", true},
		{"extra positional", []string{"a", "b"}, "KEY", nil, false, "", true},
		{"unknown flag", []string{"a", "--nope"}, "KEY", nil, false, "", true},
		{"flag without value", []string{"a", "--name"}, "KEY", nil, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{}
			f := c.flags("test", subcommand{args: tt.pos})
			name := f.String("name", "", "")
			pos, err := c.parse(f, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if !reflect.DeepEqual(pos, tt.wantPos) || f.json != tt.wantJSON || *name != tt.wantName {
				t.Errorf("pos %q json %v name %q, want %q %v %q", pos, f.json, *name, tt.wantPos, tt.wantJSON, tt.wantName)
			}
		})
	}
}

func TestListFlags(t *testing.T) {
	c := &cli{}
	f := c.flags("test", subcommand{})
	var l listFlag
	f.listFlags(&l, "scope", "scopes", "`scope`")
	if _, err := c.parse(f, []string{"--scope", "a", "--scopes", " b, ,c ", "--scope", "d"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c", "d"}; !reflect.DeepEqual(l.vals, want) || !l.set {
		t.Errorf("got %q (set %v), want %q", l.vals, l.set, want)
	}

	var empty listFlag
	f = c.flags("test", subcommand{})
	f.listFlags(&empty, "scope", "scopes", "`scope`")
	if _, err := c.parse(f, []string{"--scopes", ""}); err != nil {
		t.Fatal(err)
	}
	if v := empty.values(); !empty.set || v == nil || len(v) != 0 {
		t.Errorf("--scopes '' = %#v (set %v), want an empty non-nil list", v, empty.set)
	}
}

func TestParseOwner(t *testing.T) {
	for in, ok := range map[string]bool{"user:alice": true, "app:ci": true, "app:": false, "bob": false, "group:x": false, ":x": false} {
		o, err := parseOwner(in)
		if (err == nil) != ok {
			t.Errorf("parseOwner(%q) err = %v", in, err)
		}
		if ok && o.Type+":"+o.ID != in {
			t.Errorf("parseOwner(%q) = %+v", in, o)
		}
	}
}

func TestCleanCell(t *testing.T) {
	if got := cleanCell("a\tb\nc\x1b[31m"); got != "a b c [31m" {
		t.Errorf("cleanCell = %q", got)
	}
}
