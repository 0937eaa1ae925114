"""Agno AgentOS server for the weft-vs-Agno HTTP benchmark.

Serves the SAME three-step "research" workflow bench_agno.py runs in-process
(imported from it: `build_workflow`; no storage, telemetry and debug off)
through Agno's own FastAPI app, `agno.os.AgentOS(workflows=[...]).get_app()`,
under uvicorn, so a load client can drive streamed runs over HTTP.

Usage:
  bench/agno/.venv/bin/python bench/agno/serve_agno.py --base-url http://127.0.0.1:PORT/v1 [--workers N]

It binds 127.0.0.1 on a free port chosen by the OS and, once the server accepts
connections, prints exactly one line on stdout:

  listening on http://127.0.0.1:PORT

Everything else goes to stderr. uvicorn runs with access logs off, log level
warning, lifespan on (as AgentOS.serve() does), on the pure-Python stack Agno's
`os` extra pulls in (asyncio loop, h11 HTTP parser; uvloop/httptools are not
installed). Stop it with SIGTERM or SIGINT.

--workers N (default 1): uvicorn's own multi-worker mode needs the app as an
import string and binds the socket itself, so it can't take this app object
and a pre-bound port-0 socket. Instead, N > 1 pre-forks N processes that share
the one listening socket (the kernel spreads connections over them, as
uvicorn's and gunicorn's workers do); each worker builds its own workflow and
AgentOS app and runs its own uvicorn Server. The line is printed once every
worker has started.

Storage: none (AgentOS does not require a db for workflow runs).

Wire protocol (agno 3.1.10, agno/os/routers/workflows/router.py)
---------------------------------------------------------------
Workflow id: "research" (the Workflow is named "research"; Agno derives the id
from the name). `GET /workflows` lists it.

Start a streamed run:

  POST /workflows/research/runs
  Content-Type: application/x-www-form-urlencoded   (multipart/form-data works too)

  message=embedded+databases+in+Rust&stream=true

  curl -N -X POST http://127.0.0.1:PORT/workflows/research/runs \
       --data-urlencode 'message=embedded databases in Rust' -d stream=true

Form fields: `message` (required; the workflow input, the `{topic}` of
`Search: {topic}`), `stream` (default true; false answers one JSON object),
optional `session_id`, `user_id`. With no `session_id` each request gets a new
one (uuid4); without a db nothing is stored. Any other form field is passed to
Workflow.arun as a keyword ("true"/"false" become booleans); e.g.
`stream_events=false` drops the lifecycle events (see below).

Response: 200, `content-type: text/event-stream; charset=utf-8`,
`Transfer-Encoding: chunked`. Each event is exactly two lines and a blank
line, LF line ends, no `id:` or `retry:` lines, no comments/keep-alives:

  event: <EventName>
  data: <one-line JSON object; its "event" field repeats EventName>

With the route's default (stream_events=true) one run of this workflow sends
32 events (about 19 KB), in order:
  WorkflowStarted
  StepStarted, StepOutput, StepCompleted      step "search" (step_index 0)
  StepStarted, StepOutput, StepCompleted      step "read"   (step_index 1)
  StepStarted                                 step "write"  (step_index 2)
  RunContent x 21                             the write agent's streamed reply
  StepOutput, StepCompleted                   step "write"
  WorkflowCompleted
(The write agent itself runs with Agno's default stream_events=False, as in
bench_agno.py, so there is no agent-level RunStarted/RunCompleted.) With the
form field stream_events=false - the event set bench_agno.py's in-process
workflow.arun(stream=True) yields - it is 26 events (about 15 KB):
WorkflowStarted, StepOutput x 2, RunContent x 21, StepOutput, WorkflowCompleted.

Streamed text: the `content` string of the `RunContent` events (agent_id
"write", step_name "write"), e.g.
  event: RunContent
  data: {"created_at":...,"event":"RunContent","agent_id":"write",...,"content":"token0 ",...}
The first RunContent carries "" (the model's role-only first chunk), then one
per text chunk: with weft-fake-llm --chunks 20 that is "token0 " ...
"token19 ", which joined give the summary. WorkflowCompleted's `content` (and
the last StepCompleted's) hold the whole summary again.

End of a run: `WorkflowCompleted` is the last event; right after it the server
ends the chunked body (zero-length chunk) and keeps the connection open for
keep-alive, so "saw WorkflowCompleted" and "body ended" are the same point.
Caveat: a failing model call does NOT fail the workflow - Agno's agents turn
it into content ("Connection error.") and the write step sends a `RunError`
event instead of text - and the stream still ends with WorkflowCompleted. So
a client checks the text (20 non-empty RunContent chunks, or the summary
starting with "token0 "), as bench_agno.py does. An exception escaping the
workflow ends the stream with a `WorkflowError` event (data has "error")
instead. Request errors are plain JSON: 404 {"detail":"Workflow not found"},
422 for a missing `message` (a JSON body is not accepted: form fields only).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# First, before Agno: bench_agno, on import, turns off Agno's telemetry and debug logging,
# drops OPENAI_BASE_URL from the environment, and points fd 1 at stderr (Agno logs to
# stdout when it is not a terminal), keeping the real stdout for one line: here, the
# single "listening on" line.
from bench_agno import _RESULT_OUT as _ANNOUNCE  # noqa: E402

import argparse  # noqa: E402
import asyncio  # noqa: E402
import ctypes  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
from typing import Callable  # noqa: E402

import uvicorn  # noqa: E402
from agno.os import AgentOS  # noqa: E402

# The workflow itself (agents, model settings, steps) comes from the in-process
# benchmark, unchanged.
from bench_agno import build_workflow, log, server_requests  # noqa: E402

LISTEN_BACKLOG = 4096  # concurrency 1000 connects at once


class _DropNoDbSessionWarning(logging.Filter):
    """Drop the one warning AgentOS logs after EVERY streamed run when the
    workflow has no db ("WorkflowSession <id> not found in db": the route looks
    the finished run up to check for a pause). It is expected here (no
    storage, as in the no-storage in-process bench) and would put one log line
    per run on stderr during the measurements. Other warnings pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg
        return not (isinstance(msg, str) and msg.startswith("WorkflowSession ") and msg.endswith(" not found in db"))


