package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/latchkey/latchkey/api"
	"github.com/latchkey/latchkey/scope"
	"github.com/latchkey/latchkey/token"
)

// verifyKey answers POST /v1/keys/verify: always 200 for a well-formed
// request, valid or not; 503 when the store cannot answer (never "valid").
func (h *Handler) verifyKey(w http.ResponseWriter, r *http.Request) error {
	a := actorFrom(r.Context())
	if !a.May(token.ScopeKeysVerify) {
		return h.svc.Refuse(r.Context(), a, "key.verify", token.ScopeKeysVerify)
	}
	var req api.VerifyRequest
	if err := decodeVerifyRequest(r, &req); err != nil {
		return err
	}
	if req.Key == "" {
		return badRequest("missing_key", "field \"key\" is required")
	}
	vr := token.VerifyRequest{Key: req.Key, Keyspace: req.Keyspace, Scopes: req.Scopes, IP: h.clientIP(r)}
	if req.IP != "" {
		ip, err := netip.ParseAddr(req.IP)
		if err != nil {
			return badRequest("bad_ip", "ip must be an IPv4 or IPv6 address")
		}
		vr.IP = ip.Unmap().WithZone("").String()
	}
	if req.Cost != nil {
		switch c := *req.Cost; {
		case c < 0 || c > 1e9:
			return badRequest("bad_cost", "cost must be between 0 and 10^9")
		case c == 0:
			vr.DryRun = true
		default:
			vr.Cost = c
		}
	}
	// Unknown keys are throttled per end client, named by the trusted
	// caller in "ip"; the caller itself holds a keys:verify credential and
	// is not throttled for what its clients send. Only unknown keys draw
	// on the budget: a valid key from a throttled address still verifies.
	throttle := req.IP != ""
	if err := scope.ValidateAll(req.Scopes); err != nil {
		return badRequest("bad_scope", "scopes: "+err.Error())
	}
	if req.Request != nil {
		check, err := h.signedRequest(req.Request)
		if err != nil {
			return err
		}
		vr.Signature = check
	}
	if d := req.DPoP; d != nil {
		if d.Proof == "" || len(d.Proof) > 8<<10 || d.Method == "" || len(d.Method) > 20 || d.URL == "" || len(d.URL) > 8<<10 {
			return badRequest("bad_dpop", "dpop needs proof, method and url")
		}
		vr.DPoP = &token.DPoPCheck{Proof: d.Proof, Method: d.Method, URL: d.URL}
	}
	if req.ScopeQuery != "" {
		q, err := scope.ParseExpr(req.ScopeQuery)
		if err != nil {
			return badRequest("bad_scope_query", err.Error())
		}
		vr.Query = q
	}
	if h.signer != nil && strings.Count(req.Key, ".") == 2 {
		out, err := h.verifyJWT(r.Context(), &req, vr)
		if err != nil {
			return err
		}
		h.metrics.verified(token.Code(out.Code))
		w.Header()["Cache-Control"] = hdrNoStore
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	res, err := h.svc.Verify(r.Context(), vr)
	if err != nil {
		return err
	}
	h.metrics.verified(res.Code)
	if throttle && res.Code == token.CodeNotFound {
		if throttled, retry := h.guard.fail(r.Context(), "verify", h.guard.verify, vr.IP); throttled {
			return tooManyFailures(w, retry)
		}
	}
	out := VerifyResponse(res)
	bp := bufPool.Get().(*[]byte)
	b := append(appendVerifyResponse((*bp)[:0], &out), '\n')
	hdr := w.Header()
	hdr["Content-Type"] = hdrJSON
	hdr["Cache-Control"] = hdrNoStore
	w.Write(b)
	*bp = b
	bufPool.Put(bp)
	return nil
}

// Header values set by direct map assignment: Header.Set would
// canonicalize the constant name and allocate the slice on every answer.
// They are shared and must never be modified in place (len = cap = 1, so
// Header.Add copies before appending).
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
)

// bufPool recycles the buffers verify answers are written into.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// VerifyResponse is the wire form of a verification result, as
// POST /v1/keys/verify answers it; an in-process gateway uses it too.
func VerifyResponse(res *token.VerifyResult) api.VerifyResponse {
	out := api.VerifyResponse{Valid: res.Valid, Code: string(res.Code)}
	if k := res.Key; k != nil {
		out.KeyID, out.Keyspace, out.Name = k.ID, k.Keyspace, k.Name
		out.Owner = apiOwner(k.Owner)
		out.Scopes = nonNil(res.Scopes)
		out.ExpiresAt = timePtr(k.ExpiresAt)
		out.Metadata = k.Metadata
		out.Remaining = res.Remaining
		out.RateLimits = apiRateLimitStates(res.RateLimits)
		out.DPoPNonce = res.DPoPNonce
	}
	return out
}
