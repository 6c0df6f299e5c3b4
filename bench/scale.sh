#!/usr/bin/env bash
# bench/scale.sh — latchkey with a million keys (`make bench-scale`).
#
#  1. Reference: a fresh store with 1,000 imported keys; verify each once
#     (fills the cache), then a sustained warm run.
#  2. A fresh store: import BENCH_KEYS (default 1,000,000) keys through
#     POST /v1/keys/import, 1000 a request (plaintexts in latchkey's own
#     format made by bench/cmd/seed; only their SHA-256 digests are sent).
#  3. SIGTERM, restart: cold start (process start → /readyz 200), resident
#     memory (VmRSS) after start; database size.
#  4. Cache-cold pass: each of BENCH_SAMPLE (10,000) random stored keys
#     verified once, for the first time since the restart; then a warm pass
#     over the same keys; then a sustained warm run, compared with step 1.
#  5. Memory bound: verify BENCH_FILL (120,000) more distinct keys once —
#     more than the cache holds (100,000) — and read VmRSS again.
#
# Single passes (each key exactly once) use `bench-seed load`, sustained runs
# wrk; the reference store stays up so that its sustained runs interleave
# with the large store's (BENCH_ROUNDS; medians reported).
#
# Report on stdout and in bench/out/scale-<date>.md. Environment:
# BENCH_KEYS, BENCH_SAMPLE, BENCH_FILL, BENCH_DURATION (10s), BENCH_ROUNDS
# (3), BENCH_CONNS (connections of the verify runs, 16), BENCH_THREADS (2),
# BENCH_PIN=0.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-16}
NKEYS=${BENCH_KEYS:-1000000}
SAMPLE=${BENCH_SAMPLE:-10000}
FILL=${BENCH_FILL:-120000}
SMALL=1000
ROUNDS=${BENCH_ROUNDS:-3}
((SAMPLE <= NKEYS)) || SAMPLE=$NKEYS
((SAMPLE + FILL <= NKEYS)) || FILL=$((NKEYS - SAMPLE))

need_wrk
build_all

