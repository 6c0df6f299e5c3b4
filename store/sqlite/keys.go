package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// keyColumns lists the columns of keys in the order of keyArgs and scanKey.
const keyColumns = `id, keyspace, name, owner_type, owner_id, scopes, digest, start, metadata,
	foreign_key, created_at, updated_at, expires_at, ttl_ns, disabled, revoked_at, revoke_reason,
	remaining, rotated_from, rotated_to, last_used_at, last_used_ip, version, idempotency,
	ratelimits, ip_allow, refill_interval, refill_amount, refilled_at, signing_secret, lineage_id`

const selectKey = "SELECT " + keyColumns + " FROM keys"

var (
	insertKeySQL = "INSERT INTO keys (" + keyColumns + ") VALUES (?" + strings.Repeat(", ?", 30) + ")"
	updateKeySQL = `UPDATE keys SET keyspace = ?, name = ?, owner_type = ?, owner_id = ?, scopes = ?,
	digest = ?, start = ?, metadata = ?, foreign_key = ?, created_at = ?, updated_at = ?,
	expires_at = ?, ttl_ns = ?, disabled = ?, revoked_at = ?, revoke_reason = ?, remaining = ?,
	rotated_from = ?, rotated_to = ?, last_used_at = ?, last_used_ip = ?, version = ?,
	idempotency = ?, ratelimits = ?, ip_allow = ?, refill_interval = ?, refill_amount = ?,
	refilled_at = ?, signing_secret = ?, lineage_id = ? WHERE id = ?`
)

// keyArgs returns k's column values in keyColumns order.
func keyArgs(k *token.Key) ([]any, error) {
	var e enc
	var ownerType, ownerID, remaining any
	if k.Owner != nil {
		ownerType, ownerID = string(k.Owner.Type), k.Owner.ID
	}
	if k.Remaining != nil {
		remaining = *k.Remaining
	}
	var refillInterval, refillAmount any
	if k.Refill != nil {
		refillInterval, refillAmount = k.Refill.Interval, k.Refill.Amount
	}
	args := []any{
		k.ID, k.Keyspace, k.Name, ownerType, ownerID, e.strings(k.Scopes), k.Digest[:], k.Start,
		e.raw(k.Metadata), boolInt(k.Foreign), e.time(k.CreatedAt), e.time(k.UpdatedAt),
		e.time(k.ExpiresAt), int64(k.TTL), boolInt(k.Disabled), e.time(k.RevokedAt), k.RevokeReason,
		remaining, k.RotatedFrom, k.RotatedTo, e.time(k.LastUsedAt), k.LastUsedIP, k.Version,
		nullString(k.IdempotencyKey),
		e.limits(k.RateLimits), e.prefixes(k.IPAllow), refillInterval, refillAmount, e.time(k.RefilledAt),
		nullBytes(k.SigningSecret), nullString(k.LineageID),
	}
	return args, e.err
}

// insertKey adds k as a new row.
func insertKey(ctx context.Context, q querier, k *token.Key) error {
	args, err := keyArgs(k)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, insertKeySQL, args...)
	return dbErr(err)
}

// updateKeyRow overwrites the row of k.ID with k.
func updateKeyRow(ctx context.Context, q querier, k *token.Key) error {
	args, err := keyArgs(k)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, updateKeySQL, append(args[1:], args[0])...)
	return dbErr(err)
}

