#!/usr/bin/env bash
# weft against Agno on the same workload, the same machine and the same fake LLM server, in
# one run; bare reqwest making the same HTTP calls is the floor.
#
#   bash bench/compare.sh                 # the defaults below
#   RUNS=200 AGNO_RUNS=100 bash bench/compare.sh
#   PARTS="sequential durable" MAX_LOAD=1.0 bash bench/compare.sh   # durable runs only, on a quiet machine
#   PARTS=postgres bash bench/compare.sh  # weft and Agno on one PostgreSQL server
#   PARTS=pauses bash bench/compare.sh    # a tool call approved by a person, weft and Agno
#   PARTS=tracing bash bench/compare.sh   # what weft's spans cost: compiled out, no subscriber, OTLP
#
# It builds the release binaries, starts two weft-fake-llm processes on free ports of
# 127.0.0.1 (one answering at once, one with 200 ms to first token and 5 ms per chunk), runs
# every measurement, checks that every side made exactly 3 requests per run (the servers'
# counters), and prints the tables. The raw JSON lines are kept in bench/results/latest.jsonl.
#
# The parts (PARTS, all by default): construction; sequential (in-memory weft, bare reqwest,
# Agno without storage); durable (weft on a fresh sled store in each of DURABILITIES, Agno
# with SqliteDb, and the resume of runs interrupted after their last model call); concurrent;
# server (weft::serve against Agno's AgentOS over HTTP, streamed runs driven by `weft-load` at
# SERVER_CONCURRENCY, 1000 at once against the paced fake LLM, and SUBSCRIBERS idle event
# streams on one weft run); postgres (weft's PostgresStorage against Agno's PostgresDb on the
# same server, WEFT_BENCH_POSTGRES_URL, next to in-memory weft, sled and Agno's SqliteDb:
# sequential runs, runs/s at PG_CONCURRENCY at a time, event-log appends, and what saving one
# more run costs as a session grows; each side in a fresh schema of its own, dropped after;
# it needs a PostgreSQL server: without one, leave it out of PARTS); pauses (rounds of a
# person's approval, one at a time: a run whose model asks for a tool that needs approval
# pauses, is approved and continued to its end; weft in memory and on sled in each of
# PAUSE_DURABILITIES, Agno without storage and with SqliteDb; against `weft-bench pause-llm`,
# weft-testkit's fake server answering a tool call, then 20 chunks once the tool's result is
# in the request: every round must make exactly 2 requests); tracing (not in the default
# PARTS: it builds weft-bench a second time, with feature `tracing-off`, into
# target/tracing-off): sequential in-memory runs with weft's spans compiled out, compiled in
# with no subscriber, and exported by `weft::otel` over OTLP/HTTP to `weft-bench otlp-sink`
# (a process of its own), TRACING_ROUNDS rounds of TRACING_RUNS runs, the three variants
# interleaved, medians printed by bench/tracing_table.py (rows in bench/results/tracing.jsonl).
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
PARTS="${PARTS:-construction sequential durable concurrent server postgres pauses}"
SERVER_CONCURRENCY="${SERVER_CONCURRENCY:-1 100 1000}"
SERVER_RUNS="${SERVER_RUNS:-2000}"      # streamed runs per weft row (3000 at concurrency 1000)
AGNO_SERVER_RUNS="${AGNO_SERVER_RUNS:-300}"
AGNO_WORKERS="${AGNO_WORKERS:-2}"       # AgentOS processes (2 cores)
SUBSCRIBERS="${SUBSCRIBERS:-10000}"
MAX_LOAD="${MAX_LOAD:-}"
# The postgres part: the database (created by weft-bench when missing; the user must be allowed
# to), runs/s at these concurrencies (PG_RUNS runs in all for weft, AGNO_PG_RUNS for Agno,
# against the fake LLM that answers at once), APPEND_EVENTS items appended to each of 1 and
# APPEND_CONCURRENCY runs, and a session grown to the largest of SESSION_SIZES runs.
# `sslmode=disable`: both sides plain TCP (psycopg would otherwise default to `prefer`, TLS).
export WEFT_BENCH_POSTGRES_URL="${WEFT_BENCH_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/weft_bench?sslmode=disable}"
PG_CONCURRENCY="${PG_CONCURRENCY:-10 100}"
PG_RUNS="${PG_RUNS:-1000}"
AGNO_PG_RUNS="${AGNO_PG_RUNS:-200}"
APPEND_EVENTS="${APPEND_EVENTS:-2000}"
APPEND_CONCURRENCY="${APPEND_CONCURRENCY:-16}"
SESSION_SIZES="${SESSION_SIZES:-1,10,100,1000}"
SESSION_SAMPLES="${SESSION_SAMPLES:-20}"
# The pauses part: rounds one at a time (weft, after 20 warm-up rounds; Agno, after one).
PAUSE_ROUNDS="${PAUSE_ROUNDS:-1000}"
AGNO_PAUSE_ROUNDS="${AGNO_PAUSE_ROUNDS:-300}"
PAUSE_DURABILITIES="${PAUSE_DURABILITIES:-every-step}"
# The tracing part: rounds of the three variants, interleaved; runs per measurement.
TRACING_ROUNDS="${TRACING_ROUNDS:-9}"
TRACING_RUNS="${TRACING_RUNS:-1000}"

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
if part tracing; then
    # weft-bench with every span compiled out, in a target dir of its own (feature
    # unification would otherwise compile them out of the binaries above too).
    CARGO_TARGET_DIR=target/tracing-off cargo build --release --locked -q -p weft-bench \
        --bin weft-bench --features tracing-off
