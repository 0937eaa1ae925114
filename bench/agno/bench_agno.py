"""Agno side of the weft-vs-Agno comparison.

Prints ONE JSON object on stdout; everything else (Agno's own logs included)
goes to stderr.

Modes:
  --mode sequential   --runs N          N workflow runs one after another
  --mode concurrent   --concurrency C   C workflow runs at once (asyncio)
  --mode throughput   --concurrency C --runs R
                                        R workflow runs, C at a time (asyncio): runs/s
  --mode session-save --sizes 1,10,100,1000 --samples 20
                                        what saving one more run costs as a session's run
                                        count grows (needs --db sqlite|postgres)
  --mode pauses       --runs N          N rounds of a person's approval, one at a time
                                        (against `weft-bench pause-llm`, below)
  --mode instantiate  --iterations N    Agno's "instantiate agent with tool" eval

Storage (every mode but instantiate):
  --db none      no storage (the default)
  --db sqlite    Agno's SqliteDb (agno.db.sqlite) on a fresh file in a temp dir, set on
                 the Workflow: each run is stored (session row, run row); each run gets
                 a session of its own, as each weft run does (a new workflow instance)
  --db postgres  Agno's PostgresDb (agno.db.postgres, SQLAlchemy + psycopg 3, agno's
                 engine defaults) at --db-url, in a fresh schema of its own
                 (agno_bench_<pid>), dropped at the end; otherwise as sqlite

session-save: one real workflow run on the db gives the session and the run record; the
session then grows one run at a time, each save as Agno's Workflow makes it after a run
(session.upsert_run, resolve_run_index, db.upsert_session, db.upsert_run), each timed, and
at each size db.get_session (what a run in that session reads first) is timed too.

pauses: one Agent (made once) with one tool, send_email, marked requires_confirmation=True;
each round in a session of its own: `agent.arun(request, stream=True)` makes one model call,
which asks for send_email, and the run pauses (a RunPausedEvent; with a db the paused run is
stored); the round confirms the requirement and continues the run, streamed, to its end
(the tool runs, a second model call streams 20 chunks). With --db the run is continued by
`acontinue_run(run_id=..., session_id=..., requirements=...)`, which reads it back from the
db; without a db (nothing to read it from) by `acontinue_run(run_response=<the paused
RunOutput>)`. Its model server is `weft-bench pause-llm` (weft-testkit's fake server
answering a call to send_email, or 20 text chunks once the tool's result is in the request):
every round makes exactly 2 requests (checked).

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
import copy  # noqa: E402
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
from agno.run.agent import RunContentEvent, RunOutput, RunOutputEvent, RunPausedEvent  # noqa: E402
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


def postgres_cpu_seconds() -> float:
    """CPU time (user + system) of every `postgres` process on this machine so far, with the
    children its postmaster reaped (backends that ended): what a PostgreSQL server running
    here spent, whoever it worked for (weft-bench reads the same)."""
    ticks = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        head, _, rest = stat.rpartition(")")
        if not head.endswith("(postgres"):
            continue
        fields = rest.split()
        # utime, stime, cutime, cstime: fields 14 to 17 of the file, 11 to 14 after the state.
        ticks += sum(int(field) for field in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def is_postgres(db) -> bool:
    return type(db).__name__ == "PostgresDb"


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


class Store:
    """A fresh Agno db for one invocation (or none): SqliteDb on a file in a temp dir, or
    PostgresDb in a schema of its own on the server at `db_url`. `close()` removes it."""

    def __init__(self, kind: str, db_url: Optional[str]):
        self.kind = kind
        self.db = None
        self.directory: Optional[str] = None
        self.schema: Optional[str] = None
        self.engine = None
        if kind == "sqlite":
            self.directory = tempfile.mkdtemp(prefix="agno-bench-")
            self.db = open_sqlite(self.directory)
        elif kind == "postgres":
            if not db_url:
                raise SystemExit("--db postgres needs --db-url (or WEFT_BENCH_POSTGRES_URL)")
            from agno.db.postgres import PostgresDb, create_postgres_engine

            # agno's own engine factory (psycopg 3; pool_pre_ping, SQLAlchemy's default pool of
            # 5 connections + 10 overflow), as PostgresDb(db_url=...) users get it.
            self.engine = create_postgres_engine(db_url)
            self.schema = f"agno_bench_{os.getpid()}"
            self.drop_schema()
            self.db = PostgresDb(db_engine=self.engine, db_schema=self.schema)

    def drop_schema(self) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    def counts(self) -> dict:
        """Proof that the runs were stored (one session and one run row per run), and the size
        of what was stored."""
        if self.kind == "sqlite":
            self.db.db_engine.dispose()
            path = os.path.join(self.directory, "agno.db")
            return {
                "stored_sessions": count_rows(path, self.db.session_table_name),
                "stored_runs": count_rows(path, self.db.runs_table_name),
                "db_file_kib": sum(
                    os.path.getsize(os.path.join(self.directory, name))
                    for name in os.listdir(self.directory)
                )
                / 1024,
            }
        if self.kind == "postgres":
            from sqlalchemy import text

            with self.engine.connect() as conn:
                count = lambda table: int(  # noqa: E731
                    conn.execute(text(f'SELECT COUNT(*) FROM "{self.schema}"."{table}"')).scalar()
                )
                size = conn.execute(
                    text(
                        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = :schema AND c.relkind = 'r'"
                    ),
                    {"schema": self.schema},
                ).scalar()
                return {
                    "stored_sessions": count(self.db.session_table_name),
                    "stored_runs": count(self.db.runs_table_name),
                    "db_kib": int(size) / 1024,
                    "schema": self.schema,
                }
        return {}

    def close(self) -> None:
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
        if self.engine is not None:
            self.drop_schema()
            self.engine.dispose()


async def mode_sequential(base_url: str, runs: int, warmup: int, store: Store) -> dict:
    try:
        out = await sequential_runs(base_url, runs, warmup, store.db)
        out.update(store.counts())
        return out
    finally:
        store.close()


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
    db_cpu0 = postgres_cpu_seconds()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _ in range(runs):
        session_id = session()
        t0 = time.perf_counter()
        await run_once(workflow, session_id)
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    db_cpu = postgres_cpu_seconds() - db_cpu0
    requests = server_requests(base_url) - before_requests
    check_requests(requests, runs)

    if db is not None:
        statements = await statements_of_one_run(workflow, db, session())

    latencies.sort()
    out = {
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
    if is_postgres(db):
        out["db_cpu_ms_per_run"] = db_cpu * 1e3 / runs
    if db is not None:
        out["db_statements_per_run"] = statements
    return out


async def statements_of_one_run(workflow: Workflow, db, session_id: Optional[str]) -> dict:
    """After the timed runs: the SQL statements and commits one more run makes (SQLAlchemy
    engine events on the db's engine)."""
    from sqlalchemy import event

    counts = {"statements": 0, "commits": 0}

    def on_statement(*_args, **_kwargs) -> None:
        counts["statements"] += 1

    def on_commit(*_args, **_kwargs) -> None:
        counts["commits"] += 1

    engine = db.db_engine
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        await run_once(workflow, session_id)
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)
    return counts


