#!/usr/bin/env bash
# bench/profile.sh — CPU profiles of latchkey under load (`bash bench/profile.sh`).
#
# latchkey exposes no pprof, so this runs bench/cmd/pprofserve: the real
# server package plus net/http/pprof on a second loopback port. Loads it
# with wrk (as bench/http.sh does) and takes a CPU profile of
#   verify  POST /v1/keys/verify, 64 connections, 1000 cached keys
#   create  POST /v1/keys, 16 connections (durable SQLite)
#   oauth_cc   POST /oauth2/token, client_credentials, 64 connections
#   introspect POST /oauth2/introspect of an opaque token, 64 connections
# then prints `go tool pprof -top` of each. The profiles stay in
# bench/out/profile-<scenario>.pprof (binary bin/bench-pprofserve).
#
# Environment: BENCH_DURATION (10s), BENCH_THREADS (2), BENCH_PIN=0.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
SECONDS_PROF=${DURATION%s}

need_wrk
build_all

TMP=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-profile.XXXXXX")
RESULTS=$TMP/results.txt
: >"$RESULTS"
LK_PID=""
cleanup() {
	stop_pid "$LK_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT_KEY=$(random_secret)
LK_PORT=$(free_port)
PPROF_PORT=$(free_port)
LK_URL=http://127.0.0.1:$LK_PORT
LATCHKEY_ROOT_KEY=$ROOT_KEY "${SERVER_PIN[@]}" "$REPO_DIR/bin/bench-pprofserve" \
	-addr "127.0.0.1:$LK_PORT" -pprof "127.0.0.1:$PPROF_PORT" -data-dir "$TMP/data" 2>"$TMP/server.log" &
LK_PID=$!
wait_http "$LK_URL/healthz" 30
prepare_verify_store 1000

mkdir -p "$BENCH_DIR/out"
# profile NAME CONNS: wrk and a CPU profile over the same $DURATION.
profile() {
	local name=$1 conns=$2 prof="$BENCH_DIR/out/profile-$1.pprof"
	curl -fsS -o "$prof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$SECONDS_PROF" &
	local curl_pid=$!
	run_wrk "$name" "$LK_URL" "$conns"
	wait "$curl_pid"
	echo
	echo "## $name, $conns connections: $(printf '%.0f' "$(result "$name" "$conns" rps)") req/s"
	echo
	echo '```'
	go tool pprof -top -nodecount 30 "$REPO_DIR/bin/bench-pprofserve" "$prof" 2>/dev/null | sed -n '4,40p'
	echo
	go tool pprof -top -cum -nodecount 40 "$REPO_DIR/bin/bench-pprofserve" "$prof" 2>/dev/null | sed -n '6,50p'
	echo '```'
}

BENCH_MODE=verify BENCH_TOKEN=$VERIFY_TOKEN BENCH_KEYS_FILE=$KEYS_FILE DURATION=2s run_wrk warmup "$LK_URL" 64
BENCH_MODE=verify BENCH_TOKEN=$VERIFY_TOKEN BENCH_KEYS_FILE=$KEYS_FILE profile verify 64
BENCH_MODE=create BENCH_TOKEN=$WRITE_TOKEN profile create 16
cc_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-cc","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"]}}' |
	sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
rs_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-rs","oauth":{"grant_types":["client_credentials"],"audiences":["https://bench.example"]}}' |
	sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
op_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-op","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],"audiences":["https://bench.example"],"access_token_format":"opaque"}}' |
	sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
[[ -n "$cc_secret" && -n "$rs_secret" && -n "$op_secret" ]] || die "cannot create the OAuth clients"
OPAQUE_TOKEN=$(curl -fsS -u "bench-op:$op_secret" -d grant_type=client_credentials "$LK_URL/oauth2/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
BENCH_MODE=cc BENCH_BASIC=$(printf 'bench-cc:%s' "$cc_secret" | base64 -w0) profile oauth_cc 64
BENCH_MODE=introspect BENCH_BASIC=$(printf 'bench-rs:%s' "$rs_secret" | base64 -w0) BENCH_INTROSPECT_TOKEN=$OPAQUE_TOKEN profile introspect 64
