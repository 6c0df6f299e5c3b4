package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/latchkey/latchkey/apitoken"
	"github.com/latchkey/latchkey/token"
)

// keyColumnList lists the columns of keys in the order of keyArgs and
// scanKey; id comes first.
var keyColumnList = []string{"id", "keyspace", "name", "owner_type", "owner_id", "scopes", "digest",
	"start", "metadata", "is_foreign", "idempotency", "created_at", "updated_at", "expires_at", "ttl_ns",
	"disabled", "revoked_at", "revoke_reason", "remaining", "refill_interval", "refill_amount",
	"refilled_at", "ratelimits", "ip_allow", "rotated_from", "rotated_to", "last_used_at",
	"last_used_ip", "version", "signing_secret", "lineage_id", "dpop_jkt"}

var (
	keyColumns   = strings.Join(keyColumnList, ", ")
	selectKey    = "SELECT " + keyColumns + " FROM keys"
	insertKeySQL = "INSERT INTO keys (" + keyColumns + ") VALUES (" + placeholders(1, len(keyColumnList)) + ")"
	// updateKeySQL overwrites every column but id ($1).
	updateKeySQL = "UPDATE keys SET (" + strings.Join(keyColumnList[1:], ", ") + ") = (" +
		placeholders(2, len(keyColumnList)) + ") WHERE id = $1"
)

// keyArgs returns k's column values in keyColumnList order.
func (db *DB) keyArgs(k *token.Key) ([]any, error) {
	e := db.enc()
	var ownerType, ownerID, remaining, refillInterval, refillAmount any
	if k.Owner != nil {
		ownerType, ownerID = string(k.Owner.Type), k.Owner.ID
	}
	if k.Remaining != nil {
		remaining = *k.Remaining
	}
	if k.Refill != nil {
		refillInterval, refillAmount = k.Refill.Interval, k.Refill.Amount
	}
	args := []any{
		k.ID, k.Keyspace, k.Name, ownerType, ownerID, e.strings(k.Scopes), k.Digest[:], k.Start,
		e.raw(k.Metadata), k.Foreign, nullString(k.IdempotencyKey), e.time(k.CreatedAt),
		e.time(k.UpdatedAt), e.time(k.ExpiresAt), int64(k.TTL), k.Disabled, e.time(k.RevokedAt),
		k.RevokeReason, remaining, refillInterval, refillAmount, e.time(k.RefilledAt),
		e.limits(k.RateLimits), e.prefixes(k.IPAllow), k.RotatedFrom, k.RotatedTo,
		e.time(k.LastUsedAt), k.LastUsedIP, k.Version, nullBytes(k.SigningSecret),
		nullString(k.LineageID), nullString(k.DPoPJKT),
	}
	if e.err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, e.err)
	}
	return args, nil
}

// addInsertKey adds the insertion of k to b, and of its kept secret
// (k.SealedSecret, see keysecrets.go) if it has one.
func (db *DB) addInsertKey(b *batch, k *token.Key) error {
	args, err := db.keyArgs(k)
	if err != nil {
		return err
	}
	b.add(insertKeySQL, args...)
	db.addKeepSecret(b, k)
	return nil
}

// addUpdateKey adds the overwriting of k's row to b; a revoked k loses its
// kept secret.
func (db *DB) addUpdateKey(b *batch, k *token.Key) error {
	args, err := db.keyArgs(k)
	if err != nil {
		return err
	}
	b.add(updateKeySQL, args...)
	addDropRevokedSecret(b, k)
	return nil
}

// scanKey reads one row selected with keyColumns.
func (db *DB) scanKey(s scanner) (*token.Key, error) {
	var (
		k                           token.Key
		d                           = db.dec()
		ownerType, ownerID, idem    sql.NullString
		lineage, refillInterval     sql.NullString
		dpopJKT                     sql.NullString
		metadata                    sql.NullString
		limits                      string
		scopes                      []string
		ipAllow                     []netip.Prefix
		digest, signingSecret       []byte
		created, updated, expires   sql.NullInt64
		revoked, refilled, lastUsed sql.NullInt64
		remaining, refillAmount     sql.NullInt64
		ttl                         int64
	)
	err := s.Scan(&k.ID, &k.Keyspace, &k.Name, &ownerType, &ownerID, db.d.stringsDst(&scopes), &digest, &k.Start,
		&metadata, &k.Foreign, &idem, &created, &updated, &expires, &ttl, &k.Disabled, &revoked,
		&k.RevokeReason, &remaining, &refillInterval, &refillAmount, &refilled, &limits, db.d.prefixDst(&ipAllow),
		&k.RotatedFrom, &k.RotatedTo, &lastUsed, &k.LastUsedIP, &k.Version, &signingSecret, &lineage, &dpopJKT)
	if err != nil {
		return nil, err
	}
	k.LineageID = lineage.String
	k.DPoPJKT = dpopJKT.String
	if ownerType.Valid && ownerID.Valid {
		k.Owner = &token.Owner{Type: token.PrincipalType(ownerType.String), ID: ownerID.String}
	}
	k.Scopes = nilIfEmpty(scopes)
	if len(digest) != len(k.Digest) {
		return nil, fmt.Errorf("key %s: digest has %d bytes", k.ID, len(digest))
	}
	copy(k.Digest[:], digest)
	k.Metadata = d.raw(metadata)
	k.IdempotencyKey = idem.String
	k.CreatedAt, k.UpdatedAt, k.ExpiresAt = d.time(created), d.time(updated), d.time(expires)
	k.TTL = time.Duration(ttl)
	k.RevokedAt, k.RefilledAt, k.LastUsedAt = d.time(revoked), d.time(refilled), d.time(lastUsed)
	if remaining.Valid {
		r := remaining.Int64
		k.Remaining = &r
	}
	if refillInterval.Valid && refillAmount.Valid {
		k.Refill = &token.Refill{Interval: refillInterval.String, Amount: refillAmount.Int64}
	}
	k.RateLimits = d.limits("ratelimits", limits)
	k.IPAllow = nilIfEmpty(ipAllow)
	if len(signingSecret) > 0 {
		k.SigningSecret = signingSecret
	}
	if d.err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, d.err)
	}
	return &k, nil
}

