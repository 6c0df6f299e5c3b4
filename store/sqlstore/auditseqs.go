package sqlstore

import "context"

// Seqs returns the places in the audit chain of the records ids, for the
// console's audit log page; records without one (not chained yet) and
// unknown IDs are left out.
func (r *AuditReader) Seqs(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	err := chunks(len(ids), func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		rs, err := r.q.query(ctx, "SELECT id, seq FROM audit WHERE seq IS NOT NULL AND id IN ("+placeholders(1, len(args))+")", args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var (
				id  string
				seq int64
			)
			if err := rs.Scan(&id, &seq); err != nil {
				return err
			}
			out[id] = seq
		}
		return rs.Err()
	})
	if err != nil {
		return nil, r.db.errorf("read audit seqs: %w", err)
	}
	return out, nil
}
