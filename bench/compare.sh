#!/usr/bin/env bash
# weft against Agno on the same workload, the same machine and the same fake LLM server, in
# one run; bare reqwest making the same HTTP calls is the floor.
#
#   bash bench/compare.sh                 # the defaults below
#   RUNS=200 AGNO_RUNS=100 bash bench/compare.sh
#   PARTS="sequential durable" MAX_LOAD=1.0 bash bench/compare.sh   # durable runs only, on a quiet machine
#
# It builds the release binaries, starts two weft-fake-llm processes on free ports of
# 127.0.0.1 (one answering at once, one with 200 ms to first token and 5 ms per chunk), runs
# every measurement, checks that every side made exactly 3 requests per run (the servers'
# counters), and prints the tables. The raw JSON lines are kept in bench/results/latest.jsonl.
#
# The parts (PARTS, all by default): construction; sequential (in-memory weft, bare reqwest,
# Agno without storage); durable (weft on a fresh sled store in each of DURABILITIES, Agno
# with SqliteDb, and the resume of runs interrupted after their last model call); concurrent.
# The durable table compares with the sequential part's rows: run both.
# MAX_LOAD: before each part, wait until the 1-minute load average is below it (polled every
# 20 s, for at most 15 minutes; then the part runs anyway and says so on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-500}"              # sequential runs, weft and bare reqwest
AGNO_RUNS="${AGNO_RUNS:-200}"    # sequential runs, Agno (slower: fewer for the same precision)
CONCURRENCY="${CONCURRENCY:-100 1000}"
ITERATIONS="${ITERATIONS:-100000}"
RESUME_ROUNDS="${RESUME_ROUNDS:-100}"   # resumes: one interrupted run per round
# sled durability modes of the durable part (also: run-end, os)
DURABILITIES="${DURABILITIES:-every-step every-event}"
PARTS="${PARTS:-construction sequential durable concurrent}"
MAX_LOAD="${MAX_LOAD:-}"

part() { [[ " $PARTS " == *" $1 "* ]]; }

# Waits for a quiet machine when MAX_LOAD is set (other work on these cores skews every number).
wait_quiet() {
    [ -n "$MAX_LOAD" ] || return 0
    local load
    for _ in $(seq 45); do
        load="$(cut -d' ' -f1 /proc/loadavg)"
        if python3 -c "import sys; sys.exit(0 if $load < $MAX_LOAD else 1)"; then
            echo "load $load < $MAX_LOAD: measuring $1" >&2
            return 0
        fi
        echo "load $load >= $MAX_LOAD: waiting before $1" >&2
        sleep 20
    done
    echo "WARNING: load still $(cut -d' ' -f1 /proc/loadavg) after 15 minutes; measuring $1 anyway" >&2
}

cargo build --release --locked -q -p weft-testkit --bin weft-fake-llm -p weft-bench --bins
bin=target/release
results=bench/results
mkdir -p "$results"
out="$results/latest.jsonl"
: > "$out"

servers=()
cleanup() { for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a fake server on a free port and sets $url to its /v1 base URL. (Not run in a
# command substitution: the pid must reach `servers` in this shell, for the cleanup.)
start_server() {
    local log
    log="$(mktemp)"
    "$bin/weft-fake-llm" --port 0 --chunks 20 "$@" > "$log" 2>&1 &
    servers+=("$!")
    for _ in $(seq 100); do
        if grep -q "OPENAI_BASE_URL=" "$log"; then
            url="$(grep -o "OPENAI_BASE_URL=.*" "$log" | cut -d= -f2)"
            return
        fi
        sleep 0.1
    done
    echo "weft-fake-llm did not start: $(cat "$log")" >&2
    exit 1
}

start_server
fast="$url"
start_server --ttft-ms 200 --chunk-ms 5
paced="$url"
echo "fake servers: $fast (no delay), $paced (200 ms TTFT, 5 ms/chunk)" >&2

record() { tee -a "$out" >&2; }

if part construction; then
    wait_quiet construction
    echo "== construction" >&2
    "$bin/weft-bench" construction --iterations "$ITERATIONS" | record
    "$bin/weft-bench-heap" --count 1000 | record
    bash bench/agno/run.sh --mode instantiate --iterations 1000 | record
fi

if part sequential; then
    wait_quiet sequential
    echo "== sequential" >&2
    "$bin/weft-bench" sequential --base-url "$fast" --runs "$RUNS" | record
    "$bin/weft-bench" sequential --base-url "$fast" --runs "$RUNS" --floor | record
    bash bench/agno/run.sh --base-url "$fast" --mode sequential --runs "$AGNO_RUNS" | record
fi

if part durable; then
    # A fresh store per invocation, in $TMPDIR (the event log and the journal are on for
    # every workflow run; the in-memory rows above have them too).
    wait_quiet durable
    echo "== durable" >&2
    for durability in $DURABILITIES; do
        "$bin/weft-bench" sequential --base-url "$fast" --runs "$RUNS" --store sled \
            --durability "$durability" | record
    done
    bash bench/agno/run.sh --base-url "$fast" --mode sequential --runs "$AGNO_RUNS" \
        --db sqlite | record
    "$bin/weft-bench" resume --base-url "$fast" --rounds "$RESUME_ROUNDS" | record
fi

if part concurrent; then
    for c in $CONCURRENCY; do
        wait_quiet "concurrent $c"
        echo "== concurrent $c" >&2
        "$bin/weft-bench" concurrent --base-url "$paced" --concurrency "$c" | record
        "$bin/weft-bench" concurrent --base-url "$paced" --concurrency "$c" --floor | record
        bash bench/agno/run.sh --base-url "$paced" --mode concurrent --concurrency "$c" | record
    done
fi

python3 bench/table.py "$out"
