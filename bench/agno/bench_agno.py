"""Agno side of the weft-vs-Agno comparison.

Prints ONE JSON object on stdout; everything else (Agno's own logs included)
goes to stderr.

Modes:
  --mode sequential  --runs N          N workflow runs one after another
  --mode concurrent  --concurrency C   C workflow runs at once (asyncio)
  --mode instantiate --iterations N    Agno's "instantiate agent with tool" eval

Storage (sequential mode):
  --db none    no storage (the default)
  --db sqlite  Agno's SqliteDb (agno.db.sqlite) on a fresh file in a temp dir, set on
               the Workflow: each run is stored (session row, run row); each run gets
               a session of its own, as each weft run does (a new workflow instance)

The workflow is "research-shaped": an Agno Workflows 2.0 `Workflow` of three
`Step`s; search and read call their agent non-streamed, write streams its
agent's reply to the caller. Every run makes exactly 3 requests to the model
server (checked against the fake server's /_stats).
"""

from __future__ import annotations

import os
import sys

# Before Agno is imported: no telemetry, no debug logging.
os.environ["AGNO_TELEMETRY"] = "false"
os.environ["AGNO_DEBUG"] = "false"
os.environ.pop("AGNO_DEBUG_LEVEL", None)
# The OpenAI SDK must not pick up a real endpoint or key from the environment.
os.environ.pop("OPENAI_BASE_URL", None)

# Agno logs to stdout when stdout is not a terminal; keep fd 1 for the JSON
# result only and point everything else at stderr.
_RESULT_OUT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from importlib.metadata import version as pkg_version  # noqa: E402
from typing import AsyncIterator, Optional, Union  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402
from uuid import uuid4  # noqa: E402

from agno.agent import Agent  # noqa: E402
from agno.models.openai import OpenAIChat  # noqa: E402
from agno.run.agent import RunContentEvent, RunOutputEvent  # noqa: E402
from agno.workflow import Step, StepInput, StepOutput, Workflow  # noqa: E402

TOPIC = "embedded databases in Rust"
REQUESTS_PER_RUN = 3


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# The workflow
# --------------------------------------------------------------------------


def make_agent(name: str, instructions: str, base_url: str) -> Agent:
    return Agent(
        name=name,
        model=OpenAIChat(id="gpt-4o", base_url=base_url, api_key="fake"),
        instructions=instructions,
        # Defaults already leave db, memory, history, summaries and knowledge
        # off; telemetry is off through AGNO_TELEMETRY and here.
        telemetry=False,
    )


def build_workflow(base_url: str, db=None) -> Workflow:
    search_agent = make_agent("search", "Find sources.", base_url)
    read_agent = make_agent("read", "Read the sources.", base_url)
    write_agent = make_agent("write", "Write a summary.", base_url)

    # Function-executor Steps: a plain agent Step runs its agent streamed
    # whenever the workflow is run with stream=True (all three steps would
    # stream), so the first two steps call their agent non-streamed here and
    # only the last one streams.
    async def search(step_input: StepInput) -> StepOutput:
        response = await search_agent.arun(f"Search: {step_input.input}", stream=False)
        return StepOutput(content=response.content)

    async def read(step_input: StepInput) -> StepOutput:
        response = await read_agent.arun(f"Read: {step_input.previous_step_content}", stream=False)
        return StepOutput(content=response.content)

    async def write(step_input: StepInput) -> AsyncIterator[Union[RunOutputEvent, StepOutput]]:
        # Agno forwards the yielded agent events to the workflow's caller and
        # joins the RunContentEvent chunks into this step's content.
        async for event in write_agent.arun(f"Summarise: {step_input.previous_step_content}", stream=True):
            yield event

    return Workflow(
        name="research",
        steps=[
            Step(name="search", executor=search),
            Step(name="read", executor=read),
            Step(name="write", executor=write),
        ],
        # None: no storage (Agno's default); a SqliteDb: every run is stored.
        db=db,
        telemetry=False,
    )


