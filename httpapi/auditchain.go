package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/token"
)

// The audit log's Merkle tree: the latest signed checkpoint, inclusion and
// consistency proofs and the checkpoints' verifier key, for holders of
// audit:read (as the log itself).

func (h *Handler) auditReady(r *http.Request) error {
	if err := h.svc.AuthorizeAuditRead(r.Context(), actorFrom(r.Context())); err != nil {
		return err
	}
	if h.audit == nil {
		return token.Errorf(token.Unavailable, "audit_chain_unavailable", "this server signs no audit checkpoints")
	}
	return nil
}

// auditCheckpoint is GET /v1/audit/checkpoint: the signed note as
// text/plain, or JSON when the client accepts only that.
func (h *Handler) auditCheckpoint(w http.ResponseWriter, r *http.Request) error {
	if err := h.auditReady(r); err != nil {
		return err
	}
	c, err := h.audit.Latest(r.Context())
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, api.AuditCheckpoint{Size: c.Size, RootHash: b64(c.Root[:]), Note: string(c.Note), Time: c.CreatedAt})
		return nil
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header()["Cache-Control"] = hdrNoStore
	w.Write(c.Note)
	return nil
}

// auditKey is GET /v1/audit/key: the verifier key of the checkpoints.
func (h *Handler) auditKey(w http.ResponseWriter, r *http.Request) error {
	if err := h.auditReady(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(h.audit.Verifier() + "\n"))
	return nil
}

// sizeParam reads a non-negative integer parameter; absent is 0.
func sizeParam(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("invalid_"+name, name+" must be a non-negative integer")
	}
	return n, nil
}

func hashes[H ~[]tlog.Hash](hs H) []string {
	out := make([]string, len(hs))
	for i := range hs {
		out[i] = b64(hs[i][:])
	}
	return out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// auditProof is GET /v1/audit/{seq}/proof?size=N (N: the latest
// checkpoint's size when absent).
func (h *Handler) auditProof(w http.ResponseWriter, r *http.Request) error {
	if err := h.auditReady(r); err != nil {
		return err
	}
	seq, err := sizeParam("seq", r.PathValue("seq"))
	if err != nil {
		return err
	}
	size, err := sizeParam("size", r.URL.Query().Get("size"))
	if err != nil {
		return err
	}
	p, err := h.audit.ProveRecord(r.Context(), seq, size)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.AuditInclusionProof{Seq: p.Record.Seq, ID: p.Record.Event.ID, Size: p.Size,
		Leaf: b64(p.Leaf), LeafHash: b64(p.LeafHash[:]), RootHash: b64(p.Root[:]), Proof: hashes(p.Proof)})
	return nil
}

// auditConsistency is GET /v1/audit/consistency?from=N&to=M.
func (h *Handler) auditConsistency(w http.ResponseWriter, r *http.Request) error {
	if err := h.auditReady(r); err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Get("from") == "" || q.Get("to") == "" {
		return badRequest("invalid_size", "from and to are required")
	}
	from, err := sizeParam("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := sizeParam("to", q.Get("to"))
	if err != nil {
		return err
	}
	p, err := h.audit.ProveTree(r.Context(), from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.AuditConsistencyProof{From: p.From, To: p.To, FromRoot: b64(p.FromRoot[:]),
		ToRoot: b64(p.ToRoot[:]), Proof: hashes(p.Proof)})
	return nil
}
