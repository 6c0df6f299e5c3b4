package token

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Granularity is the width of a usage bucket.
type Granularity string

// Granularities of usage buckets.
const (
	Minute Granularity = "minute" // kept MinuteRetention
	Hour   Granularity = "hour"   // kept HourRetention
)

// Retention of usage buckets: older ones are pruned (PruneUsage).
const (
	MinuteRetention = 48 * time.Hour
	HourRetention   = 90 * 24 * time.Hour
)

// MaxUsageBuckets bounds the buckets one usage answer may span: 48 hours
// of minutes, or 120 days of hours.
const MaxUsageBuckets = 2880

// pruneEvery is how often a node prunes expired usage buckets.
const pruneEvery = 10 * time.Minute

// Duration returns the width of a bucket of granularity g.
func (g Granularity) Duration() time.Duration {
	if g == Minute {
		return time.Minute
	}
	return time.Hour
}

// UsageRange selects the buckets [From, To) of one granularity.
type UsageRange struct {
	From, To    time.Time
	Granularity Granularity
}

// UsageBucket is the verifications in the bucket that begins at Start, by
// result code.
type UsageBucket struct {
	Start  time.Time
	Counts map[Code]int64
}

// GroupBy is how GET /v1/analytics groups a keyspace's verifications.
type GroupBy string

// Groupings of the analytics.
const (
	GroupByCode  GroupBy = "code"  // a series of buckets and totals by code
	GroupByKey   GroupBy = "key"   // totals per key, paginated by key ID
	GroupByOwner GroupBy = "owner" // totals per owner (user or app), paginated
)

// UsageFilter selects the buckets of a keyspace, or of one owner's keys in
// it (Owner set).
type UsageFilter struct {
	Keyspace string
	Owner    *Owner
	UsageRange
}

// UsageGroup is the verifications of one key (KeyID), owner (Owner) or code
// over a range, by result code.
type UsageGroup struct {
	KeyID  string
	Owner  *Owner
	Code   Code // group_by code
	Counts map[Code]int64
}

// UsageStore keeps verification counts in buckets per minute and per hour,
// per key and rolled up per keyspace and per owner within a keyspace
// (written by KeyStore.RecordUsage from Usage.Minutes). Every method
// returns only buckets with counts; a storage failure is an error.
type UsageStore interface {
	// KeyUsageBuckets returns the non-empty buckets of key id in r, in
	// time order.
	KeyUsageBuckets(ctx context.Context, id string, r UsageRange) ([]UsageBucket, error)
	// UsageSeries returns the non-empty buckets of f's keyspace (or of
	// f.Owner's keys in it) in time order.
	UsageSeries(ctx context.Context, f UsageFilter) ([]UsageBucket, error)
	// UsageByKey returns up to limit keys of f's keyspace (of f.Owner's if
	// set) with verifications in the range, ordered by ID after the cursor
	// after, each with its totals, and the next cursor ("" at the end).
	UsageByKey(ctx context.Context, f UsageFilter, after string, limit int) ([]UsageGroup, string, error)
	// UsageByOwner returns up to limit owners of keys of f's keyspace
	// (only f.Owner if set) with verifications in the range, ordered by
	// "type/id" after the cursor after, and the next cursor.
	UsageByOwner(ctx context.Context, f UsageFilter, after string, limit int) ([]UsageGroup, string, error)
	// TopKeysByUsage returns the limit (1 to MaxTopKeys; others mean
	// MaxTopKeys) keys of f's keyspace (of f.Owner's if set) with the most
	// verifications in the range, most first, ties by ID, each with its
	// totals. Its cost is bounded by the range's bucket rows, not by the
	// keyspace's keys.
	TopKeysByUsage(ctx context.Context, f UsageFilter, limit int) ([]UsageGroup, error)
	// PruneUsage moves the minute buckets that began before minutes into
	// their hour buckets (an hour read sums both), deletes the hour
	// buckets that began before hours, and returns how many rows it moved
	// or deleted. Several nodes may prune at once; no minute is counted
	// twice or lost.
	PruneUsage(ctx context.Context, minutes, hours time.Time) (int64, error)
}