TMP=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-scale.XXXXXX")
RESULTS=$TMP/results.txt
: >"$RESULTS"
LK_PID="" SMALL_PID=""
cleanup() {
	stop_pid "$LK_PID"
	stop_pid "$SMALL_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT_KEY=$(random_secret)
seed() { LATCHKEY_URL=$LK_URL LATCHKEY_TOKEN=$WRITE_TOKEN "$REPO_DIR/bin/bench-seed" "$@"; }

# setup_store DIR: start latchkey on DIR (sets LK_PID, LK_PORT, LK_URL),
# create the management keys (VERIFY_TOKEN, WRITE_TOKEN).
setup_store() {
	LK_PORT=$(free_port)
	LK_URL=http://127.0.0.1:$LK_PORT
	start_latchkey "$1" "$LK_PORT"
	wait_http "$LK_URL/readyz" 30
	VERIFY_TOKEN=$(api "$ROOT_KEY" POST /v1/keys '{"keyspace":"latchkey","name":"bench-verifier","scopes":["keys:verify"]}' | secret_of)
	WRITE_TOKEN=$(api "$ROOT_KEY" POST /v1/keys '{"keyspace":"latchkey","name":"bench-writer","scopes":["keys:write"]}' | secret_of)
	[[ -n "$VERIFY_TOKEN" && -n "$WRITE_TOKEN" ]] || die "could not create the management keys"
}

db_bytes() { du -cb "$1"/latchkey.db* | awk 'END { print $1 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
export BENCH_MODE=verify

# ---- 1. reference: 1,000 keys (stays up, idle, for the interleaved runs) ----
log "== reference store: $SMALL keys"
setup_store "$TMP/small"
SMALL_PID=$LK_PID SMALL_URL=$LK_URL SMALL_TOKEN=$VERIFY_TOKEN
seed import -n "$SMALL" -sample "$SMALL" -out "$TMP/small.txt" >/dev/null
BENCH_TOKEN=$SMALL_TOKEN run_once small-fill "$TMP/small.txt" "$CONNS"

# ---- 2. import ----
log "== large store: importing $NKEYS keys"
setup_store "$TMP/large"
seed import -n "$NKEYS" -sample "$((SAMPLE + FILL))" -c 2 -out "$TMP/all-sample.txt" >"$TMP/import.txt"
IMPORT_SECONDS=$(sed -n 's/.*import_seconds=\([0-9.]*\).*/\1/p' "$TMP/import.txt")
IMPORT_RATE=$(sed -n 's/.*import_rate=\([0-9.]*\).*/\1/p' "$TMP/import.txt")
head -n "$SAMPLE" "$TMP/all-sample.txt" >"$TMP/sample.txt"
tail -n +"$((SAMPLE + 1))" "$TMP/all-sample.txt" >"$TMP/fill.txt"
RSS_AFTER_IMPORT=$(rss_kib "$LK_PID")

# ---- 3. restart ----
t0=$(now_ns)
stop_pid "$LK_PID"
STOP_MS=$((($(now_ns) - t0) / 1000000))
LK_PID=""
DB_BYTES=$(db_bytes "$TMP/large")
log "== restart"
t0=$(now_ns)
start_latchkey "$TMP/large" "$LK_PORT"
wait_http "$LK_URL/readyz" 30
COLD_START_MS=$((($(now_ns) - t0) / 1000000))
RSS_START=$(rss_kib "$LK_PID")
log "  cold start ${COLD_START_MS} ms, VmRSS $(mib "$RSS_START"), database $((DB_BYTES / 1048576)) MiB"

# ---- 4. cold, warm ----
export BENCH_TOKEN=$VERIFY_TOKEN
run_once cold "$TMP/sample.txt" "$CONNS"
RSS_COLD=$(rss_kib "$LK_PID")
run_once warm "$TMP/sample.txt" "$CONNS"
RSS_WARM=$(rss_kib "$LK_PID")
# Sustained warm runs, the large and the reference store interleaved
# (medians reported): the same disturbances hit both.
LOAD_BEFORE=$(loadavg)
for r in $(seq "$ROUNDS"); do
	log " round $r"
	BENCH_KEYS_FILE=$TMP/sample.txt run_wrk large-warm "$LK_URL" "$CONNS"
	BENCH_TOKEN=$SMALL_TOKEN BENCH_KEYS_FILE=$TMP/small.txt run_wrk small-warm "$SMALL_URL" "$CONNS"
done
RSS_SUSTAINED=$(rss_kib "$LK_PID")
RSS_SMALL=$(rss_kib "$SMALL_PID")
stop_pid "$SMALL_PID"
SMALL_PID=""

# ---- 5. memory bound ----
RSS_FILL=""
if ((FILL > 0)); then
	run_once fill "$TMP/fill.txt" "$CONNS"
	RSS_FILL=$(rss_kib "$LK_PID")
fi
LOAD_AFTER=$(loadavg)
stop_pid "$LK_PID"
LK_PID=""

# ---- report ----
row() { # label name
	printf '| %s | %s | %.0f | %s | %s |\n' "$1" "$(result "$2" "$CONNS" requests median)" "$(result "$2" "$CONNS" rps median)" \
		"$(ms "$(result "$2" "$CONNS" p50 median)")" "$(ms "$(result "$2" "$CONNS" p99 median)")"
}
report() {
	echo "# latchkey scale benchmark, $(date -u +%Y-%m-%d)"
	echo
	machine_info
	echo "- keys: $NKEYS imported (1000 per request, 2 concurrent requests), scopes [orders:read], no owner"
	echo "- verify load: $CONNS connections; cold and warm passes send each of $SAMPLE random stored keys exactly once (bench-seed load, every answer checked VALID); sustained runs: wrk, medians of $ROUNDS rounds interleaved with the $SMALL-key store; 1-minute load average $LOAD_BEFORE before, $LOAD_AFTER after"
	echo
	echo "| measure | value |"
	echo "|---|---:|"
	printf '| import | %.1f s (%.0f keys/s) |\n' "$IMPORT_SECONDS" "$IMPORT_RATE"
	echo "| database size (latchkey.db*, after SIGTERM) | $((DB_BYTES / 1048576)) MiB |"
	echo "| graceful stop (SIGTERM → exit) | $STOP_MS ms |"
	echo "| cold start (process start → /readyz 200) | $COLD_START_MS ms |"
	echo "| VmRSS after import (before restart) | $(mib "$RSS_AFTER_IMPORT") |"
	echo "| VmRSS after restart | $(mib "$RSS_START") |"
	echo "| VmRSS after the cold pass ($SAMPLE keys) | $(mib "$RSS_COLD") |"
	echo "| VmRSS after the warm pass | $(mib "$RSS_WARM") |"
	echo "| VmRSS after the sustained warm run | $(mib "$RSS_SUSTAINED") |"
	[[ -z "$RSS_FILL" ]] || echo "| VmRSS after $((SAMPLE + FILL)) distinct keys verified (cache holds 100,000) | $(mib "$RSS_FILL") |"
	echo "| VmRSS, $SMALL-key store after its sustained warm runs | $(mib "$RSS_SMALL") |"
	echo
	echo "| verify phase | requests | req/s | p50 | p99 |"
	echo "|---|---:|---:|---:|---:|"
	row "$NKEYS keys, cache cold (each key's first verification)" cold
	row "$NKEYS keys, warm pass (same keys again)" warm
	row "$NKEYS keys, sustained warm ($DURATION)" large-warm
	row "$SMALL keys, sustained warm ($DURATION), reference" small-warm
	[[ "$FILL" == 0 ]] || row "$NKEYS keys, $FILL more distinct keys once (cache eviction)" fill
	echo
	local r50 r99 rr
	r50=$(ratio "$(result large-warm "$CONNS" p50 median)" "$(result small-warm "$CONNS" p50 median)")
	r99=$(ratio "$(result large-warm "$CONNS" p99 median)" "$(result small-warm "$CONNS" p99 median)")
	rr=$(paired_ratio large-warm small-warm "$CONNS")
	echo "Warm verification, $NKEYS keys ÷ $SMALL keys (medians of $ROUNDS interleaved rounds): p50 × $r50, p99 × $r99, req/s × $rr (per round: $(paired_list large-warm small-warm "$CONNS"))."
	echo
	echo "Targets:"
	if ((COLD_START_MS < 2000)); then echo "- [x] cold start < 2 s: $COLD_START_MS ms"; else echo "- [ ] cold start < 2 s: $COLD_START_MS ms — **missed**"; fi
	local unchanged
	unchanged=$(awk -v a="$r50" -v b="$rr" 'BEGIN { print (a <= 1.10 && b >= 0.90) }')
	if [[ "$unchanged" == 1 ]]; then echo "- [x] warm verify latency unchanged from $SMALL keys (within 10 %)"; else echo "- [ ] warm verify latency unchanged from $SMALL keys (within 10 %) — **missed**"; fi
	echo "- memory bounded by the cache: compare the VmRSS rows (after restart vs. $SMALL-key store; after $((SAMPLE + FILL)) distinct keys)"
}

mkdir -p "$BENCH_DIR/out"
OUT="$BENCH_DIR/out/scale-$(date -u +%Y%m%d-%H%M%S).md"
report | tee "$OUT"
log "report written to ${OUT#"$REPO_DIR"/}"