async def run_once(workflow: Workflow, session_id: Optional[str] = None) -> str:
    """One workflow run; the caller consumes the streamed summary chunks."""
    chunks = []
    async for event in workflow.arun(TOPIC, stream=True, session_id=session_id):
        if isinstance(event, RunContentEvent) and isinstance(event.content, str):
            chunks.append(event.content)
    summary = "".join(chunks)
    if not summary.startswith("token0 "):
        raise RuntimeError(f"unexpected streamed summary: {summary!r}")
    return summary


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------


def server_requests(base_url: str) -> int:
    parts = urlsplit(base_url)
    if parts.hostname != "127.0.0.1":
        raise SystemExit(f"refusing to talk to {parts.hostname}: only 127.0.0.1 is allowed")
    url = f"{parts.scheme}://{parts.netloc}/_stats"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return int(json.load(resp)["requests"])


def proc_status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def percentile(sorted_values: list, p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, -(-len(sorted_values) * p // 100) - 1))
    return sorted_values[int(k)]


def check_requests(made: int, runs: int) -> None:
    expected = REQUESTS_PER_RUN * runs
    if made != expected:
        raise SystemExit(f"expected {expected} requests for {runs} runs, the server saw {made}")


def open_sqlite(directory: str):
    """Agno's SqliteDb on a fresh file in `directory` (default settings: WAL, synchronous FULL)."""
    from agno.db.sqlite import SqliteDb

    return SqliteDb(db_file=os.path.join(directory, "agno.db"))


def count_rows(path: str, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def mode_sequential(base_url: str, runs: int, warmup: int, db_kind: str) -> dict:
    directory = tempfile.mkdtemp(prefix="agno-bench-") if db_kind == "sqlite" else None
    try:
        db = open_sqlite(directory) if directory else None
        out = await sequential_runs(base_url, runs, warmup, db)
        if db is not None:
            # Proof that the runs were stored: one session and one run row per run.
            db.db_engine.dispose()
            path = os.path.join(directory, "agno.db")
            out["stored_sessions"] = count_rows(path, db.session_table_name)
            out["stored_runs"] = count_rows(path, db.runs_table_name)
            out["db_file_kib"] = sum(
                os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory)
            ) / 1024
        return out
    finally:
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


async def sequential_runs(base_url: str, runs: int, warmup: int, db) -> dict:
    workflow = build_workflow(base_url, db)
    # With storage, each run is a session of its own (weft: a new workflow instance, and so a
    # new session, per run); without, Agno's sticky session id, as before.
    session = (lambda: str(uuid4())) if db is not None else (lambda: None)
    for _ in range(warmup):
        await run_once(workflow, session())

    gc.collect()
    before_requests = server_requests(base_url)
    latencies = []
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _ in range(runs):
        session_id = session()
        t0 = time.perf_counter()
        await run_once(workflow, session_id)
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    requests = server_requests(base_url) - before_requests
    check_requests(requests, runs)

    latencies.sort()
    return {
        "runs": runs,
        "warmup_runs": warmup,
        "wall_ms": wall * 1e3,
        "runs_per_sec": runs / wall,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "mean_ms": statistics.fmean(latencies) * 1e3,
        "cpu_ms_per_run": cpu * 1e3 / runs,
        "requests": requests,
        "requests_per_run": requests / runs,
    }


async def mode_concurrent(base_url: str, concurrency: int, warmup: int) -> dict:
    workflow = build_workflow(base_url)
    for _ in range(warmup):
        await run_once(workflow)

    gc.collect()
    before_requests = server_requests(base_url)
    rss_before_kb = proc_status_kb("VmRSS")
    # The high-water mark is reset to the current RSS where the kernel allows
    # it; otherwise VmHWM may still hold an earlier peak (then it is an upper
    # bound of the concurrent phase's peak).
    hwm_reset = reset_peak_rss()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    await asyncio.gather(*(run_once(workflow) for _ in range(concurrency)))
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    peak_kb = proc_status_kb("VmHWM")
    requests = server_requests(base_url) - before_requests
    check_requests(requests, concurrency)

    return {
        "concurrency": concurrency,
        "warmup_runs": warmup,
        "wall_ms": wall * 1e3,
        "cpu_ms_per_run": cpu * 1e3 / concurrency,
        # ru_maxrss is KiB on Linux: the process-lifetime peak.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss_before_kb / 1024,
        "peak_rss_concurrent_mb": peak_kb / 1024,
        "hwm_reset": hwm_reset,
        "rss_per_run_kb": (peak_kb - rss_before_kb) / concurrency,
        "requests": requests,
        "requests_per_run": requests / concurrency,
    }


def get_weather(city: str) -> str:
    """Get the weather for the given city.

    Args:
        city (str): The city to get the weather for.
    """
    return f"The weather in {city} is sunny."


def instantiate_agent():
    # The shape of Agno's cookbook eval "instantiate agent with tool".
    return Agent(model=OpenAIChat(id="gpt-4o"), tools=[get_weather])


def mode_instantiate(iterations: int, warmup: int) -> dict:
    # Agno's own PerformanceEval (agno/eval/performance.py), used as is:
    #  - `warmup_runs` untimed calls first;
    #  - runtime: each of `num_iterations` calls timed alone with
    #    time.perf_counter (agno.utils.timer.Timer); we report the mean;
    #  - memory: a separate pass of `num_iterations` calls, each one as
    #    gc.collect(); tracemalloc.start(); func(); peak of
    #    tracemalloc.get_traced_memory(); tracemalloc.stop(), minus a baseline
    #    (the mean peak of 3 traced empty calls); we report the mean of those
    #    per-call peaks, converted from MiB to KiB.
    from agno.eval.performance import PerformanceEval

    evaluation = PerformanceEval(
        name="Instantiation Performance",
        func=instantiate_agent,
        num_iterations=iterations,
        warmup_runs=warmup,
        show_spinner=False,
        telemetry=False,
    )
    result = evaluation.run()
    return {
        "iterations": iterations,
        "warmup_runs": warmup,
        "mean_us": result.avg_run_time * 1e6,
        "median_us": result.median_run_time * 1e6,
        "p95_us": result.p95_run_time * 1e6,
        "tracemalloc_peak_kib": result.avg_memory_usage * 1024,
        "tracemalloc_peak_kib_median": result.median_memory_usage * 1024,
        "method": "agno.eval.performance.PerformanceEval (per-call perf_counter; per-call tracemalloc peak minus empty-call baseline, averaged)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:PORT/v1")
    parser.add_argument("--mode", choices=["sequential", "concurrent", "instantiate"], default="sequential")
    parser.add_argument("--runs", type=int, default=100, help="sequential: measured runs")
    parser.add_argument(
        "--db",
        choices=["none", "sqlite"],
        default="none",
        help="sequential: no storage, or SqliteDb on a fresh file (every run stored)",
    )
    parser.add_argument("--concurrency", type=int, default=100, help="concurrent: runs at once")
    parser.add_argument("--iterations", type=int, default=1000, help="instantiate: measured iterations")
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed runs first (default: 1 workflow run; 10 instantiations, as PerformanceEval)",
    )
    args = parser.parse_args()

    common = {
        "framework": "agno",
        "agno_version": pkg_version("agno"),
        "openai_version": pkg_version("openai"),
        "python": platform.python_version(),
        "mode": args.mode,
    }
    if args.db != "none":
        if args.mode != "sequential":
            parser.error("--db is for the sequential mode")
        common["store"] = args.db

    if args.mode == "instantiate":
        out = mode_instantiate(args.iterations, 10 if args.warmup is None else args.warmup)
    else:
        if not args.base_url:
            parser.error("--base-url is required for sequential and concurrent modes")
        server_requests(args.base_url)  # fail fast (and only on 127.0.0.1)
        warmup = 1 if args.warmup is None else args.warmup
        if args.mode == "sequential":
            out = asyncio.run(mode_sequential(args.base_url, args.runs, warmup, args.db))
        else:
            out = asyncio.run(mode_concurrent(args.base_url, args.concurrency, warmup))
        common["topic"] = TOPIC

    json.dump({**common, **out}, _RESULT_OUT)
    _RESULT_OUT.write("\n")
    _RESULT_OUT.flush()


if __name__ == "__main__":
    main()
