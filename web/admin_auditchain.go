package web

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/auditlog"
	"github.com/latchkey/latchkey/token"
)

// The audit chain's status on the audit log page: the latest signed
// checkpoint (to copy and keep elsewhere), the verifier key, and a button
// that runs the verification of "latchkey audit verify" (auditlog.Verify
// on one snapshot of the store) under a timeout, one at a time, keeping
// the last result in memory.

// verifyResult is the outcome of a verification started from the page.
type verifyResult struct {
	At          string // when it ended
	By          string // the admin who started it
	OK          bool
	Size        int64 // records verified
	Checkpoints int   // stored checkpoints checked
	Seq         int64 // the first record that does not match; -1: none named
	Failure     string
	Err         string // the verification could not finish
}

// auditChainData adds the chain's status to the audit page's data d (evs:
// the listed events, whose places in the chain it adds).
func (h *Handler) auditChainData(ctx context.Context, evs []*token.AuditEvent, d map[string]any) error {
	if l := h.ops.AuditLog; l != nil {
		cp, err := l.Latest(ctx)
		if err != nil {
			return token.Unavailablef(err, "the audit chain's checkpoint is unavailable")
		}
		d["Checkpoint"], d["Root"], d["Verifier"] = cp, base64.StdEncoding.EncodeToString(cp.Root[:]), l.Verifier()
	}
	d["CanVerify"] = h.ops.AuditSnapshot != nil
	h.ops.mu.Lock()
	d["LastVerify"] = h.ops.last
	h.ops.mu.Unlock()
	if h.ops.AuditSeqs != nil && len(evs) > 0 {
		ids := make([]string, len(evs))
		for i, ev := range evs {
			ids[i] = ev.ID
		}
		seqs, err := h.ops.AuditSeqs(ctx, ids)
		if err != nil {
			return token.Unavailablef(err, "the audit chain is unavailable")
		}
		shown := make(map[string]string, len(seqs))
		for id, n := range seqs {
			shown[id] = strconv.FormatInt(n, 10)
		}
		d["Seqs"] = shown
	}
	return nil
}

// errVerifyRunning is the answer to a second click while a verification runs.
const errVerifyRunning = "A verification is already running: its result shows on this page when it ends."

// verifyAudit is POST /ui/audit/verify (audit:read).
func (h *Handler) verifyAudit(w http.ResponseWriter, r *http.Request, c *adminCtx) error {
	if h.ops.AuditSnapshot == nil {
		return token.Errorf(token.NotFound, "no_route", "this server keeps no audit chain")
	}
	if err := h.tokens.AuthorizeAuditRead(r.Context(), c.actor); err != nil {
		return err
	}
	if !h.ops.verifying.CompareAndSwap(false, true) {
		return h.renderAudit(w, r, c, http.StatusConflict, "", errVerifyRunning)
	}
	res := func() *verifyResult {
		defer h.ops.verifying.Store(false)
		return h.runVerify(r.Context(), c.user.ID)
	}()
	switch {
	case res.OK:
		return h.renderAudit(w, r, c, http.StatusOK, "The audit chain verified.", "")
	case res.Failure != "":
		return h.renderAudit(w, r, c, http.StatusOK, "", "The audit chain does not verify: "+res.Failure)
	}
	return h.renderAudit(w, r, c, http.StatusServiceUnavailable, "", res.Err)
}

// runVerify verifies the stored chain and keeps the result as the last.
func (h *Handler) runVerify(ctx context.Context, by string) *verifyResult {
	ctx, cancel := context.WithTimeout(ctx, h.ops.VerifyTimeout)
	defer cancel()
	var rep *auditlog.Report
	err := h.ops.AuditSnapshot(ctx, func(src auditlog.Source) error {
		var err error
		rep, err = auditlog.Verify(ctx, src, auditlog.VerifyOptions{})
		return err
	})
	res := &verifyResult{At: h.tokens.Now().UTC().Format("2006-01-02 15:04:05 UTC"), By: by, Seq: -1}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (err != nil && ctx.Err() != nil):
		res.Err = "The verification did not finish within " + h.ops.VerifyTimeout.String() +
			": run `latchkey audit verify` on the server, which has no time limit."
	case err != nil:
		h.log.Error("audit verify", "err", err)
		res.Err = "The verification could not read the store: try again."
	case rep.Failure != nil:
		res.Failure, res.Seq, res.Size, res.Checkpoints = rep.Failure.Error(), rep.Failure.Seq, rep.Size, rep.Checkpoints
	default:
		res.OK, res.Size, res.Checkpoints = true, rep.Size, rep.Checkpoints
	}
	h.ops.mu.Lock()
	h.ops.last = res
	h.ops.mu.Unlock()
	return res
}
