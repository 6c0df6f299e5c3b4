package verify

import (
	"context"
	"sync"
	"time"
)

// proofRecord is the default replay record of DPoP proofs: in memory,
// bounded, forgotten when they expire.
type proofRecord struct {
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time // jkt + id → expiry
}

// maxProofRecords bounds the record; when full, new proofs are refused
// (fail closed) until expired ones are dropped.
const maxProofRecords = 100_000

func newProofRecord(now func() time.Time) *proofRecord {
	return &proofRecord{now: now, seen: map[string]time.Time{}}
}

func (p *proofRecord) use(_ context.Context, jkt, id string, expires time.Time) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	k := jkt + " " + id
	if exp, ok := p.seen[k]; ok && now.Before(exp) {
		return false, nil
	}
	if len(p.seen) >= maxProofRecords {
		for k, exp := range p.seen {
			if !now.Before(exp) {
				delete(p.seen, k)
			}
		}
		if len(p.seen) >= maxProofRecords {
			return false, errProofRecordFull
		}
	}
	p.seen[k] = expires
	return true, nil
}

var errProofRecordFull = &Error{Kind: ErrUnavailable, Code: "DPOP_RECORD_FULL"}
