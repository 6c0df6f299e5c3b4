#!/usr/bin/env bash
# bench/proxy.sh — the gateway's latency overhead: the same GET straight to
# an upstream and through the gateway, in one run on one machine.
#
# Starts bench/baseline as the upstream (a bare net/http handler with a
# fixed 200 body) and bench/proxybench in front of it (package proxy with a
# verifier that accepts every credential, one scoped route with a rate
# limit, a JSON access log to io.Discard), then loads both with wrk, the
# same bearer header on every request:
#   direct   GET / on the upstream
#   gateway  GET / through the gateway
# and prints req/s, p50 and p99 of each and the gateway's overhead: the
# median over rounds of (gateway p50 − direct p50) measured seconds apart.
# The target (docs/SPEC §6) is ≤ 150 µs at the median, read at the lowest
# connection count, where latency is not queueing. The report also goes to
# bench/out/proxy-<date>.md.
#
# Environment: BENCH_DURATION (default 10s), BENCH_CONNS (default "1 16 64"),
# BENCH_ROUNDS (default 3), BENCH_THREADS (default 1 at one connection,
# else 2), BENCH_PIN=0 to not pin (pinned, upstream and gateway share the
# server CPUs, wrk has the others).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNS:-1 16 64}
ROUNDS=${BENCH_ROUNDS:-3}

need_wrk
log "building bin/bench-baseline and bin/bench-proxybench"
(cd "$REPO_DIR" &&
	go build -trimpath -o bin/bench-baseline ./bench/baseline &&
	go build -trimpath -o bin/bench-proxybench ./bench/proxybench) || die "build failed"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-bench.XXXXXX")
RESULTS=$TMP/results.txt
: >"$RESULTS"
UP_PID="" GW_PID="" BARE_PID=""
cleanup() {
	stop_pid "$BARE_PID"
	stop_pid "$GW_PID"
	stop_pid "$UP_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Any credential passes the benchmark's verifier; it is sent to both sides
# so that the requests are byte for byte the same.
export BENCH_MODE=get BENCH_TOKEN=lk_bench_$(random_secret)
printf 'Authorization: Bearer %s\n' "$BENCH_TOKEN" >"$TMP/auth.hdr"

UP_PORT=$(free_port)
UP_URL=http://127.0.0.1:$UP_PORT
"${SERVER_PIN[@]}" "$REPO_DIR/bin/bench-baseline" -addr "127.0.0.1:$UP_PORT" &
UP_PID=$!
wait_http "$UP_URL/" 30
GW_PORT=$(free_port)
GW_URL=http://127.0.0.1:$GW_PORT
"${SERVER_PIN[@]}" "$REPO_DIR/bin/bench-proxybench" -addr "127.0.0.1:$GW_PORT" -upstream "$UP_URL" &
GW_PID=$!
BARE_PORT=$(free_port)
BARE_URL=http://127.0.0.1:$BARE_PORT
"${SERVER_PIN[@]}" "$REPO_DIR/bin/bench-proxybench" -bare -addr "127.0.0.1:$BARE_PORT" -upstream "$UP_URL" &
BARE_PID=$!
wait_http "$BARE_URL/" 30
deadline=$((SECONDS + 30))
until curl -fsS -o /dev/null -H "@$TMP/auth.hdr" "$GW_URL/" 2>/dev/null; do
	((SECONDS < deadline)) || die "the gateway did not answer 200 in time"
	sleep 0.02
done
curl -fsS -o /dev/null "$GW_URL/" 2>/dev/null && die "the gateway let a request without credential through"
log "upstream pid $UP_PID on $UP_URL, gateway pid $GW_PID on $GW_URL ($PIN_DESC)"

threads_for() { if [[ -n "${BENCH_THREADS:-}" ]]; then echo "$BENCH_THREADS"; elif (($1 == 1)); then echo 1; else echo 2; fi; }

DURATION=2s THREADS=2 run_wrk warmup-gateway "$GW_URL/" 64 && DURATION=2s THREADS=2 run_wrk warmup-direct "$UP_URL/" 64

LOAD_BEFORE=$(loadavg)
log "running $ROUNDS rounds of: direct, gateway at connections $CONNS; $DURATION each (load average $LOAD_BEFORE)"
for r in $(seq "$ROUNDS"); do
	log " round $r"
	for c in $CONNS; do
		THREADS=$(threads_for "$c") run_wrk direct "$UP_URL/" "$c"
		THREADS=$(threads_for "$c") run_wrk bare-proxy "$BARE_URL/" "$c"
		THREADS=$(threads_for "$c") run_wrk gateway "$GW_URL/" "$c"
	done
done
LOAD_AFTER=$(loadavg)

# paired_diff NAME BASE CONNS FIELD: the median over rounds of NAME's FIELD
# (p50 or p99, µs) minus BASE's in the same round.
paired_diff() {
	local col
	case $4 in p50) col=4 ;; p99) col=5 ;; *) die "paired_diff: $4" ;; esac
	awk -v n="$1" -v base="$2" -v c="$3" -v i="$col" '
		$2 == c && $1 == n { x[++a] = $i }
		$2 == c && $1 == base { y[++b] = $i }
		END {
			k = (a < b) ? a : b
			if (!k) { print ""; exit }
			for (j = 1; j <= k; j++) d[j] = x[j] - y[j]
			for (p = 1; p <= k; p++) for (q = p + 1; q <= k; q++) if (d[q] < d[p]) { t = d[p]; d[p] = d[q]; d[q] = t }
			print (k % 2) ? d[(k + 1) / 2] : (d[k / 2] + d[k / 2 + 1]) / 2
		}' "$RESULTS"
}
us() { awk -v u="$1" 'BEGIN { printf "%.0f µs", u }'; }

