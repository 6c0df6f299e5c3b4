#!/usr/bin/env bash
# bench/instr-http.sh — user-space instructions per request over HTTP
# (`make bench-instr-http`): SPEC §6's "at most 2× the bare net/http
# baseline's instructions per request" for POST /v1/keys/verify, measured
# on the real servers, loopback sockets and all.
#
# latchkey and bench/baseline (answering latchkey's exact verify answer)
# each run under valgrind's callgrind. After a warm-up the counters are
# zeroed (callgrind_control -z), wrk sends verify requests for
# BENCH_DURATION, the counters are dumped (callgrind_control -d), and the
# instructions of every thread of the process are divided by the requests
# wrk completed. Callgrind counts instructions, not time, so the figure does
# not drift with the machine's load; what runs beside the requests (GC, the
# usage flush every 5 s) is counted as part of their cost, as it is in
# production. Installs valgrind and wrk when missing.
#
# Environment: BENCH_DURATION (default 8s), BENCH_CONNS (default 8),
# BENCH_OAUTH=1 to measure POST /oauth2/token (client_credentials) and
# POST /oauth2/introspect (an opaque token) too, against the same baseline.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

DURATION=${BENCH_DURATION:-8s}
CONNS=${BENCH_CONNS:-8}
THREADS=1
BENCH_PIN=0

if ! command -v valgrind >/dev/null; then
	log "instr-http: installing valgrind"
	if [[ $(id -u) == 0 ]]; then apt-get install -y valgrind >&2; else sudo apt-get install -y valgrind >&2; fi
fi
need_wrk
build_all