async def mode_concurrent(base_url: str, concurrency: int, runs: int, warmup: int, store: Store) -> dict:
    try:
        out = await concurrent_runs(base_url, concurrency, runs, warmup, store.db)
        out.update(store.counts())
        return out
    finally:
        store.close()


async def concurrent_runs(base_url: str, concurrency: int, runs: int, warmup: int, db) -> dict:
    """`runs` runs, `concurrency` at a time (all at once when they are equal)."""
    workflow = build_workflow(base_url, db)
    session = (lambda: str(uuid4())) if db is not None else (lambda: None)
    for _ in range(warmup):
        await run_once(workflow, session())

    gc.collect()
    before_requests = server_requests(base_url)
    rss_before_kb = proc_status_kb("VmRSS")
    # The high-water mark is reset to the current RSS where the kernel allows
    # it; otherwise VmHWM may still hold an earlier peak (then it is an upper
    # bound of the concurrent phase's peak).
    hwm_reset = reset_peak_rss()
    gate = asyncio.Semaphore(concurrency)
    latencies = []

    async def one() -> None:
        async with gate:
            t0 = time.perf_counter()
            await run_once(workflow, session())
            latencies.append(time.perf_counter() - t0)

    db_cpu0 = postgres_cpu_seconds()
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(runs)))
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    db_cpu = postgres_cpu_seconds() - db_cpu0
    peak_kb = proc_status_kb("VmHWM")
    requests = server_requests(base_url) - before_requests
    check_requests(requests, runs)

    latencies.sort()
    out = {
        "concurrency": concurrency,
        "warmup_runs": warmup,
        "wall_ms": wall * 1e3,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "cpu_ms_per_run": cpu * 1e3 / runs,
        # ru_maxrss is KiB on Linux: the process-lifetime peak.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss_before_kb / 1024,
        "peak_rss_concurrent_mb": peak_kb / 1024,
        "hwm_reset": hwm_reset,
        "rss_per_run_kb": (peak_kb - rss_before_kb) / concurrency,
        "requests": requests,
        "requests_per_run": requests / runs,
    }
    out["runs"] = runs
    out["runs_per_sec"] = runs / wall
    if is_postgres(db):
        out["db_cpu_ms_per_run"] = db_cpu * 1e3 / runs
    return out