report() {
	THREADS="1-2" machine_info
	echo "- upstream: bench/baseline (fixed 200 body); gateway: bench/proxybench (package proxy, accept-all verifier, scoped route with a rate limit, JSON access log to io.Discard); the same bearer header on every request"
	echo "- $ROUNDS rounds, each: direct then gateway at each connection count; figures are medians over the rounds, the overhead is the median of per-round differences (each gateway run against the direct run seconds before it); 1-minute load average $LOAD_BEFORE before, $LOAD_AFTER after"
	echo
	echo "| connections | direct req/s | bare proxy req/s | gateway req/s | direct p50 | bare proxy p50 | gateway p50 | p50 overhead | of which the hop (bare proxy) | of which latchkey | direct p99 | gateway p99 | p99 overhead |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	local c
	for c in $CONNS; do
		printf '| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" \
			"$(result direct "$c" rps median)" "$(result bare-proxy "$c" rps median)" "$(result gateway "$c" rps median)" \
			"$(ms "$(result direct "$c" p50 median)")" "$(ms "$(result bare-proxy "$c" p50 median)")" "$(ms "$(result gateway "$c" p50 median)")" \
			"$(us "$(paired_diff gateway direct "$c" p50)")" "$(us "$(paired_diff bare-proxy direct "$c" p50)")" "$(us "$(paired_diff gateway bare-proxy "$c" p50)")" \
			"$(ms "$(result direct "$c" p99 median)")" "$(ms "$(result gateway "$c" p99 median)")" "$(us "$(paired_diff gateway direct "$c" p99)")"
	done
	echo
	local c0 d
	c0=$(awk '{ print $1 }' <<<"$CONNS")
	d=$(paired_diff gateway direct "$c0" p50)
	echo "Targets:"
	if awk -v d="$d" 'BEGIN { exit !(d <= 150) }'; then
		echo "- [x] the gateway adds ≤ 150 µs at the median ($c0 connection(s)): $(us "$d")"
	else
		echo "- [ ] the gateway adds ≤ 150 µs at the median ($c0 connection(s)): $(us "$d") — **missed**"
	fi
	echo "- latchkey's own share (gateway − bare reverse proxy, $c0 connection(s)): $(us "$(paired_diff gateway bare-proxy "$c0" p50)")"
}

mkdir -p "$BENCH_DIR/out"
OUT="$BENCH_DIR/out/proxy-$(date -u +%Y%m%d-%H%M%S).md"
{
	echo "# latchkey gateway benchmark, $(date -u +%Y-%m-%d)"
	echo
	report
} | tee "$OUT"
log "report written to ${OUT#"$REPO_DIR"/}"