// CreateKey stores k and ev in one transaction. It returns an error
// wrapping token.ErrConflict if the ID, the digest or the idempotency key
// already exists.
func (db *DB) CreateKey(ctx context.Context, k *token.Key, ev *token.AuditEvent) error {
	b := &batch{}
	err := db.addInsertKey(b, k)
	if err == nil {
		err = db.addAudit(b, ev)
	}
	if err == nil {
		err = db.e.write(ctx, b)
	}
	if err != nil {
		return db.errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

// KeyByID returns key id, or an error wrapping token.ErrNotFound.
func (db *DB) KeyByID(ctx context.Context, id string) (*token.Key, error) {
	k, err := db.scanKey(db.e.reader().queryRow(ctx, selectKey+" WHERE id = $1", id))
	if err != nil {
		return nil, db.errorf("get key %s: %w", id, err)
	}
	return k, nil
}

// KeyByDigest returns the key whose digest is d, or an error wrapping
// token.ErrNotFound. It is the lookup of every verification.
func (db *DB) KeyByDigest(ctx context.Context, d apitoken.Digest) (*token.Key, error) {
	k, err := db.scanKey(db.e.keyByDigest(ctx, d[:]))
	if err != nil {
		return nil, db.errorf("get key by digest: %w", err)
	}
	return k, nil
}

// ListKeys returns up to f.Limit keys (token.DefaultPageSize if it is not
// positive) ordered by ID, and the cursor of the next page ("" if none).
// The State filter is evaluated at f.Now as token.Key.State does.
func (db *DB) ListKeys(ctx context.Context, f token.KeyFilter) ([]*token.Key, string, error) {
	var w where
	if f.After != "" {
		w.add("id > " + w.arg(f.After))
	}
	if f.Keyspace != "" {
		w.add("keyspace = " + w.arg(f.Keyspace))
	}
	if f.OwnerType != "" {
		w.add("owner_type = " + w.arg(string(f.OwnerType)))
	}
	if f.OwnerID != "" {
		w.add("owner_id = " + w.arg(f.OwnerID))
	}
	if f.Foreign {
		w.add("is_foreign")
	}
	if f.IdempotencyKey != "" {
		w.add("idempotency = " + w.arg(f.IdempotencyKey))
	}
	if f.State != "" {
		// A zero Now expires nothing, as in Key.State.
		now := int64(math.MinInt64)
		if !f.Now.IsZero() {
			e := db.enc()
			if now, _ = e.time(f.Now).(int64); e.err != nil {
				return nil, "", db.errorf("list keys: %w", e.err)
			}
		}
		const live = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > %s)"
		switch f.State {
		case token.Revoked:
			w.add("revoked_at IS NOT NULL")
		case token.Expired:
			w.add("revoked_at IS NULL AND expires_at <= " + w.arg(now))
		case token.Disabled:
			w.add(fmt.Sprintf(live, w.arg(now)) + " AND disabled")
		case token.Active:
			w.add(fmt.Sprintf(live, w.arg(now)) + " AND NOT disabled")
		default:
			return nil, "", db.errorf("list keys: unknown state %q", f.State)
		}
	}
	limit := pageLimit(f.Limit)
	q := selectKey + w.String() + " ORDER BY id LIMIT " + w.arg(limit+1)
	keys, err := queryAll(ctx, db.e.reader(), q, w.args, db.scanKey)
	if err != nil {
		return nil, "", db.errorf("list keys: %w", err)
	}
	keys, next := page(keys, limit, func(k *token.Key) string { return k.ID })
	return keys, next, nil
}