async def mode_session_save(base_url: str, store: Store, sizes: list, samples: int) -> dict:
    try:
        return await session_saves(base_url, store.db, sizes, samples)
    finally:
        store.close()


async def session_saves(base_url: str, db, sizes: list, samples: int) -> dict:
    """What saving one more run costs as a session's run count grows, and what reading the
    session back (as a run in it does first) costs.

    One real run of the workflow on `db` gives the session and a run record as Agno stores
    them. The session then grows by one run at a time up to max(sizes) + samples runs: each
    save is what Agno's Workflow does after a run (`_persist_session_and_run`: the run put in
    the session's in-memory list, its index found, `db.upsert_session(session)`,
    `db.upsert_run(run, run_index=...)`), called directly and synchronously (the Workflow
    makes the two db calls through `asyncio.to_thread`), each timed. A size N reports the
    saves made when the session held N .. N + samples - 1 runs; and, when it held exactly N,
    `db.get_session(...)` timed `samples` times (a Workflow run in the session reads it first,
    with every run: Agno's `get_session` attaches the whole run history).
    """
    from agno.db.base import SessionType
    from agno.session._utils import resolve_run_index

    workflow = build_workflow(base_url, db)
    session_id = str(uuid4())
    await run_once(workflow, session_id)
    session = db.get_session(session_id=session_id, session_type=SessionType.WORKFLOW)
    if session is None or len(session.runs or []) != 1:
        raise RuntimeError("the workflow run was not stored with its session")
    template = session.runs[0]
    run_bytes = len(json.dumps(template.to_dict(), default=str))

    sizes = sorted(set(sizes))
    top = sizes[-1] + samples
    saves: dict = {}
    loads: dict = {}
    gc.collect()
    count = len(session.runs)
    while count < top:
        if count in sizes:
            timings = []
            for _ in range(samples):
                t0 = time.perf_counter()
                loaded = db.get_session(session_id=session_id, session_type=SessionType.WORKFLOW)
                timings.append(time.perf_counter() - t0)
            if len(loaded.runs or []) != count:
                raise RuntimeError(f"get_session returned {len(loaded.runs or [])} runs, not {count}")
            loads[count] = sorted(timings)
        run = copy.deepcopy(template)
        run.run_id = str(uuid4())
        run.created_at = int(time.time())
        t0 = time.perf_counter()
        session.upsert_run(run=run)
        run_index = resolve_run_index(session, run)
        db.upsert_session(session)
        db.upsert_run(run=run, session_id=session_id, user_id=session.user_id, run_index=run_index)
        saves[count] = time.perf_counter() - t0
        count += 1

    points = []
    for size in sizes:
        window = sorted(saves[n] for n in range(size, size + samples))
        points.append(
            {
                "runs": size,
                "saves": len(window),
                "save_us": statistics.median(window) * 1e6,
                "save_p90_us": percentile(window, 90) * 1e6,
                "load_us": statistics.median(loads[size]) * 1e6,
            }
        )
    return {
        "sizes": sizes,
        "samples": samples,
        "run_json_bytes": run_bytes,
        "points": points,
        "method": "one more run saved as agno's Workflow saves it (session.upsert_run, "
        "resolve_run_index, db.upsert_session, db.upsert_run), median of the saves made at "
        "N..N+samples-1 runs; load: db.get_session(session_type=WORKFLOW) at N runs, median",
    }


# --------------------------------------------------------------------------
# Pauses for a person: a tool call that needs approval (weft-bench pauses)
# --------------------------------------------------------------------------

# What send_email returns: the mark by which `weft-bench pause-llm` knows the second request
# of a round (the first never holds it). The same strings as weft-bench's.
PAUSE_TOOL_RESULT = "EMAIL-QUEUED"
PAUSE_REQUEST = "Email Ana that the report is ready."
PAUSE_TO = "ana@example.com"
PAUSE_ANSWER = "".join(f"token{i} " for i in range(20))
REQUESTS_PER_ROUND = 2


def make_mailer(base_url: str, db, sent: list) -> Agent:
    """An assistant whose one tool needs a person's confirmation (weft-bench's BenchMailer)."""
    from agno.tools import tool

    @tool(requires_confirmation=True)
    def send_email(to: str) -> str:
        """Sends an email; every call waits for a person's approval.

        Args:
            to (str): The address.
        """
        sent[0] += 1
        return f"{PAUSE_TOOL_RESULT} to {to}"

    return Agent(
        name="assistant",
        model=OpenAIChat(id="gpt-4o", base_url=base_url, api_key="fake"),
        instructions="Send the emails you are asked to send.",
        tools=[send_email],
        db=db,
        telemetry=False,
    )