TMP=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-instr-http.XXXXXX")
LK_PID="" BASE_PID=""
cleanup() {
	stop_pid "$LK_PID"
	stop_pid "$BASE_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Go preempts goroutines with signals, which callgrind cannot follow.
export GODEBUG=asyncpreemptoff=1
CG=(valgrind --tool=callgrind --instr-atstart=yes)

ROOT_KEY=$(random_secret)
LK_PORT=$(free_port)
LK_URL=http://127.0.0.1:$LK_PORT
mkdir -p "$TMP/data"
LATCHKEY_ROOT_KEY="$ROOT_KEY" LATCHKEY_LOG_LEVEL=warn GOMAXPROCS=2 \
	"${CG[@]}" --callgrind-out-file="$TMP/cg.latchkey" \
	"$REPO_DIR/bin/latchkey" serve --addr "127.0.0.1:$LK_PORT" --data-dir "$TMP/data" >>"$TMP/latchkey.log" 2>&1 &
LK_PID=$!
wait_http "$LK_URL/healthz" 180
prepare_verify_store 100
first_key=$(head -1 "$KEYS_FILE")
api "$VERIFY_TOKEN" POST /v1/keys/verify "{\"key\":\"$first_key\",\"scopes\":[\"orders:read\"]}" >"$TMP/body.json"
grep -q '"code":"VALID"' "$TMP/body.json" || die "the first key does not verify VALID"

BASE_PORT=$(free_port)
BASE_URL=http://127.0.0.1:$BASE_PORT
GOMAXPROCS=2 "${CG[@]}" --callgrind-out-file="$TMP/cg.baseline" \
	"$REPO_DIR/bin/bench-baseline" -addr "127.0.0.1:$BASE_PORT" -body "$TMP/body.json" >>"$TMP/baseline.log" 2>&1 &
BASE_PID=$!
wait_http "$BASE_URL/" 180

export BENCH_MODE=verify BENCH_TOKEN=$VERIFY_TOKEN BENCH_KEYS_FILE=$KEYS_FILE

# measure NAME PID URL: instructions per request of the server at PID.
measure() {
	local name=$1 pid=$2 url=$3 out=$TMP/wrk-$1.txt
	wrk -t 1 -c "$CONNS" -d 3s -s "$BENCH_DIR/wrk.lua" "$url" >/dev/null 2>&1 # warm-up
	callgrind_control -z "$pid" >/dev/null
	wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" -s "$BENCH_DIR/wrk.lua" "$url" >"$out" 2>&1
	callgrind_control -d "$pid" >/dev/null
	sleep 1
	local n instr
	n=$(awk '/requests in/ { print $1 }' "$out")
	# Every dump of every thread since the zeroing: the last dump's files.
	instr=$(for f in "$TMP"/cg."$name"*; do
		awk '/^(summary|totals):/ { print $2; exit }' "$f"
	done | awk '{ s += $1 } END { printf "%.0f", s }')
	[[ -n "$n" && "$n" -gt 0 ]] || die "wrk completed no request against $name"
	echo "$name $n $instr"
}
rm -f "$TMP"/cg.latchkey* "$TMP"/cg.baseline*
lk=$(measure latchkey "$LK_PID" "$LK_URL")
rm -f "$TMP"/cg.latchkey.* 2>/dev/null || true
base=$(measure baseline "$BASE_PID" "$BASE_URL")
read -r _ lkn lki <<<"$lk"
read -r _ bn bi <<<"$base"
rows=("latchkey POST /v1/keys/verify $lkn $lki")

# BENCH_OAUTH=1 adds the OAuth scenarios of bench/http.sh: client_credentials
# (HTTP Basic, an EdDSA at+jwt) and introspection of an active opaque token.
if [[ "${BENCH_OAUTH:-0}" == 1 ]]; then
	cc_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-cc","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"]}}' |
		sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
	rs_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-rs","oauth":{"grant_types":["client_credentials"],"audiences":["https://bench.example"]}}' |
		sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
	op_secret=$(api "$ROOT_KEY" POST /v1/apps '{"id":"bench-op","permissions":["orders:read"],"oauth":{"grant_types":["client_credentials"],"audiences":["https://bench.example"],"access_token_format":"opaque"}}' |
		sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
	[[ -n "$cc_secret" && -n "$rs_secret" && -n "$op_secret" ]] || die "cannot create the OAuth clients"
	CC_BASIC=$(printf 'bench-cc:%s' "$cc_secret" | base64 -w0)
	RS_BASIC=$(printf 'bench-rs:%s' "$rs_secret" | base64 -w0)
	curl -fsS -H "Authorization: Basic $CC_BASIC" -d grant_type=client_credentials "$LK_URL/oauth2/token" | grep -q '"access_token"' ||
		die "client_credentials does not issue a token"
	OPAQUE_TOKEN=$(curl -fsS -u "bench-op:$op_secret" -d grant_type=client_credentials "$LK_URL/oauth2/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
	curl -fsS -H "Authorization: Basic $RS_BASIC" -d "token=$OPAQUE_TOKEN" "$LK_URL/oauth2/introspect" | grep -q '"active":true' ||
		die "the opaque token does not introspect as active"
	rm -f "$TMP"/cg.latchkey.* 2>/dev/null || true
	read -r _ n i <<<"$(BENCH_MODE=cc BENCH_BASIC=$CC_BASIC measure latchkey "$LK_PID" "$LK_URL")"
	rows+=("latchkey POST /oauth2/token (client_credentials) $n $i")
	rm -f "$TMP"/cg.latchkey.* 2>/dev/null || true
	read -r _ n i <<<"$(BENCH_MODE=introspect BENCH_BASIC=$RS_BASIC BENCH_INTROSPECT_TOKEN=$OPAQUE_TOKEN measure latchkey "$LK_PID" "$LK_URL")"
	rows+=("latchkey POST /oauth2/introspect (opaque) $n $i")
fi
echo "# latchkey instructions per request over HTTP (callgrind, $(git -C "$REPO_DIR" rev-parse --short HEAD), $(date -u +%Y-%m-%d))"
printf '| server | requests | instructions/request | ratio |\n|---|---:|---:|---:|\n'
awk -v bn="$bn" -v bi="$bi" 'BEGIN { printf "| baseline (net/http, fixed body) | %d | %.0f | 1.00 |\n", bn, bi / bn }'
for row in "${rows[@]}"; do
	awk -v bn="$bn" -v bi="$bi" '{ li = $NF; ln = $(NF-1); $NF = ""; $(NF-1) = ""; sub(/ +$/, "")
		printf "| %s | %d | %.0f | %.2f |\n", $0, ln, li / ln, (li / ln) / (bi / bn) }' <<<"$row"
done