// NormalizeUsageRange validates r and aligns it to whole buckets: From
// down, To up. Defaults: hourly buckets, To = now, From = 60 buckets
// before the aligned To. Errors are Invalid with code "bad_granularity" or
// "bad_range" (To not after From, or more than MaxUsageBuckets buckets).
func NormalizeUsageRange(r *UsageRange, now time.Time) error {
	switch r.Granularity {
	case "":
		r.Granularity = Hour
	case Minute, Hour:
	default:
		return &Error{Kind: Invalid, Code: "bad_granularity", Msg: fmt.Sprintf("granularity must be \"minute\" or \"hour\", not %q", r.Granularity)}
	}
	d := r.Granularity.Duration()
	if r.To.IsZero() {
		r.To = now
	}
	to := r.To.UTC().Truncate(d)
	if to.Before(r.To) {
		to = to.Add(d)
	}
	if r.From.IsZero() {
		r.From = to.Add(-60 * d)
	}
	if !r.To.After(r.From) {
		return &Error{Kind: Invalid, Code: "bad_range", Msg: "to must be after from"}
	}
	from := r.From.UTC().Truncate(d)
	if n := to.Sub(from) / d; n > MaxUsageBuckets {
		return &Error{Kind: Invalid, Code: "bad_range", Msg: fmt.Sprintf("the range spans %d %s buckets; at most %d fit in one answer", n, r.Granularity, MaxUsageBuckets)}
	}
	r.From, r.To = from, to
	return nil
}

// KeyUsageBuckets returns the verifications of a key the actor may see per
// minute or hour in r (aligned to whole buckets and returned with the
// answer), as far as usage has been flushed.
func (s *Service) KeyUsageBuckets(ctx context.Context, a *Actor, id string, r UsageRange) ([]UsageBucket, UsageRange, error) {
	if err := NormalizeUsageRange(&r, s.Now()); err != nil {
		return nil, r, err
	}
	if _, err := s.Key(ctx, a, id); err != nil {
		return nil, r, err
	}
	b, err := s.store.KeyUsageBuckets(ctx, id, r)
	if err != nil {
		return nil, r, storeErr(err, "usage buckets of key %s", id)
	}
	return b, r, nil
}

// AnalyticsQuery asks for a keyspace's verifications over a range.
type AnalyticsQuery struct {
	Keyspace string
	UsageRange
	GroupBy GroupBy
	After   string // cursor of group_by key or owner
	Limit   int
}

// Analytics is the answer: Buckets and Groups (one per code) for
// GroupByCode; Groups and Next for GroupByKey and GroupByOwner.
type Analytics struct {
	UsageRange
	Buckets []UsageBucket
	Groups  []UsageGroup
	Next    string
}

// MaxTopKeys bounds the keys TopKeys ranks.
const MaxTopKeys = 100

// usageFilter checks that actor a may read the analytics of keyspace (the
// same for Analytics and TopKeys), normalizes r and returns the filter of
// the buckets a may see: a personal credential's own keys only.
func (s *Service) usageFilter(ctx context.Context, a *Actor, keyspace string, r *UsageRange) (UsageFilter, error) {
	if !a.mayReadKeys() {
		return UsageFilter{}, s.deny(ctx, a, "analytics.read", "keyspace", keyspace, ScopeKeysRead)
	}
	if keyspace == "" {
		return UsageFilter{}, invalidf("keyspace is required")
	}
	if err := NormalizeUsageRange(r, s.Now()); err != nil {
		return UsageFilter{}, err
	}
	if _, err := s.store.Keyspace(ctx, keyspace); err != nil {
		return UsageFilter{}, storeErr(err, "keyspace %s", keyspace)
	}
	f := UsageFilter{Keyspace: keyspace, UsageRange: *r}
	if a.ownerBound() {
		o := *a.Owner
		f.Owner = &o
	}
	return f, nil
}