async def pause_round(agent: Agent, session_id: str, from_db: bool) -> tuple:
    """One round: run to the pause, confirm, continue to the end. Returns (to the pause, from
    the approval to the end), in seconds."""
    t0 = time.perf_counter()
    paused: Optional[RunPausedEvent] = None
    output: Optional[RunOutput] = None
    async for event in agent.arun(
        PAUSE_REQUEST, stream=True, session_id=session_id, yield_run_output=not from_db
    ):
        if isinstance(event, RunPausedEvent):
            paused = event
        elif isinstance(event, RunOutput):
            output = event
    if paused is None:
        raise RuntimeError("the run did not pause")
    pending = paused.active_requirements
    if len(pending) != 1 or not pending[0].needs_confirmation:
        raise RuntimeError(f"unexpected requirements: {pending!r}")
    call = pending[0].tool_execution
    if call.tool_name != "send_email" or call.tool_args != {"to": PAUSE_TO}:
        raise RuntimeError(f"an unexpected tool call: {call.tool_name} {call.tool_args}")
    pending[0].confirm()
    t1 = time.perf_counter()
    if from_db:
        # As an approval arriving later: the paused run is read back from the db.
        stream = agent.acontinue_run(
            run_id=paused.run_id,
            session_id=session_id,
            requirements=paused.requirements,
            stream=True,
        )
    else:
        if output is None or not output.is_paused:
            raise RuntimeError("the run gave no paused RunOutput")
        # The same requirement objects: confirming the event's confirmed the output's.
        stream = agent.acontinue_run(run_response=output, stream=True)
    chunks = []
    async for event in stream:
        if isinstance(event, RunContentEvent) and isinstance(event.content, str):
            chunks.append(event.content)
    answer = "".join(chunks)
    if answer != PAUSE_ANSWER:
        raise RuntimeError(f"the continued run streamed {answer!r}")
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


async def mode_pauses(base_url: str, rounds: int, warmup: int, store: Store) -> dict:
    try:
        out = await pause_rounds(base_url, rounds, warmup, store.db)
        out.update(store.counts())
        return out
    finally:
        store.close()


async def pause_rounds(base_url: str, rounds: int, warmup: int, db) -> dict:
    sent = [0]
    agent = make_mailer(base_url, db, sent)
    from_db = db is not None
    for _ in range(warmup):
        await pause_round(agent, str(uuid4()), from_db)

    gc.collect()
    sent_before = sent[0]
    before_requests = server_requests(base_url)
    totals, to_pause, to_end = [], [], []
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _ in range(rounds):
        paused, ended = await pause_round(agent, str(uuid4()), from_db)
        to_pause.append(paused)
        to_end.append(ended)
        totals.append(paused + ended)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    requests = server_requests(base_url) - before_requests
    expected = REQUESTS_PER_ROUND * rounds
    if requests != expected:
        raise SystemExit(f"expected {expected} requests for {rounds} rounds, the server saw {requests}")
    tools_run = sent[0] - sent_before
    if tools_run != rounds:
        raise SystemExit(f"send_email ran {tools_run} times in {rounds} rounds")

    for samples in (totals, to_pause, to_end):
        samples.sort()
    out = {
        "rounds": rounds,
        "warmup_rounds": warmup,
        "continue_with": "run_id (read back from the db)" if from_db else "run_response (in memory)",
        "wall_ms": wall * 1e3,
        "rounds_per_sec": rounds / wall,
        "p50_ms": statistics.median(totals) * 1e3,
        "p99_ms": percentile(totals, 99) * 1e3,
        "to_pause_p50_ms": statistics.median(to_pause) * 1e3,
        "to_pause_p99_ms": percentile(to_pause, 99) * 1e3,
        "continue_p50_ms": statistics.median(to_end) * 1e3,
        "continue_p99_ms": percentile(to_end, 99) * 1e3,
        "cpu_ms_per_round": cpu * 1e3 / rounds,
        "requests": requests,
        "requests_per_round": requests / rounds,
        "tools_run": tools_run,
    }
    if from_db:
        out.update(await checks_with_db(agent, db, from_db))
    return out


