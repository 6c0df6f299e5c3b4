package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/leak"
	"github.com/latchkey/latchkey/ratelimit"
	"github.com/latchkey/latchkey/token"
)

// DefaultLeakReportLimit is how many leak reports one client address may
// send per minute (SPEC §3.8: public, throttled).
var DefaultLeakReportLimit = ratelimit.Limit{Name: "leak_reports", Limit: 30, Window: time.Minute}

// Limits of leak report bodies.
const (
	maxLeakBody   = 8 << 10
	maxGitHubBody = 1 << 20
)

// leakReceived is the one answer of POST /v1/leaks.
var leakReceived = api.LeakReceived{Status: "received"}

func (h *Handler) leakRoutes() []route {
	return []route{
		{"POST /v1/leaks", h.reportLeak},
		{"POST /v1/leaks/github", h.reportGitHubLeak},
		{"GET /v1/leaks", h.authed(h.listLeaks)},
		{"POST /v1/leaks/lookup", h.authed(h.lookupLeaks)},
	}
}

var errNoLeaks = &httpError{status: http.StatusNotFound, code: "leak_reports_off", msg: "this server takes no leak reports"}

// reportLeak is POST /v1/leaks: public, one budget per client address. The
// answer is 202 and the same bytes for every token — real, unknown,
// malformed or revoked — and comes before the token is even looked up:
// the report is kept (by digest) first, and the lookup and revocation
// happen on the leak service's worker, after a crash too. A report that
// cannot be kept (storage down, too many pending) is 503, never a 202.
func (h *Handler) reportLeak(w http.ResponseWriter, r *http.Request) error {
	if h.leaks == nil {
		return errNoLeaks
	}
	ip := h.clientIP(r)
	if throttled, retry := h.guard.fail(r.Context(), "leak", h.guard.leak, ip); throttled {
		return tooManyFailures(w, retry)
	}
	var req api.LeakReportRequest
	if err := decodeLimit(r, &req, false, maxLeakBody); err != nil {
		return err
	}
	if req.Token == "" {
		return badRequest("missing_token", "token is required")
	}
	if err := h.leaks.Submit(r.Context(), apitoken.FromString(req.Token), leak.Origin{URL: req.URL, Address: ip, RequestID: state(r.Context()).id}); err != nil {
		return token.Unavailablef(err, "keep leak report")
	}
	writeJSON(w, http.StatusAccepted, leakReceived)
	return nil
}

// reportGitHubLeak is POST /v1/leaks/github, GitHub's secret scanning
// partner alerts: signed by a key of GitHub's list; a bad or missing
// signature is 401 and draws on the address's failure budget.
func (h *Handler) reportGitHubLeak(w http.ResponseWriter, r *http.Request) error {
	if h.leaks == nil || h.github == nil {
		return errNoLeaks
	}
	body, err := readBody(r, maxGitHubBody)
	if err != nil {
		return err
	}
	err = h.github.Verify(r.Context(), r.Header.Get(leak.GitHubKeyIDHeader), r.Header.Get(leak.GitHubSignatureHeader), body)
	if errors.Is(err, leak.ErrBadSignature) {
		if throttled, retry := h.guard.fail(r.Context(), "auth", h.guard.auth, h.clientIP(r)); throttled {
			return tooManyFailures(w, retry)
		}
		return &httpError{status: http.StatusUnauthorized, code: "bad_signature", msg: "the GitHub signature is missing or does not verify"}
	}
	if err != nil {
		return token.Unavailablef(err, "GitHub signing keys")
	}
	var alerts []leak.GitHubAlert
	if err := json.Unmarshal(body, &alerts); err != nil {
		return badRequest("malformed_json", "expected a JSON array of {token, type, url, source}")
	}
	if len(alerts) > leak.MaxGitHubAlerts {
		return badRequest("too_many_tokens", "too many tokens in one alert")
	}
	out, err := h.leaks.HandleGitHub(r.Context(), alerts, state(r.Context()).id)
	if err != nil {
		return token.Unavailablef(err, "handle GitHub alert")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// listLeaks is GET /v1/leaks: kept reports, newest first, for admins and
// credentials with audit:read.
func (h *Handler) listLeaks(w http.ResponseWriter, r *http.Request) error {
	if h.leaks == nil {
		return errNoLeaks
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	rs, next, err := h.leaks.Reports(r.Context(), actorFrom(r.Context()), leak.Filter{Before: r.URL.Query().Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	out := api.LeakReportList{Items: make([]api.LeakReport, 0, len(rs)), NextCursor: next}
	for _, x := range rs {
		out.Items = append(out.Items, api.LeakReport{ID: x.ID, Time: x.Time, Source: x.Source, URL: x.URL, Address: x.Address,
			TokenStart: x.Start, Kind: x.Kind, TargetID: x.TargetID, Outcome: x.Outcome})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// lookupLeaks is POST /v1/leaks/lookup: which keys or apps the digests
// found by latchkey scan belong to (keys:read).
func (h *Handler) lookupLeaks(w http.ResponseWriter, r *http.Request) error {
	if h.leaks == nil {
		return errNoLeaks
	}
	var req api.LeakLookupRequest
	if err := decode(r, &req, false); err != nil {
		return err
	}
	ds := make([]apitoken.Digest, 0, len(req.TokenHashes))
	for _, s := range req.TokenHashes {
		d, err := apitoken.ParseDigest(s)
		if err != nil {
			return badRequest("invalid_token_hash", "token_hashes must be SHA-256 digests in hex")
		}
		ds = append(ds, d)
	}
	found, err := h.leaks.Lookup(r.Context(), actorFrom(r.Context()), ds)
	if err != nil {
		return err
	}
	out := api.LeakLookupResult{Items: make([]api.LeakLookupItem, 0, len(found))}
	for _, f := range found {
		out.Items = append(out.Items, api.LeakLookupItem{TokenHash: f.Digest.String(), Kind: f.Kind, ID: f.ID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