// TopKeys returns the n (1 to MaxTopKeys) keys of a keyspace the actor may
// read with the most verifications in r, most first (ties by ID), each
// with its totals by code, and the range aligned to whole buckets. Unlike
// Analytics grouped by key, its cost follows the range's usage, not the
// keyspace's number of keys.
func (s *Service) TopKeys(ctx context.Context, a *Actor, keyspace string, r UsageRange, n int) ([]UsageGroup, UsageRange, error) {
	if n < 1 || n > MaxTopKeys {
		return nil, r, invalidf("limit must be between 1 and %d", MaxTopKeys)
	}
	f, err := s.usageFilter(ctx, a, keyspace, &r)
	if err != nil {
		return nil, r, err
	}
	groups, err := s.store.TopKeysByUsage(ctx, f, n)
	if err != nil {
		return nil, r, storeErr(err, "top keys of keyspace %s", keyspace)
	}
	return groups, r, nil
}

// Analytics returns the verifications of the keys of a keyspace that the
// actor may read: a personal credential sees its own keys only.
func (s *Service) Analytics(ctx context.Context, a *Actor, q AnalyticsQuery) (*Analytics, error) {
	if !a.mayReadKeys() {
		return nil, s.deny(ctx, a, "analytics.read", "keyspace", q.Keyspace, ScopeKeysRead)
	}
	var err error
	if q.Limit, err = pageSize(q.Limit); err != nil {
		return nil, err
	}
	f, err := s.usageFilter(ctx, a, q.Keyspace, &q.UsageRange)
	if err != nil {
		return nil, err
	}
	out := &Analytics{UsageRange: q.UsageRange}
	switch q.GroupBy {
	case GroupByCode, "":
		if out.Buckets, err = s.store.UsageSeries(ctx, f); err != nil {
			return nil, storeErr(err, "usage of keyspace %s", q.Keyspace)
		}
		out.Groups = codeTotals(out.Buckets)
	case GroupByKey:
		if out.Groups, out.Next, err = s.store.UsageByKey(ctx, f, q.After, q.Limit); err != nil {
			return nil, storeErr(err, "usage by key of keyspace %s", q.Keyspace)
		}
	case GroupByOwner:
		if out.Groups, out.Next, err = s.store.UsageByOwner(ctx, f, q.After, q.Limit); err != nil {
			return nil, storeErr(err, "usage by owner of keyspace %s", q.Keyspace)
		}
	default:
		return nil, &Error{Kind: Invalid, Code: "bad_group_by", Msg: fmt.Sprintf("group_by must be \"key\", \"code\" or \"owner\", not %q", q.GroupBy)}
	}
	return out, nil
}

// codeTotals sums buckets into one group per code, ordered by code.
func codeTotals(bs []UsageBucket) []UsageGroup {
	sum := map[Code]int64{}
	for _, b := range bs {
		for c, n := range b.Counts {
			sum[c] += n
		}
	}
	codes := make([]Code, 0, len(sum))
	for c := range sum {
		codes = append(codes, c)
	}
	slices.SortFunc(codes, func(a, b Code) int { return strings.Compare(string(a), string(b)) })
	out := make([]UsageGroup, 0, len(codes))
	for _, c := range codes {
		out = append(out, UsageGroup{Code: c, Counts: map[Code]int64{c: sum[c]}})
	}
	return out
}

// PruneUsage folds the minute buckets past MinuteRetention into their
// hours and deletes the hour buckets past HourRetention; it returns how
// many rows it moved or deleted. Every node prunes every 10 minutes from
// Run; nodes pruning at once split the work.
func (s *Service) PruneUsage(ctx context.Context) (int64, error) {
	now := s.Now()
	n, err := s.store.PruneUsage(ctx, now.Add(-MinuteRetention), now.Add(-HourRetention))
	if err != nil {
		return n, storeErr(err, "prune usage")
	}
	return n, nil
}

// pruneUsageDue prunes if the last prune is pruneEvery ago.
func (s *Service) pruneUsageDue(ctx context.Context) {
	now := s.Now().Unix()
	last := s.lastPrune.Load()
	if now-last < int64(pruneEvery/time.Second) || !s.lastPrune.CompareAndSwap(last, now) {
		return
	}
	if _, err := s.PruneUsage(ctx); err != nil {
		s.log.Warn("usage prune failed; will retry", "err", err)
		s.lastPrune.CompareAndSwap(now, last)
	}
}
