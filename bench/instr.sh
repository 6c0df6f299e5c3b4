#!/usr/bin/env bash
# bench/instr.sh — user-space instructions per request (`make bench-instr`),
# counted by valgrind's callgrind, which does not drift with the machine's
# load the way req/s does.
#
# Builds the httpapi test binary and runs BenchmarkVerifyHandler's
# sub-benchmarks (POST /v1/keys/verify through the full handler:
# authentication, decoding, verification, metrics, rendering; POST
# /v1/tokens, the JWT exchange with an EdDSA signature; and a handler
# answering a fixed body through the same harness) under callgrind twice, with N1 and N2 iterations; the difference
# of the totals divided by N2−N1 is the cost of one request with setup
# (store, keys, process start) cancelled out. GOGC=off keeps the count
# repeatable (garbage collection falls at different points in each run);
# allocations still count, their later collection does not. Installs valgrind with
# apt-get when it is missing.
#
# Environment: INSTR_N1 (default 1000), INSTR_N2 (default 6000).
set -euo pipefail
cd "$(dirname "$0")/.."
N1=${INSTR_N1:-1000}
N2=${INSTR_N2:-6000}

if ! command -v valgrind >/dev/null; then
	echo "instr: installing valgrind" >&2
	if [[ $(id -u) == 0 ]]; then apt-get install -y valgrind >&2; else sudo apt-get install -y valgrind >&2; fi
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-instr.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
CGO_ENABLED=0 go test -c -o "$TMP/httpapi.test" ./httpapi

# instr BENCH N: total instructions of one run of BENCH with N iterations.
instr() {
	local out=$TMP/cg.$1.$2
	(cd "$TMP" && GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
		./httpapi.test -test.run '^$' -test.bench "^BenchmarkVerifyHandler/$1\$" -test.benchtime "${2}x" >/dev/null 2>"$out.log") ||
		{ cat "$out.log" >&2; exit 1; }
	local n
	n=$(awk '/^(summary|totals):/ { print $2; exit }' "$out" 2>/dev/null || true)
	if [[ -z "$n" ]]; then
		tail -20 "$out.log" >&2
		echo "instr: callgrind gave no total for $1" >&2
		return 1
	fi
	echo "$n"
}
per_request() {
	local a b
	a=$(instr "$1" "$N1")
	b=$(instr "$1" "$N2")
	awk -v a="$a" -v b="$b" -v n="$((N2 - N1))" 'BEGIN { printf "%.0f", (b - a) / n }'
}
base=$(per_request baseline_fixed_body) || exit 1
verify=$(per_request verify) || exit 1
tokens=$(per_request tokens) || exit 1
echo "# latchkey instructions per request (callgrind, $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d))"
echo
echo "| handler | instructions/request | ratio to baseline |"
echo "|---|---:|---:|"
printf '| baseline (fixed body, same harness) | %s | 1.00 |\n' "$base"
printf '| POST /v1/keys/verify | %s | %.2f |\n' "$verify" "$(awk -v a="$verify" -v b="$base" 'BEGIN { print a / b }')"
printf '| POST /v1/tokens (EdDSA) | %s | %.2f |\n' "$tokens" "$(awk -v a="$tokens" -v b="$base" 'BEGIN { print a / b }')"
