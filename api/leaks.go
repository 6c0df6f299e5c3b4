package api

import "time"

// LeakReportRequest is the body of POST /v1/leaks: a token seen where it
// should not be, and where.
type LeakReportRequest struct {
	Token string `json:"token"`
	URL   string `json:"url,omitempty"`
}

// LeakReceived is the one answer of POST /v1/leaks (202), whatever the
// token was.
type LeakReceived struct {
	Status string `json:"status"`
}

// LeakReport is a kept leak report (never the token).
type LeakReport struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Source     string    `json:"source"`
	URL        string    `json:"url,omitempty"`
	Address    string    `json:"address,omitempty"`
	TokenStart string    `json:"token_start"`
	Kind       string    `json:"kind,omitempty"`
	TargetID   string    `json:"target_id,omitempty"`
	Outcome    string    `json:"outcome"`
}

// LeakReportList is a page of leak reports, newest first.
type LeakReportList struct {
	Items      []LeakReport `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// LeakLookupRequest is the body of POST /v1/leaks/lookup: SHA-256 digests
// (hex) of tokens found by latchkey scan.
type LeakLookupRequest struct {
	TokenHashes []string `json:"token_hashes"`
}

// LeakLookupItem names the secret of one digest (empty kind: unknown).
type LeakLookupItem struct {
	TokenHash string `json:"token_hash"`
	Kind      string `json:"kind,omitempty"`
	ID        string `json:"id,omitempty"`
}

// LeakLookupResult is the answer of POST /v1/leaks/lookup, in the order
// asked.
type LeakLookupResult struct {
	Items []LeakLookupItem `json:"items"`
}
