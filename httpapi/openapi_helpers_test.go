package httpapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Helpers for the OpenAPI tests: loading the document, resolving $refs,
// flattening schemas and reading the JSON shape of Go types.

// openapiDoc is the parsed OpenAPI document.
type openapiDoc map[string]any

// loadOpenAPI parses the embedded document, failing the test if it is not
// a JSON object.
func loadOpenAPI(t *testing.T) openapiDoc {
	t.Helper()
	var doc openapiDoc
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not a JSON object: %v", err)
	}
	return doc
}

// oaMethods are the operation keys of an OpenAPI path item.
var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaOperation is one operation of the document.
type oaOperation struct {
	method string // upper case
	path   string
	item   map[string]any // the path item, for path-level parameters
	op     map[string]any
}

func (o oaOperation) String() string { return o.method + " " + o.path }

// operations lists the document's operations sorted by path and method.
func (doc openapiDoc) operations(t *testing.T) []oaOperation {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal(`openapi.json has no "paths" object`)
	}
	var ops []oaOperation
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("path item %q is not an object", path)
		}
		for _, m := range oaMethods {
			if o, ok := item[m].(map[string]any); ok {
				ops = append(ops, oaOperation{method: strings.ToUpper(m), path: path, item: item, op: o})
			}
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		return ops[i].method < ops[j].method
	})
	return ops
}

// resolve follows a local JSON pointer such as "#/components/schemas/Key".
func (doc openapiDoc) resolve(ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	var cur any = map[string]any(doc)
	if ptr == "" {
		return cur, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("$ref %q is not a JSON pointer", ref)
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("$ref %q: no %q", ref, tok)
			}
			cur = v
		case []any:
			var i int
			if _, err := fmt.Sscanf(tok, "%d", &i); err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("$ref %q: bad index %q", ref, tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("$ref %q: cannot descend into %T at %q", ref, cur, tok)
		}
	}
	return cur, nil
}

// deref returns the object v refers to if it is a {"$ref": ...}, else v.
func (doc openapiDoc) deref(t *testing.T, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("expected a JSON object, got %T", v)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		if v, _ = doc.resolve(ref); v == nil {
			t.Fatalf("$ref %q does not resolve", ref)
		}
	}
	t.Fatal("$ref chain too long")
	return nil
}

// collectRefs lists every $ref in v with the JSON path where it occurs.
func collectRefs(v any, at string, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["$ref"].(string); ok {
			out[at+"/$ref"] = r
		}
		for k, c := range v {
			collectRefs(c, at+"/"+k, out)
		}
	case []any:
		for i, c := range v {
			collectRefs(c, fmt.Sprintf("%s/%d", at, i), out)
		}
	}
}

// oaFlatSchema is an object schema with its allOf members and $refs merged.
type oaFlatSchema struct {
	props    map[string]any // property name -> its (unresolved) schema
	required []string
	closed   bool // additionalProperties is false somewhere in the chain
}

// flatten merges schema s: its $ref target, its allOf members (recursively)
// and its own properties, required and additionalProperties.
func (doc openapiDoc) flatten(t *testing.T, s any) oaFlatSchema {
	t.Helper()
	m := doc.deref(t, s)
	f := oaFlatSchema{props: map[string]any{}}
	if all, ok := m["allOf"].([]any); ok {
		for _, sub := range all {
			g := doc.flatten(t, sub)
			for k, v := range g.props {
				f.props[k] = v
			}
			f.required = append(f.required, g.required...)
			f.closed = f.closed || g.closed
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, v := range props {
			f.props[k] = v
		}
	}
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			s, ok := r.(string)
			if !ok {
				t.Fatalf("required holds a %T, not a string", r)
			}
			f.required = append(f.required, s)
		}
	}
	if ap, ok := m["additionalProperties"].(bool); ok && !ap {
		f.closed = true
	}
	return f
}

// schemaTypes returns the JSON types schema s allows ("type" as a string
// or a list), following $ref and allOf; nil if it does not say.
func (doc openapiDoc) schemaTypes(t *testing.T, s any) []string {
	t.Helper()
	m := doc.deref(t, s)
	var types []string
	switch ty := m["type"].(type) {
	case string:
		types = []string{ty}
	case []any:
		for _, x := range ty {
			types = append(types, fmt.Sprint(x))
		}
	}
	if types == nil {
		// oneOf: the union of the alternatives' types ("30d" or 3600).
		if one, ok := m["oneOf"].([]any); ok {
			for _, sub := range one {
				types = append(types, doc.schemaTypes(t, sub)...)
			}
		}
	}
	if types == nil {
		if all, ok := m["allOf"].([]any); ok {
			for _, sub := range all {
				if types = doc.schemaTypes(t, sub); types != nil {
					break
				}
			}
		}
	}
	sort.Strings(types)
	return types
}

// oaField is a JSON-visible field of a Go struct.
type oaField struct {
	name      string
	typ       reflect.Type
	omitempty bool
}

// oaJSONFields lists the JSON fields of struct type typ as encoding/json
// marshals them: tag names, untagged embedded structs flattened, "-" and
// unexported fields skipped.
func oaJSONFields(typ reflect.Type) []oaField {
	var out []oaField
	for i := range typ.NumField() {
		sf := typ.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			et := sf.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				out = append(out, oaJSONFields(et)...)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, oaField{name: name, typ: sf.Type, omitempty: slices.Contains(strings.Split(opts, ","), "omitempty")})
	}
	return out
}

var (
	oaTimeType       = reflect.TypeFor[time.Time]()
	oaRawMessageType = reflect.TypeFor[json.RawMessage]()
)

// oaJSONType returns the JSON Schema type Go type typ marshals to, with
// nullable true for pointers; "" for json.RawMessage, which may be anything.
func oaJSONType(typ reflect.Type) (kind string, nullable bool) {
	if typ.Kind() == reflect.Pointer {
		k, _ := oaJSONType(typ.Elem())
		return k, true
	}
	switch {
	case typ == oaRawMessageType:
		return "", false
	case typ == oaTimeType:
		return "string", false
	}
	switch typ.Kind() {
	case reflect.String:
		return "string", false
	case reflect.Bool:
		return "boolean", false
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer", false
	case reflect.Float32, reflect.Float64:
		return "number", false
	case reflect.Slice, reflect.Array:
		return "array", false
	case reflect.Map, reflect.Struct:
		return "object", false
	}
	return typ.Kind().String(), false
}

// oaMissing returns the elements of a missing from b, sorted.
func oaMissing(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}
