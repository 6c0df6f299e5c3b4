package proxy

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// yamlLine matches the "line N: " that yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// unknownField matches yaml.v3's message for a field a type lacks.
var unknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)

// yamlErr turns a yaml.v3 error into a *FileError worded as the user
// wrote the file: field names as in YAML, no Go type names.
func yamlErr(err error) *FileError {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return yamlMsg(te.Errors[0]) // the first is the one to fix first
	}
	fe := yamlMsg(strings.TrimPrefix(err.Error(), "yaml: "))
	fe.Msg = "invalid YAML: " + fe.Msg
	return fe
}

func yamlMsg(s string) *FileError {
	line := 0
	if m := yamlLine.FindStringSubmatch(s); m != nil {
		line, _ = strconv.Atoi(m[1])
		s = m[2]
	}
	if m := unknownField.FindStringSubmatch(s); m != nil {
		msg := fmt.Sprintf("unknown field %q", m[1])
		if known := fieldsOf(m[2]); len(known) > 0 {
			if d := closest(m[1], known); d != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", d)
			} else {
				msg += " (known: " + strings.Join(known, ", ") + ")"
			}
		}
		return &FileError{Line: line, Msg: msg}
	}
	return &FileError{Line: line, Msg: typeWords.Replace(s)}
}

// typeWords rewords yaml.v3's type names.
var typeWords = strings.NewReplacer(
	"[]proxy.RateLimit", "a list of rate limits", "[]proxy.Route", "a list of routes",
	"proxy.RateLimit", "a rate limit", "proxy.Route", "a route", "proxy.routeFile", "a route file",
	"[]string", "a list of strings", "int64", "a number", "bool", "true or false",
	"!!map", "a mapping", "!!seq", "a list", "!!str", "a string", "!!int", "a number",
	"!!bool", "a boolean", "!!float", "a number", "!!null", "nothing", "!!binary", "binary data",
	"unmarshal ", "read ",
)

// fieldsOf returns the YAML field names of the route file type named as
// yaml.v3 names it.
func fieldsOf(typ string) []string {
	var t reflect.Type
	switch typ {
	case "proxy.Route":
		t = reflect.TypeFor[Route]()
	case "proxy.RateLimit":
		t = reflect.TypeFor[RateLimit]()
	case "proxy.routeFile":
		t = reflect.TypeFor[routeFile]()
	default:
		return nil
	}
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		out = append(out, name)
	}
	return out
}

// closest returns the name of known that s is most likely a typo of, or
// "" if none is close: within an edit distance of 2, or a prefix either
// way ("method" for "methods").
func closest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		d := editDistance(s, k)
		if strings.HasPrefix(k, s) || strings.HasPrefix(s, k) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (both short).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
