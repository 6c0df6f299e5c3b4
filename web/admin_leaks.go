package web

import (
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/leak"
)

// leakReadme is the README section the empty leak reports page points to.
const leakReadme = "https://github.com/latchkey/latchkey#when-a-token-leaks"

// leakRow is a leak report as the page shows it.
type leakRow struct {
	*leak.Report
	Source  string // in words
	Link    string // the page of the secret's key or app; "" if unknown
	Outcome string // in words
}

func leakRowOf(r *leak.Report) leakRow {
	row := leakRow{Report: r, Source: "public report (POST /v1/leaks)", Outcome: r.Outcome}
	if r.Source == leak.SourceGitHub {
		row.Source = "GitHub secret scanning"
	}
	switch r.Kind {
	case leak.KindAPIKey, leak.KindAccessToken, leak.KindGrant, leak.KindRefreshToken:
		row.Link = "/ui/keys/" + url.PathEscape(r.TargetID)
	case leak.KindClientSecret:
		row.Link = "/ui/apps/" + url.PathEscape(r.TargetID)
	}
	switch r.Outcome {
	case leak.OutcomeRevoked:
		row.Outcome = "revoked now"
	case leak.OutcomeAlreadyRevoked:
		row.Outcome = "was revoked already"
	case leak.OutcomeUnknown:
		row.Outcome = "no such token: nothing to revoke"
	}
	return row
}

// leaksPage is /ui/leaks: the kept leak reports, newest first, for an
// admin who may read the audit log (leak.Service.Reports checks it).
func (h *Handler) leaksPage(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	before := r.URL.Query().Get("before")
	rs, next, err := h.ops.Leaks.Reports(r.Context(), c.actor, leak.Filter{Before: before, Limit: pageSize})
	if err != nil {
		return err
	}
	rows := make([]leakRow, len(rs))
	for i, rep := range rs {
		rows[i] = leakRowOf(rep)
	}
	nextURL := ""
	if next != "" {
		nextURL = "/ui/leaks?" + url.Values{"before": {next}}.Encode()
	}
	h.render(w, r, http.StatusOK, "admin_leaks", h.adminData(w, r, c, "leaks", map[string]any{"Title": "Leak reports",
		"Reports": rows, "Next": nextURL, "Older": before != "", "Readme": leakReadme}))
	return nil
}
