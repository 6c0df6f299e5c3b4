# shellcheck shell=bash
# Shared functions of bench/http.sh and bench/scale.sh. Sourced, not run.
#
# Environment read here:
#   BENCH_PIN=0   do not pin with taskset (default: pin when taskset exists and
#                 the machine has ≥ 2 CPUs: servers on CPU 0, wrk on CPU 1).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
export CGO_ENABLED=0

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# Pinning: the same for latchkey and the baseline, so the ratio compares like
# with like. Without taskset both sides share every CPU with wrk.
SERVER_PIN=()
WRK_PIN=()
PIN_DESC="none (server, baseline and wrk share all $(nproc) CPUs)"
if [[ "${BENCH_PIN:-1}" != 0 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
	last=$(($(nproc) - 1))
	if ((last == 1)); then wrk_cpus=1; else wrk_cpus="$(((last + 1) / 2))-$last"; fi
	srv_cpus="0-$((($(nproc) / 2) - 1))"
	[[ "$srv_cpus" == "0-0" ]] && srv_cpus=0
	SERVER_PIN=(taskset -c "$srv_cpus")
	WRK_PIN=(taskset -c "$wrk_cpus")
	PIN_DESC="taskset: server (latchkey or baseline) on CPU $srv_cpus, wrk on CPU $wrk_cpus"
fi

# need_wrk installs wrk with apt-get when `which wrk` finds none (through
# sudo unless running as root), refreshing the package lists only if the
# first attempt fails.
need_wrk() {
	if ! which wrk >/dev/null 2>&1; then
		local sudo=()
		[[ $(id -u) == 0 ]] || sudo=(sudo)
		log "installing wrk (apt-get install -y wrk)"
		{ "${sudo[@]}" apt-get install -y -qq wrk || { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq wrk; }; } >&2 ||
			die "wrk is missing and could not be installed (apt-get install -y wrk)"
	fi
	command -v curl >/dev/null || die "curl is needed"
}

build_all() {
	log "building bin/latchkey and the bench helpers (bin/bench-*)"
	(cd "$REPO_DIR" &&
		go build -trimpath -o bin/latchkey ./cmd/latchkey &&
		go build -trimpath -o bin/bench-baseline ./bench/baseline &&
		go build -trimpath -o bin/bench-seed ./bench/cmd/seed &&
		go build -trimpath -o bin/bench-pprofserve ./bench/cmd/pprofserve) || die "build failed"
}

# free_port prints a loopback TCP port nobody listens on.
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# random_secret prints 64 hex characters from /dev/urandom.
random_secret() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

# wait_http URL [seconds]: wait for a 200.
wait_http() {
	local url=$1 deadline=$((SECONDS + ${2:-30}))
	until curl -fsS -o /dev/null "$url" 2>/dev/null; do
		((SECONDS < deadline)) || die "$url did not answer 200 in time"
		sleep 0.02
	done
}

# now_ns prints the monotonic-enough wall clock in nanoseconds.
now_ns() { date +%s%N; }

# start_latchkey DATA_DIR PORT: starts bin/latchkey in the background with
# LATCHKEY_ROOT_KEY=$ROOT_KEY; sets LK_PID. Logs to DATA_DIR/../latchkey.log.
start_latchkey() {
	local data=$1 port=$2
	LATCHKEY_ROOT_KEY="$ROOT_KEY" LATCHKEY_LOG_LEVEL=warn LATCHKEY_LOG_FORMAT=text \
		"${SERVER_PIN[@]}" "$REPO_DIR/bin/latchkey" serve --addr "127.0.0.1:$port" --data-dir "$data" \
		>>"$data.log" 2>&1 &
	# shellcheck disable=SC2034 # read by the sourcing script
	LK_PID=$!
}

# stop_pid PID: SIGTERM and wait (graceful shutdown flushes usage counters).
stop_pid() {
	local pid=$1
	[[ -n "$pid" ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	log "bench: pid $pid did not stop in 30s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
}

# api TOKEN METHOD PATH [JSON]: call latchkey's API, print the body, fail on
# a non-2xx. The token goes through a header file, not argv.
api() {
	local tok=$1 method=$2 path=$3 body=${4:-}
	local hdr
	hdr=$(mktemp "$TMP/hdr.XXXXXX")
	printf 'Authorization: Bearer %s\nContent-Type: application/json\n' "$tok" >"$hdr"
	if [[ -n "$body" ]]; then
		curl -fsS -X "$method" -H "@$hdr" --data-binary "$body" "$LK_URL$path"
	else
		curl -fsS -X "$method" -H "@$hdr" "$LK_URL$path"
	fi
	local rc=$?
	rm -f "$hdr"
	return $rc
}

# secret_of: read a created-key JSON answer on stdin, print its "key".
secret_of() { sed -n 's/.*"key":"\([^"]*\)".*/\1/p'; }

# prepare_verify_store NKEYS: on the running latchkey at $LK_URL (root key
# $ROOT_KEY), create user "bench" (orders:*), a keys:verify and a keys:write
# management key (VERIFY_TOKEN, WRITE_TOKEN) and NKEYS keys owned by the user
# (plaintexts in KEYS_FILE), and check each verifies VALID (which also fills
# the cache).
prepare_verify_store() {
	api "$ROOT_KEY" POST /v1/users '{"id":"bench","permissions":["orders:*"]}' >/dev/null
	VERIFY_TOKEN=$(api "$ROOT_KEY" POST /v1/keys '{"keyspace":"latchkey","name":"bench-verifier","scopes":["keys:verify"]}' | secret_of)
	WRITE_TOKEN=$(api "$ROOT_KEY" POST /v1/keys '{"keyspace":"latchkey","name":"bench-writer","scopes":["keys:write"]}' | secret_of)
	[[ -n "$VERIFY_TOKEN" && -n "$WRITE_TOKEN" ]] || die "could not create the management keys"
	KEYS_FILE=$TMP/keys.txt
	LATCHKEY_URL=$LK_URL LATCHKEY_TOKEN=$WRITE_TOKEN "$REPO_DIR/bin/bench-seed" create \
		-n "$1" -c 8 -owner user:bench -out "$KEYS_FILE"
	LATCHKEY_URL=$LK_URL LATCHKEY_TOKEN=$VERIFY_TOKEN "$REPO_DIR/bin/bench-seed" check -in "$KEYS_FILE"
}

# rss_kib PID: resident set size in KiB (VmRSS).
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# run_wrk NAME URL CONNS: run wrk with bench/wrk.lua for $DURATION on
# $THREADS threads; BENCH_MODE, BENCH_TOKEN, BENCH_KEYS_FILE come from the
# environment. Appends "NAME CONNS rps p50_us p99_us non2xx errors requests"
# to $RESULTS; wrk's own report stays in $TMP/wrk-NAME-CONNS.txt.
run_wrk() {
	local name=$1 url=$2 conns=$3 out
	out="$TMP/wrk-$name-$conns.txt"
	"${WRK_PIN[@]}" wrk -t "$THREADS" -c "$conns" -d "$DURATION" --latency \
		-s "$BENCH_DIR/wrk.lua" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($name)"; }
	record "$name" "$conns" "$out"
}

# run_once NAME KEYS_FILE CONNS: verify each key of KEYS_FILE exactly once
# with `bench-seed load` (wrk cannot stop after a fixed number of requests);
# every answer must be a VALID 200. Same result format as run_wrk.
run_once() {
	local name=$1 file=$2 conns=$3 out
	out="$TMP/load-$name-$conns.txt"
	LATCHKEY_URL=$LK_URL LATCHKEY_TOKEN=$BENCH_TOKEN "${WRK_PIN[@]}" "$REPO_DIR/bin/bench-seed" load \
		-in "$file" -c "$conns" >"$out" 2>&1 || { cat "$out" >&2; die "load failed ($name)"; }
	record "$name" "$conns" "$out"
}

record() {
	local name=$1 conns=$2 out=$3 line
	line=$(grep '^BENCH_RESULT' "$out") || { cat "$out" >&2; die "no result ($name)"; }
	local requests rps p50_us p99_us non2xx socket_errors
	field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" ${line#BENCH_RESULT}"; }
	requests=$(field requests) rps=$(field rps) p50_us=$(field p50_us) p99_us=$(field p99_us)
	non2xx=$(field non2xx) socket_errors=$(field socket_errors)
	printf '%s %s %s %s %s %s %s %s\n' "$name" "$conns" "$rps" "$p50_us" "$p99_us" "$non2xx" "$socket_errors" "$requests" >>"$RESULTS"
	log "  $(printf '%-22s c=%-3s %10.0f req/s  p50 %s  p99 %s  non-2xx %s  socket errors %s' \
		"$name" "$conns" "$rps" "$(ms "$p50_us")" "$(ms "$p99_us")" "$non2xx" "$socket_errors")"
	if ((non2xx > 0 || socket_errors > 0)); then
		log "  WARNING: $name had $non2xx non-2xx answers and $socket_errors socket errors"
	fi
}

# result NAME CONNS FIELD [best|median]: a field (rps p50 p99 non2xx errors
# requests) of the run_wrk results of NAME at CONNS. Of several rounds:
# "best" (default) is the round with the most req/s (noise from other
# processes only ever slows a run down); "median" is the median of the field
# over the rounds.
result() {
	awk -v n="$1" -v c="$2" -v f="$3" -v how="${4:-best}" '
		BEGIN { i = (f == "rps") ? 3 : (f == "p50") ? 4 : (f == "p99") ? 5 : (f == "non2xx") ? 6 : (f == "errors") ? 7 : 8 }
		$1 == n && $2 == c { v[++k] = $i + 0; if (k == 1 || $3 > best) { best = $3; bv = $i } }
		END {
			if (!k) exit
			if (how == "best") { print bv; exit }
			for (a = 1; a <= k; a++) for (b = a + 1; b <= k; b++) if (v[b] < v[a]) { t = v[a]; v[a] = v[b]; v[b] = t }
			print (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
		}' "$RESULTS"
}

# paired_ratio NAME BASE CONNS: the median over rounds of NAME's req/s over
# BASE's req/s in the same round (the k-th run of each), so both sides of a
# ratio ran seconds apart.
paired_ratio() {
	awk -v n="$1" -v base="$2" -v c="$3" '
		$2 == c && $1 == n { x[++i] = $3 }
		$2 == c && $1 == base { y[++j] = $3 }
		END {
			k = (i < j) ? i : j
			if (!k) { print "–"; exit }
			for (a = 1; a <= k; a++) r[a] = (y[a] > 0) ? x[a] / y[a] : 0
			for (a = 1; a <= k; a++) for (b = a + 1; b <= k; b++) if (r[b] < r[a]) { t = r[a]; r[a] = r[b]; r[b] = t }
			printf "%.2f", (k % 2) ? r[(k + 1) / 2] : (r[k / 2] + r[k / 2 + 1]) / 2
		}' "$RESULTS"
}

# paired_list NAME BASE CONNS: the per-round ratios, in round order.
paired_list() {
	awk -v n="$1" -v base="$2" -v c="$3" '
		$2 == c && $1 == n { x[++i] = $3 }
		$2 == c && $1 == base { y[++j] = $3 }
		END { k = (i < j) ? i : j; for (a = 1; a <= k; a++) printf "%s%.2f", (a > 1 ? " " : ""), (y[a] > 0) ? x[a] / y[a] : 0 }' "$RESULTS"
}

# rounds NAME CONNS: how many runs of NAME at CONNS there were.
rounds() { awk -v n="$1" -v c="$2" '$1 == n && $2 == c { k++ } END { print k + 0 }' "$RESULTS"; }

# loadavg: the 1-minute load average (other processes on the machine).
loadavg() { cut -d' ' -f1 /proc/loadavg; }

# ms MICROSECONDS: "0.42 ms".
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }

# ratio A B: A/B with two decimals, or "–".
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "–" }'; }

# metric NAME_WITH_LABELS: one sample from latchkey's /metrics (0 if absent).
metric() {
	curl -fsS "$LK_URL/metrics" | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}

machine_info() {
	local cpu
	cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- machine: $(nproc) CPUs ($cpu), $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
	echo "- $(go version)"
	echo "- wrk: $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}'), $THREADS threads, ${DURATION} per run"
	echo "- pinning: $PIN_DESC"
	echo "- latchkey: $(cd "$REPO_DIR" && git describe --tags --always --dirty 2>/dev/null || echo unknown)"
}
