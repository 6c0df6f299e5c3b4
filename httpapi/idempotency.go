package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/latchkey/latchkey/token"
)

// idempotent answers a non-idempotent management call so that it is safe
// to retry: with an Idempotency-Key header, the first call's answer
// (status and body, a new secret included) is stored in the transaction of
// the change, and a retry with the same key and the same request gets it
// again, marked "Idempotent-Replayed: true". req is the decoded request
// body; it and the path make the request's fingerprint. call makes the
// change as a; render turns its result into the answer.
func (h *Handler) idempotent(w http.ResponseWriter, r *http.Request, op string, req any,
	call func(a *token.Actor) (any, error), render func(result any) (int, any)) error {
	var o *token.Once
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		o = &token.Once{Key: key, Operation: op, Fingerprint: fingerprint(r, op, req),
			Render: func(result any) (int, []byte, error) {
				status, v := render(result)
				b, err := json.Marshal(v)
				return status, b, err
			}}
	}
	var result any
	err := h.svc.Idempotent(r.Context(), actorFrom(r.Context()), o, func(a *token.Actor) error {
		var err error
		result, err = call(a)
		return err
	})
	var rp *token.Replayed
	if errors.As(err, &rp) {
		w.Header().Set("Idempotent-Replayed", "true")
		writeRaw(w, rp.Status, rp.Body)
		return nil
	}
	if err != nil {
		return err
	}
	if status, body, ok := o.Answer(); ok { // exactly what a retry will get
		writeRaw(w, status, body)
		return nil
	}
	status, v := render(result)
	writeJSON(w, status, v)
	return nil
}

// fingerprint is the digest of what a request asks: the operation, the
// path (which names the key) and the decoded body, so that whitespace and
// field order do not matter.
func fingerprint(r *http.Request, op string, req any) string {
	b, _ := json.Marshal(req) // a decoded request always encodes
	h := sha256.New()
	h.Write([]byte(op + "\x00" + r.URL.Path + "\x00"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// writeRaw writes a JSON body rendered earlier, as writeJSON would.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
