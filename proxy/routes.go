package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// MaxRoutesFileSize is the largest route file Load and Parse accept.
const MaxRoutesFileSize = 1 << 20

// Route is one entry of the route file: which requests it matches and
// what they need to be forwarded. The zero value of every optional field
// is the strict choice.
type Route struct {
	// Path is a path prefix matched on segment boundaries: "/orders"
	// matches "/orders" and "/orders/1" but not "/ordersx". It starts
	// with "/", is clean and, unless it is "/", does not end in "/".
	Path string `yaml:"path"`
	// Methods are the upper-case HTTP methods matched; empty matches
	// every method. GET covers HEAD: a HEAD request is matched as GET
	// (HEAD without GET is refused).
	Methods []string `yaml:"methods,omitempty"`
	// Scopes are required, all of them, of the credential.
	Scopes []string `yaml:"scopes,omitempty"`
	// Scope is a scope expression ("orders:read AND (a OR b)", see
	// scope.ParseExpr) that the credential's scopes must satisfy;
	// exclusive with Scopes.
	Scope string `yaml:"scope,omitempty"`
	// Keyspace is the only keyspace whose opaque keys are accepted, and
	// the audience a JWT must have; "*" accepts every keyspace. Without
	// it the gateway's keyspace (Options.Keyspace, latchkey proxy
	// --keyspace) applies; a route that is not anonymous must have one or
	// the other.
	Keyspace string `yaml:"keyspace,omitempty"`
	// Anonymous routes need no credential; one that is sent anyway is
	// stripped, not checked. Their rate limits apply per client IP.
	Anonymous bool `yaml:"anonymous,omitempty"`
	// APIKeyHeader also accepts the credential as "X-API-Key: <token>".
	APIKeyHeader bool `yaml:"api_key_header,omitempty"`
	// RateLimits are budgets enforced by the gateway in addition to the
	// key's own limits: per key id, or per client IP on anonymous routes.
	RateLimits []RateLimit `yaml:"rate_limits,omitempty"`
	// MaxBody is the largest request body accepted ("1MiB", "512KiB",
	// "unlimited"; default 10MiB); a larger one is refused with 413.
	MaxBody string `yaml:"max_body,omitempty"`
	// IPAllow, if set, lists the client addresses (CIDR prefixes or
	// single addresses) allowed on this route; others get 403.
	IPAllow []string `yaml:"ip_allow,omitempty"`
}

// RateLimit is a route rate limit as written in the route file, in the
// shape of the /v1 API's limits: {name: requests, limit: 100, window: 1m}.
type RateLimit struct {
	// Name is 1-32 of [a-z0-9_-], unique within the route; it is shown
	// in the RateLimit-Policy header.
	Name string `yaml:"name"`
	// Limit is the number of requests per Window, 1 to 1e9.
	Limit int64 `yaml:"limit"`
	// Window is a Go duration from 1s to 744h ("1m", "24h").
	Window string `yaml:"window"`
}

// routeFile is the document of a route file.
type routeFile struct {
	Routes []Route `yaml:"routes"`
}

// Load reads and validates the route file at path; see [Parse]. Its
// errors read "routes.yaml:3: unknown field ...": the file, the line and
// what is wrong, as a user wrote it.
func Load(path string) ([]Route, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("route file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxRoutesFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("route file: read %s: %w", path, err)
	}
	rs, err := Parse(b)
	var fe *FileError
	if errors.As(err, &fe) {
		fe.File = path
	}
	return rs, err
}

// FileError is an error in a route file: its line (0 when it concerns the
// whole file) and what is wrong there.
type FileError struct {
	File string // set by Load; empty for Parse
	Line int
	Msg  string
}

// Error reads "file:line: msg", or "line N: msg" without a file.
func (e *FileError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return e.File + ": " + e.Msg
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return "route file: " + e.Msg
}

func fileErr(line int, format string, a ...any) *FileError {
	return &FileError{Line: line, Msg: fmt.Sprintf(format, a...)}
}

// Parse decodes and validates a route file: a YAML document with one key,
// "routes", a non-empty list of [Route]. Unknown fields, several
// documents and invalid values are errors (a *FileError), which name the
// line and the route. The routes are returned in file order, which is the
// order in which requests are matched against them.
func Parse(b []byte) ([]Route, error) {
	if len(b) > MaxRoutesFileSize {
		return nil, fileErr(0, "larger than %d bytes", MaxRoutesFileSize)
	}
	var f routeFile
	doc, err := decodeStrict(b, &f)
	if err != nil {
		return nil, err
	}
	if len(f.Routes) == 0 {
		return nil, fileErr(0, `no routes (the file needs "routes:" with at least one route)`)
	}
	lines := routeLines(doc)
	for i := range f.Routes {
		if _, err := compile(&f.Routes[i]); err != nil {
			line := 0
			if i < len(lines) {
				line = lines[i]
			}
			return nil, fileErr(line, "route %d (%q): %v", i+1, f.Routes[i].Path, err)
		}
	}
	return f.Routes, nil
}

// maxNodes bounds the YAML nodes of a route file, counted with every
// alias expanded, so that a small file cannot make decoding slow.
const maxNodes = 100_000

// decodeStrict decodes exactly one YAML document of at most maxNodes
// expanded nodes into v, rejecting unknown fields, and returns the
// document's node tree.
func decodeStrict(b []byte, v any) (doc *yaml.Node, err error) {
	defer func() {
		// yaml.v3 reports most errors as values; this guards the rest,
		// since the file may come from anywhere.
		if r := recover(); r != nil {
			doc, err = nil, fileErr(0, "invalid YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	doc = new(yaml.Node)
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileErr(0, "empty file")
		}
		return nil, yamlErr(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fileErr(0, "more than one YAML document")
	}
	if n := countNodes(doc, 0); n > maxNodes {
		return nil, fileErr(0, "more than %d YAML nodes with aliases expanded", maxNodes)
	}
	strict := yaml.NewDecoder(bytes.NewReader(b))
	strict.KnownFields(true)
	if err := strict.Decode(v); err != nil {
		return nil, yamlErr(err)
	}
	return doc, nil
}

// countNodes returns n plus the nodes below and including nd, aliases
// expanded, stopping once the sum exceeds maxNodes.
func countNodes(nd *yaml.Node, n int) int {
	if nd == nil || n > maxNodes {
		return n
	}
	n++
	if nd.Kind == yaml.AliasNode {
		return countNodes(nd.Alias, n)
	}
	for _, c := range nd.Content {
		if n = countNodes(c, n); n > maxNodes {
			return n
		}
	}
	return n
}

// routeLines returns the line of each route in the document doc, for
// error messages; nil if they cannot be found.
func routeLines(doc *yaml.Node) []int {
	if doc == nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "routes" {
			continue
		}
		seq := m.Content[i+1]
		if seq.Kind == yaml.AliasNode && seq.Alias != nil {
			seq = seq.Alias
		}
		lines := make([]int, len(seq.Content))
		for j, r := range seq.Content {
			lines[j] = r.Line
		}
		return lines
	}
	return nil
}
