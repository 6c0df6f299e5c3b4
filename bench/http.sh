#!/usr/bin/env bash
# bench/http.sh — latchkey over HTTP against a bare Go net/http baseline, in
# one run on one machine (`make bench-http`).
#
# Starts latchkey (temporary data dir, random root key, free loopback port),
# creates a keys:verify management key and 1000 keys, then loads with wrk:
#   verify    POST /v1/keys/verify, bodies cycling over the 1000 keys
#   baseline  bench/baseline: the same requests, a fixed body of the same size
#   healthz   GET /healthz on latchkey (reference: routing + middleware only)
#   tokens    POST /v1/tokens: one of the keys exchanged for an EdDSA JWT
#   oauth_cc  POST /oauth2/token: client_credentials, HTTP Basic, an EdDSA JWT
#   introspect POST /oauth2/introspect of an active opaque token, HTTP Basic
#   create    POST /v1/keys (durable SQLite commit per key)
# and prints req/s, p50, p99 and the ratio to the baseline at the same
# connections. The report also goes to bench/out/http-<date>.md.
#
# All scenarios run BENCH_ROUNDS times, interleaved; the report gives the
# median over the rounds, and each ratio is the median of per-round ratios
# (latchkey against the baseline run seconds before or after it), which keeps
# ratios meaningful on a machine other processes share.
#
# Environment: BENCH_DURATION (default 10s), BENCH_CONNS (default "16 64"),
# BENCH_ROUNDS (default 3), BENCH_THREADS (default 2), BENCH_KEYS (default
# 1000), BENCH_PIN=0 to not pin.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-16 64}
NKEYS=${BENCH_KEYS:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
CREATE_CONNS=16

need_wrk
build_all

TMP=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-bench.XXXXXX")
RESULTS=$TMP/results.txt
: >"$RESULTS"
LK_PID="" BASE_PID=""
cleanup() {
	stop_pid "$LK_PID"
	stop_pid "$BASE_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT_KEY=$(random_secret)
LK_PORT=$(free_port)
LK_URL=http://127.0.0.1:$LK_PORT
start_latchkey "$TMP/data" "$LK_PORT"
wait_http "$LK_URL/healthz" 30
log "latchkey pid $LK_PID on $LK_URL ($PIN_DESC)"

# A user owns the keys, so each verification also checks the owner and
# intersects scopes, and the answer carries owner, expiry and metadata.
prepare_verify_store "$NKEYS"

# The baseline answers with the very bytes latchkey answers for a key.
first_key=$(head -1 "$KEYS_FILE")
api "$VERIFY_TOKEN" POST /v1/keys/verify "{\"key\":\"$first_key\",\"scopes\":[\"orders:read\"]}" >"$TMP/body.json"
grep -q '"code":"VALID"' "$TMP/body.json" || die "the first key does not verify VALID"
api "$first_key" POST /v1/tokens '{}' | grep -q '"access_token"' || die "the first key cannot be exchanged for a JWT"
# An OAuth client for the client_credentials scenario.
cc_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-cc","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"]}}' |
	sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
[[ -n "$cc_secret" ]] || die "cannot create the OAuth client of the cc scenario"
CC_BASIC=$(printf 'bench-cc:%s' "$cc_secret" | base64 -w0)
curl -fsS -H "Authorization: Basic $CC_BASIC" -d grant_type=client_credentials "$LK_URL/oauth2/token" | grep -q '"access_token"' ||
	die "client_credentials does not issue a token"
# A resource server that introspects, and an opaque token for it.
rs_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-rs","oauth":{"grant_types":["client_credentials"],"audiences":["https://bench.example"]}}' |
	sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
op_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-op","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],"audiences":["https://bench.example"],"access_token_format":"opaque"}}' |
	sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