async def checks_with_db(agent: Agent, db, from_db: bool) -> dict:
    """After the timed rounds, one more round each: the SQL statements and commits of a
    round (SQLAlchemy engine events), then whether the session state given to the run
    survives its continue, and how the run is stored."""
    from agno.db.base import SessionType
    from sqlalchemy import event

    counts = {"statements": 0, "commits": 0}

    def on_statement(*_args, **_kwargs) -> None:
        counts["statements"] += 1

    def on_commit(*_args, **_kwargs) -> None:
        counts["commits"] += 1

    engine = db.db_engine
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        await pause_round(agent, str(uuid4()), from_db)
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)

    # Session state given to the paused run must still be there once it is continued (Agno
    # #8340/#8901 lost state on continue in other paths).
    session_id = str(uuid4())
    paused = None
    async for item in agent.arun(
        PAUSE_REQUEST, stream=True, session_id=session_id, session_state={"before_pause": True}
    ):
        if isinstance(item, RunPausedEvent):
            paused = item
    for requirement in paused.active_requirements:
        requirement.confirm()
    async for _ in agent.acontinue_run(
        run_id=paused.run_id, session_id=session_id, requirements=paused.requirements, stream=True
    ):
        pass
    state = agent.get_session_state(session_id=session_id)
    session = db.get_session(session_id=session_id, session_type=SessionType.AGENT)
    runs = session.runs or []
    return {
        "db_statements_per_round": counts,
        "session_state_kept_after_continue": bool(state.get("before_pause")),
        "stored_runs_in_round_session": len(runs),
        "stored_run_status": str(runs[-1].status.value) if runs else None,
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
    parser.add_argument(
        "--mode",
        choices=["sequential", "concurrent", "throughput", "session-save", "pauses", "instantiate"],
        default="sequential",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=None,
        help="sequential: measured runs (default 100); throughput: runs in all (default 1000); "
        "pauses: measured rounds (default 100)",
    )
    parser.add_argument(
        "--db",
        choices=["none", "sqlite", "postgres"],
        default="none",
        help="no storage, SqliteDb on a fresh file, or PostgresDb in a fresh schema at --db-url",
    )
    parser.add_argument(
        "--db-url",
        default=os.environ.get("WEFT_BENCH_POSTGRES_URL"),
        help="--db postgres: the database, e.g. postgres://postgres:postgres@127.0.0.1:5432/weft_bench "
        "(default: $WEFT_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--concurrency", type=int, default=100, help="concurrent, throughput: runs at once")
    parser.add_argument(
        "--sizes", default="1,10,100,1000", help="session-save: the run counts measured, comma-separated"
    )
    parser.add_argument("--samples", type=int, default=20, help="session-save: saves (and loads) per size")
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
        if args.mode == "instantiate":
            parser.error("--db is for the sequential, concurrent, throughput, session-save and pauses modes")
        common["store"] = args.db
        if args.db == "postgres":
            common["psycopg_version"] = pkg_version("psycopg")
            common["sqlalchemy_version"] = pkg_version("SQLAlchemy")
    elif args.mode == "session-save":
        parser.error("session-save needs --db sqlite or --db postgres")

    if args.mode == "instantiate":
        out = mode_instantiate(args.iterations, 10 if args.warmup is None else args.warmup)
    else:
        if not args.base_url:
            parser.error("--base-url is required for every mode but instantiate")
        server_requests(args.base_url)  # fail fast (and only on 127.0.0.1)
        warmup = 1 if args.warmup is None else args.warmup
        store = Store(args.db, args.db_url)
        if args.mode == "sequential":
            runs = 100 if args.runs is None else args.runs
            out = asyncio.run(mode_sequential(args.base_url, runs, warmup, store))
        elif args.mode == "pauses":
            if args.db == "postgres":
                parser.error("pauses: --db none or sqlite")
            runs = 100 if args.runs is None else args.runs
            out = asyncio.run(mode_pauses(args.base_url, runs, warmup, store))
        elif args.mode in ("concurrent", "throughput"):
            if args.mode == "concurrent":
                if args.runs is not None:
                    parser.error("concurrent makes --concurrency runs; use throughput for --runs")
                runs = args.concurrency
            else:
                runs = 1000 if args.runs is None else args.runs
            out = asyncio.run(mode_concurrent(args.base_url, args.concurrency, runs, warmup, store))
        else:
            sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
            out = asyncio.run(mode_session_save(args.base_url, store, sizes, args.samples))
        if args.mode == "pauses":
            common["request"] = PAUSE_REQUEST
        else:
            common["topic"] = TOPIC

    json.dump({**common, **out}, _RESULT_OUT)
    _RESULT_OUT.write("\n")
    _RESULT_OUT.flush()


if __name__ == "__main__":
    main()