fi
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
start_server() { start_llm "$bin/weft-fake-llm" --port 0 --chunks 20 "$@"; }

# Starts the fake LLM server command "$@" (one that prints OPENAI_BASE_URL=...); sets $url.
start_llm() {
    local log
    log="$(mktemp)"
    "$@" > "$log" 2>&1 &
    servers+=("$!")
    for _ in $(seq 100); do
        if grep -q "OPENAI_BASE_URL=" "$log"; then
            url="$(grep -o "OPENAI_BASE_URL=.*" "$log" | cut -d= -f2)"
            return
        fi
        sleep 0.1
    done
    echo "$1 did not start: $(cat "$log")" >&2
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

# Starts an HTTP server ($1: weft or agno) hosting the benchmark workflow against the fake
# LLM at $2; sets $app_url, $app_pid and $app_pids (the processes whose CPU and memory count).
start_app() {
    local log
    log="$(mktemp)"
    if [ "$1" = weft ]; then
        "$bin/weft-bench-server" --base-url "$2" > "$log" 2>&1 &
    else
        bash bench/agno/run.sh --serve --base-url "$2" --workers "$AGNO_WORKERS" > "$log" 2>&1 &
    fi
    app_pid=$!
    servers+=("$app_pid")
    for _ in $(seq 600); do
        if grep -q "^listening on " "$log"; then
            app_url="$(grep -o "^listening on .*" "$log" | cut -d' ' -f3)"
            # AgentOS: run.sh execs python, whose worker processes are its children.
            app_pids="--server-pid $app_pid$( (pgrep -P "$app_pid" || true) | sed 's/^/ --server-pid /' | tr -d '\n')"
            return
        fi
        sleep 0.1
    done
    echo "the $1 server did not start: $(cat "$log")" >&2
    exit 1
}
stop_app() { kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; }

if part server; then
    ulimit -n "$(ulimit -Hn)"
    for side in weft agno; do
        if [ "$side" = weft ]; then target=weft; workflow=bench_research; else target=agentos; workflow=research; fi
        for c in $SERVER_CONCURRENCY; do
            wait_quiet "server $side $c"
            echo "== server: $side, $c at a time" >&2
            runs="$SERVER_RUNS"
            [ "$side" = agno ] && runs="$AGNO_SERVER_RUNS"
            [ "$side" = weft ] && [ "$c" -ge 1000 ] && runs=3000
            [ "$c" -gt "$runs" ] && runs="$c"
            start_app "$side" "$fast"
            # shellcheck disable=SC2086
            "$bin/weft-load" runs --target "$target" --url "$app_url" --workflow "$workflow" \
                --concurrency "$c" --runs "$runs" --llm-url "$fast" $app_pids | record
            stop_app
        done
        wait_quiet "server $side paced"
        echo "== server: $side, 1000 at once, paced fake LLM" >&2
        start_app "$side" "$paced"
        # shellcheck disable=SC2086
        "$bin/weft-load" runs --target "$target" --url "$app_url" --workflow "$workflow" \
            --concurrency 1000 --runs 1000 --warmup 0 --ideal-ms 885 --label server-paced \
            --llm-url "$paced" $app_pids | record
        stop_app
    done
    # Idle subscribers: one weft run whose model never answers (a fake LLM with a 1 h first
    # token), followed by SUBSCRIBERS event streams.
    wait_quiet "server idle"
    echo "== server: $SUBSCRIBERS idle subscribers" >&2
    start_server --ttft-ms 3600000
    stalled="$url"
    start_app weft "$stalled"
    # shellcheck disable=SC2086
    "$bin/weft-load" idle --url "$app_url" --subscribers "$SUBSCRIBERS" $app_pids | record
    stop_app
    # The floor: plain axum, one SSE event and then an open stream per subscriber.
    "$bin/weft-bench-server" --base-url "$stalled" --bare-sse > "$results/bare-sse.log" 2>&1 &
    app_pid=$!
    servers+=("$app_pid")
    for _ in $(seq 100); do grep -q "^listening on " "$results/bare-sse.log" && break; sleep 0.1; done
    app_url="$(grep -o "^listening on .*" "$results/bare-sse.log" | cut -d' ' -f3)"
    "$bin/weft-load" idle --url "$app_url" --subscribers "$SUBSCRIBERS" --server-pid "$app_pid" \
        --framework "bare axum" | record
    stop_app
fi

if part postgres; then
    # weft-bench: a fresh schema weft_bench_<pid> per invocation; bench_agno.py: a fresh
    # schema agno_bench_<pid>; both dropped at the end. Rows the sequential and durable parts
    # make are made here only when those parts do not run.
    wait_quiet "postgres sequential"
    echo "== postgres: sequential ($WEFT_BENCH_POSTGRES_URL)" >&2
    "$bin/weft-bench" sequential --base-url "$fast" --runs "$RUNS" --store postgres | record
    if ! part sequential; then
        "$bin/weft-bench" sequential --base-url "$fast" --runs "$RUNS" | record
        bash bench/agno/run.sh --base-url "$fast" --mode sequential --runs "$AGNO_RUNS" | record
    fi
    if ! part durable; then
        "$bin/weft-bench" sequential --base-url "$fast" --runs "$RUNS" --store sled | record
        bash bench/agno/run.sh --base-url "$fast" --mode sequential --runs "$AGNO_RUNS" \
            --db sqlite | record
    fi
    bash bench/agno/run.sh --base-url "$fast" --mode sequential --runs "$AGNO_RUNS" \
        --db postgres | record
    for c in $PG_CONCURRENCY; do
        wait_quiet "postgres $c at a time"
        echo "== postgres: $c at a time" >&2
        for store in memory sled postgres; do
            "$bin/weft-bench" throughput --base-url "$fast" --concurrency "$c" --runs "$PG_RUNS" \
                --store "$store" | record
        done
        bash bench/agno/run.sh --base-url "$fast" --mode throughput --concurrency "$c" \
            --runs "$AGNO_PG_RUNS" | record
        bash bench/agno/run.sh --base-url "$fast" --mode throughput --concurrency "$c" \
            --runs "$AGNO_PG_RUNS" --db postgres | record
    done
    wait_quiet "postgres appends"
    echo "== postgres: event-log appends" >&2
    for k in 1 $APPEND_CONCURRENCY; do
        for batch in 1 64; do
            "$bin/weft-bench" append --events "$APPEND_EVENTS" --batch "$batch" --runs "$k" \
                --store postgres | record
            for durability in every-step every-event; do
                "$bin/weft-bench" append --events "$APPEND_EVENTS" --batch "$batch" --runs "$k" \
                    --store sled --durability "$durability" | record
            done
        done
    done
    wait_quiet "postgres session saves"
    echo "== postgres: session saves as a session grows" >&2
    for store in postgres sled; do
        "$bin/weft-bench" session-save --base-url "$fast" --sizes "$SESSION_SIZES" \
            --samples "$SESSION_SAMPLES" --store "$store" | record
    done
    bash bench/agno/run.sh --base-url "$fast" --mode session-save --sizes "$SESSION_SIZES" \
        --samples "$SESSION_SAMPLES" --db postgres | record
fi

if part pauses; then
    # A fake LLM of its own (the rounds' two replies), rounds one at a time; the sled store is
    # fresh per invocation, in $TMPDIR. table.py checks 2 requests per round on every side.
    wait_quiet pauses
    echo "== pauses: a tool call approved by a person, run -> paused -> approved -> continued" >&2
    start_llm "$bin/weft-bench" pause-llm --port 0 --chunks 20
    pausing="$url"
    "$bin/weft-bench" pauses --base-url "$pausing" --rounds "$PAUSE_ROUNDS" | record
    for durability in $PAUSE_DURABILITIES; do
        "$bin/weft-bench" pauses --base-url "$pausing" --rounds "$PAUSE_ROUNDS" --store sled \
            --durability "$durability" | record
    done
    bash bench/agno/run.sh --base-url "$pausing" --mode pauses --runs "$AGNO_PAUSE_ROUNDS" | record
    bash bench/agno/run.sh --base-url "$pausing" --mode pauses --runs "$AGNO_PAUSE_ROUNDS" \
        --db sqlite | record
fi

if part tracing; then
    wait_quiet tracing
    echo "== tracing: spans compiled out, no subscriber, OTLP/HTTP export ($TRACING_ROUNDS rounds)" >&2
    log="$(mktemp)"
    "$bin/weft-bench" otlp-sink --port 0 > "$log" 2>&1 &
    servers+=("$!")
    for _ in $(seq 100); do grep -q "OTLP_ENDPOINT=" "$log" && break; sleep 0.1; done
    otlp="$(grep -o "OTLP_ENDPOINT=.*" "$log" | cut -d= -f2)"
    [ -n "$otlp" ] || { echo "the OTLP sink did not start: $(cat "$log")" >&2; exit 1; }
    tracing_rows="$results/tracing.jsonl"
    : > "$tracing_rows"
    variants=(off no-subscriber otlp)
    for round in $(seq 0 $((TRACING_ROUNDS - 1))); do
        for i in 0 1 2; do
            # Each round starts with the next variant: none always runs first or last.
            case "${variants[$(( (round + i) % 3 ))]}" in
                off) target/tracing-off/release/weft-bench tracing --base-url "$fast" \
                        --runs "$TRACING_RUNS" ;;
                no-subscriber) "$bin/weft-bench" tracing --base-url "$fast" --runs "$TRACING_RUNS" ;;
                otlp) "$bin/weft-bench" tracing --base-url "$fast" --runs "$TRACING_RUNS" \
                        --otlp-endpoint "$otlp" ;;
            esac | tee -a "$tracing_rows" | record
        done
    done
fi

python3 bench/table.py "$out"
if part tracing; then
    python3 bench/tracing_table.py "$results/tracing.jsonl"
fi
