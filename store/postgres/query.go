package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/token"
)

// where builds the WHERE clause and the arguments of a listing.
type where struct {
	conds []string
	args  []any
}

// arg adds v to the arguments and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// add adds a condition; conditions are joined with AND.
func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

// String returns " WHERE …", or "" without conditions.
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// queryAll runs q on the pool and scans every row.
func queryAll[T any](ctx context.Context, db *DB, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}

// pageLimit returns the page size to use for a requested limit.
func pageLimit(n int) int {
	if n <= 0 {
		return token.DefaultPageSize
	}
	return n
}

// page trims items, read with LIMIT limit+1, to limit and returns the
// cursor of the next page: the last item's ID if a further row exists.
func page[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, id(items[limit-1])
}