def quiet_agno_logs() -> None:
    for name in ("agno", "agno-team", "agno-workflow"):
        logging.getLogger(name).addFilter(_DropNoDbSessionWarning())


def build_app(base_url: str):
    workflow = build_workflow(base_url)
    agent_os = AgentOS(
        name="weft-bench",
        workflows=[workflow],
        telemetry=False,
    )
    return agent_os.get_app(), workflow.id


async def serve(sock: socket.socket, base_url: str, on_ready: Callable[[], None]) -> None:
    app, workflow_id = build_app(base_url)
    log(f"serve_agno[{os.getpid()}]: workflow id {workflow_id!r}")
    config = uvicorn.Config(
        app,
        lifespan="on",
        access_log=False,
        log_level="warning",
        backlog=LISTEN_BACKLOG,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.005)
    if server.started:
        on_ready()
    await task


def announce(port: int) -> None:
    _ANNOUNCE.write(f"listening on http://127.0.0.1:{port}\n")
    _ANNOUNCE.flush()


def bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(LISTEN_BACKLOG)
    sock.set_inheritable(True)
    return sock


def run_single(sock: socket.socket, base_url: str) -> None:
    port = sock.getsockname()[1]
    asyncio.run(serve(sock, base_url, lambda: announce(port)))


def run_prefork(sock: socket.socket, base_url: str, workers: int) -> int:
    port = sock.getsockname()[1]
    ready_r, ready_w = os.pipe()
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # worker
            os.close(ready_r)
            code = 0
            try:
                # Die with the parent (Linux PR_SET_PDEATHSIG = 1).
                try:
                    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
                except Exception:
                    pass
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                asyncio.run(serve(sock, base_url, lambda: os.write(ready_w, b"r")))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException as e:  # noqa: BLE001
                log(f"serve_agno worker {os.getpid()}: {type(e).__name__}: {e}")
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)
    os.close(ready_w)

    def stop(signum, _frame):
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    ready = 0
    while ready < workers:
        data = os.read(ready_r, workers - ready)
        if not data:  # every worker closed the pipe: some failed to start
            break
        ready += len(data)
    os.close(ready_r)
    if ready == workers:
        announce(port)
    else:
        log(f"serve_agno: only {ready} of {workers} workers started")
        stop(signal.SIGTERM, None)

    status = 0
    remaining = set(children)
    while remaining:
        try:
            pid, wstatus = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        remaining.discard(pid)
        code = os.waitstatus_to_exitcode(wstatus)
        if remaining and code not in (0, -signal.SIGTERM, -signal.SIGINT):
            # One worker died on its own: stop the rest rather than serve short-handed.
            log(f"serve_agno: worker {pid} exited with {code}; stopping")
            status = 1
            stop(signal.SIGTERM, None)
    return status if ready == workers else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:PORT/v1")
    parser.add_argument("--workers", type=int, default=1, help="server processes sharing the port (default 1)")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be >= 1")

    server_requests(args.base_url)  # fail fast (and only on 127.0.0.1)
    quiet_agno_logs()
    sock = bind()
    if args.workers == 1:
        run_single(sock, args.base_url)
    else:
        sys.exit(run_prefork(sock, args.base_url, args.workers))


if __name__ == "__main__":
    main()