[[ -n "$rs_secret" && -n "$op_secret" ]] || die "cannot create the OAuth clients of the introspect scenario"
RS_BASIC=$(printf 'bench-rs:%s' "$rs_secret" | base64 -w0)
OPAQUE_TOKEN=$(curl -fsS -u "bench-op:$op_secret" -d grant_type=client_credentials "$LK_URL/oauth2/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
curl -fsS -H "Authorization: Basic $RS_BASIC" -d "token=$OPAQUE_TOKEN" "$LK_URL/oauth2/introspect" | grep -q '"active":true' ||
	die "the opaque token does not introspect as active"
BODY_BYTES=$(wc -c <"$TMP/body.json")
BASE_PORT=$(free_port)
BASE_URL=http://127.0.0.1:$BASE_PORT
"${SERVER_PIN[@]}" "$REPO_DIR/bin/bench-baseline" -addr "127.0.0.1:$BASE_PORT" -body "$TMP/body.json" &
BASE_PID=$!
wait_http "$BASE_URL/" 30
log "baseline pid $BASE_PID on $BASE_URL, body $BODY_BYTES bytes"

export BENCH_MODE=verify BENCH_TOKEN=$VERIFY_TOKEN BENCH_KEYS_FILE=$KEYS_FILE
# Warm both servers up (connection setup, GC pacing) before timing.
DURATION=2s run_wrk warmup-latchkey "$LK_URL" 64 && DURATION=2s run_wrk warmup-baseline "$BASE_URL" 64

LOAD_BEFORE=$(loadavg)
valid_before=$(metric 'latchkey_verifications_total{code="VALID"}')
log "running $ROUNDS rounds of: verify, baseline, healthz, tokens at connections $CONNS, create at $CREATE_CONNS; $DURATION each (load average $LOAD_BEFORE)"
for r in $(seq "$ROUNDS"); do
	log " round $r"
	for c in $CONNS; do
		run_wrk verify "$LK_URL" "$c"
		run_wrk baseline "$BASE_URL" "$c"
		BENCH_MODE="get" run_wrk healthz "$LK_URL/healthz" "$c"
		BENCH_MODE=tokens BENCH_TOKEN=$first_key run_wrk tokens "$LK_URL" "$c"
		BENCH_MODE=cc BENCH_BASIC=$CC_BASIC run_wrk oauth_cc "$LK_URL" "$c"
		BENCH_MODE=introspect BENCH_BASIC=$RS_BASIC BENCH_INTROSPECT_TOKEN=$OPAQUE_TOKEN run_wrk introspect "$LK_URL" "$c"
	done
	BENCH_MODE=create BENCH_TOKEN=$WRITE_TOKEN run_wrk create "$LK_URL" "$CREATE_CONNS"
done
LOAD_AFTER=$(loadavg)
valid_after=$(metric 'latchkey_verifications_total{code="VALID"}')
# Each exchange is one verification too (a dry run, counted once).
verify_requests=$(awk '$1 == "verify" || $1 == "tokens" { s += $8 } END { print s + 0 }' "$RESULTS")
# wrk counts completed responses; the server may have answered a few more
# that wrk cut off at the end of each run.
valid_delta=$(awk -v a="$valid_after" -v b="$valid_before" 'BEGIN { printf "%d", a - b }')
if ((valid_delta < verify_requests)); then
	die "only $valid_delta VALID verifications for $verify_requests wrk requests: the load is not what it seems"
fi
stop_pid "$BASE_PID"
BASE_PID=""

# ---- report ----
target() { # description, met (0/1)
	if [[ "$2" == 1 ]]; then echo "- [x] $1"; else echo "- [ ] $1 — **missed**"; fi
}
report() {
	echo "# latchkey HTTP benchmark, $(date -u +%Y-%m-%d)"
	echo
	machine_info
	echo "- keys: $NKEYS, owned by a user, scopes [orders:read], 720h expiry, metadata; verify answer $BODY_BYTES bytes (the baseline sends the same bytes)"
	echo "- $ROUNDS rounds, each: verify, baseline, healthz, tokens at each connection count, then create; figures are medians over the rounds, the ratio is the median of the per-round ratios (each latchkey run against the baseline run seconds apart); 1-minute load average $LOAD_BEFORE before, $LOAD_AFTER after (other processes share the machine)"
	echo "- VALID verifications counted by latchkey's /metrics during the verify and tokens runs: $valid_delta (wrk completed $verify_requests)"
	echo
	echo "| scenario | connections | req/s | p50 | p99 | ratio to baseline | per round | best round req/s |"
	echo "|---|---:|---:|---:|---:|---:|---|---:|"
	local name c
	{
		for c in $CONNS; do echo "baseline $c"; done
		for c in $CONNS; do echo "verify $c"; done
		for c in $CONNS; do echo "healthz $c"; done
		for c in $CONNS; do echo "tokens $c"; done
		for c in $CONNS; do echo "oauth_cc $c"; done
		for c in $CONNS; do echo "introspect $c"; done
		echo "create $CREATE_CONNS"
	} | while read -r name c; do
		printf '| %s | %s | %.0f | %s | %s | %s | %s | %.0f |\n' "$name" "$c" "$(result "$name" "$c" rps median)" \
			"$(ms "$(result "$name" "$c" p50 median)")" "$(ms "$(result "$name" "$c" p99 median)")" \
			"$(paired_ratio "$name" baseline "$c")" "$(paired_list "$name" baseline "$c")" "$(result "$name" "$c" rps best)"
	done
	echo
	echo "Targets:"
	local r64 p99_16 crt
	r64=$(paired_ratio verify baseline 64)
	p99_16=$(result verify 16 p99 median)
	crt=$(result create "$CREATE_CONNS" rps median)
	local t64 cc64 in64
	t64=$(paired_ratio tokens baseline 64)
	cc64=$(paired_ratio oauth_cc baseline 64)
	in64=$(paired_ratio introspect baseline 64)
	target "verify ≥ 0.75 × baseline req/s at 64 connections (SPEC §6): $r64" "$(awk -v r="$r64" 'BEGIN { print (r + 0 >= 0.75) }')"
	target "JWT issuance (POST /v1/tokens) ≥ 0.25 × baseline req/s at 64 connections (SPEC §6): $t64" "$(awk -v r="$t64" 'BEGIN { print (r + 0 >= 0.25) }')"
	target "OAuth client_credentials (POST /oauth2/token, JWT) ≥ 0.30 × baseline req/s at 64 connections (issue 14): $cc64" "$(awk -v r="$cc64" 'BEGIN { print (r + 0 >= 0.30) }')"
	target "introspection of an active opaque token ≥ 0.60 × baseline req/s at 64 connections (SPEC §6): $in64" "$(awk -v r="$in64" 'BEGIN { print (r + 0 >= 0.60) }')"
	target "verify p99 < 5 ms at 16 connections: $(ms "${p99_16:-0}") (best round: $(ms "$(result verify 16 p99 best)"); baseline: $(ms "$(result baseline 16 p99 median)"))" "$(awk -v p="${p99_16:-1e9}" 'BEGIN { print (p < 5000) }')"
	target "key creation ≥ 1000/s (durable SQLite, $CREATE_CONNS connections): $(printf '%.0f' "$crt")/s" "$(awk -v r="$crt" 'BEGIN { print (r >= 1000) }')"
}

mkdir -p "$BENCH_DIR/out"
OUT="$BENCH_DIR/out/http-$(date -u +%Y%m%d-%H%M%S).md"
report | tee "$OUT"
log "report written to ${OUT#"$REPO_DIR"/}"
