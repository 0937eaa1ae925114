#!/usr/bin/env bash
# weft against Agno on the same workload, the same machine and the same fake LLM server, in
# one run; bare reqwest making the same HTTP calls is the floor.
#
#   bash bench/compare.sh                 # the defaults below
#   RUNS=200 AGNO_RUNS=100 bash bench/compare.sh
#
# It builds the release binaries, starts two weft-fake-llm processes on free ports of
# 127.0.0.1 (one answering at once, one with 200 ms to first token and 5 ms per chunk), runs
# every measurement, checks that every side made exactly 3 requests per run (the servers'
# counters), and prints one table. The raw JSON lines are kept in bench/results/latest.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-500}"              # sequential runs, weft and bare reqwest
AGNO_RUNS="${AGNO_RUNS:-200}"    # sequential runs, Agno (slower: fewer for the same precision)
CONCURRENCY="${CONCURRENCY:-100 1000}"
ITERATIONS="${ITERATIONS:-100000}"

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

echo "== construction" >&2
"$bin/weft-bench" construction --iterations "$ITERATIONS" | record
"$bin/weft-bench-heap" --count 1000 | record
bash bench/agno/run.sh --mode instantiate --iterations 1000 | record

echo "== sequential" >&2
"$bin/weft-bench" sequential --base-url "$fast" --runs "$RUNS" | record
"$bin/weft-bench" sequential --base-url "$fast" --runs "$RUNS" --floor | record
bash bench/agno/run.sh --base-url "$fast" --mode sequential --runs "$AGNO_RUNS" | record

for c in $CONCURRENCY; do
    echo "== concurrent $c" >&2
    "$bin/weft-bench" concurrent --base-url "$paced" --concurrency "$c" | record
    "$bin/weft-bench" concurrent --base-url "$paced" --concurrency "$c" --floor | record
    bash bench/agno/run.sh --base-url "$paced" --mode concurrent --concurrency "$c" | record
done

python3 bench/table.py "$out"