// scanKey reads one row selected with keyColumns.
func scanKey(s scanner) (*token.Key, error) {
	var (
		k                            token.Key
		d                            dec
		ownerType, ownerID, metadata sql.NullString
		idempotency, refillInterval  sql.NullString
		lineage                      sql.NullString
		limits, ipAllow              string
		refillAmount, refilledAt     sql.NullInt64
		scopes                       string
		digest, signingSecret        []byte
		foreign, disabled, ttl       int64
		created, updated, expires    sql.NullInt64
		revoked, remaining, lastUsed sql.NullInt64
	)
	err := s.Scan(&k.ID, &k.Keyspace, &k.Name, &ownerType, &ownerID, &scopes, &digest, &k.Start,
		&metadata, &foreign, &created, &updated, &expires, &ttl, &disabled, &revoked, &k.RevokeReason,
		&remaining, &k.RotatedFrom, &k.RotatedTo, &lastUsed, &k.LastUsedIP, &k.Version, &idempotency,
		&limits, &ipAllow, &refillInterval, &refillAmount, &refilledAt, &signingSecret, &lineage)
	if err != nil {
		return nil, dbErr(err)
	}
	k.LineageID = lineage.String
	if ownerType.Valid {
		k.Owner = &token.Owner{Type: token.PrincipalType(ownerType.String), ID: ownerID.String}
	}
	k.Scopes = d.strings("scopes", scopes)
	if len(digest) != len(k.Digest) {
		return nil, fmt.Errorf("key %s: digest has %d bytes", k.ID, len(digest))
	}
	copy(k.Digest[:], digest)
	k.Metadata = d.raw(metadata)
	k.Foreign, k.Disabled = foreign != 0, disabled != 0
	k.IdempotencyKey = idempotency.String
	k.RateLimits = d.limits("ratelimits", limits)
	k.IPAllow = d.prefixes("ip_allow", ipAllow)
	if refillInterval.Valid {
		k.Refill = &token.Refill{Interval: refillInterval.String, Amount: refillAmount.Int64}
	}
	k.RefilledAt = d.time(refilledAt)
	if len(signingSecret) > 0 {
		k.SigningSecret = signingSecret
	}
	k.CreatedAt, k.UpdatedAt, k.ExpiresAt = d.time(created), d.time(updated), d.time(expires)
	k.TTL = time.Duration(ttl)
	k.RevokedAt, k.LastUsedAt = d.time(revoked), d.time(lastUsed)
	if remaining.Valid {
		r := remaining.Int64
		k.Remaining = &r
	}
	if d.err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, d.err)
	}
	return &k, nil
}

// getKey reads key id through q.
func getKey(ctx context.Context, q querier, id string) (*token.Key, error) {
	return scanKey(q.QueryRowContext(ctx, selectKey+" WHERE id = ?", id))
}

// KeyByID returns key id, or an error wrapping token.ErrNotFound.
func (db *DB) KeyByID(ctx context.Context, id string) (*token.Key, error) {
	k, err := getKey(ctx, db.r, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get key %s: %w", id, err)
	}
	return k, nil
}

// KeyByDigest returns the key whose digest is d, or an error wrapping
// token.ErrNotFound. It is the lookup of every verification.
func (db *DB) KeyByDigest(ctx context.Context, d apitoken.Digest) (*token.Key, error) {
	k, err := scanKey(db.byDigest.QueryRowContext(ctx, d[:]))
	if err != nil {
		return nil, fmt.Errorf("sqlite: get key by digest: %w", err)
	}
	return k, nil
}

// ListKeys returns up to f.Limit keys (token.DefaultPageSize if it is not
// positive) ordered by ID, and the cursor of the next page ("" if none).
// The State filter is evaluated at f.Now as token.Key.State does.
func (db *DB) ListKeys(ctx context.Context, f token.KeyFilter) ([]*token.Key, string, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if f.After != "" {
		add("id > ?", f.After)
	}
	if f.Keyspace != "" {
		add("keyspace = ?", f.Keyspace)
	}
	if f.OwnerType != "" {
		add("owner_type = ?", string(f.OwnerType))
	}
	if f.OwnerID != "" {
		add("owner_id = ?", f.OwnerID)
	}
	if f.Foreign {
		add("foreign_key = 1")
	}
	if f.IdempotencyKey != "" {
		add("idempotency = ?", f.IdempotencyKey)
	}
	if f.State != "" {
		// A zero Now expires nothing, as in Key.State.
		now := int64(math.MinInt64)
		if !f.Now.IsZero() {
			var e enc
			if now, _ = e.time(f.Now).(int64); e.err != nil {
				return nil, "", fmt.Errorf("sqlite: list keys: %w", e.err)
			}
		}
		switch f.State {
		case token.Revoked:
			add("revoked_at IS NOT NULL")
		case token.Expired:
			add("revoked_at IS NULL AND expires_at <= ?", now)
		case token.Disabled:
			add("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND disabled = 1", now)
		case token.Active:
			add("revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) AND disabled = 0", now)
		default:
			return nil, "", fmt.Errorf("sqlite: list keys: unknown state %q", f.State)
		}
	}
	q := selectKey
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := pageLimit(f.Limit)
	rows, err := db.r.QueryContext(ctx, q+" ORDER BY id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list keys: %w", err)
	}
	defer rows.Close()
	var keys []*token.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: list keys: %w", err)
	}
	keys, next := page(keys, limit, func(k *token.Key) string { return k.ID })
	return keys, next, nil
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
