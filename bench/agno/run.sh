#!/usr/bin/env bash
# Agno side of the weft-vs-Agno benchmark.
#   bash bench/agno/run.sh --base-url http://127.0.0.1:PORT/v1 [--mode sequential|concurrent|instantiate] ...
#   bash bench/agno/run.sh --serve --base-url http://127.0.0.1:PORT/v1 [--workers N]   # AgentOS (serve_agno.py)
# Creates bench/agno/.venv once (python3 -m venv + pinned requirements), then
# runs bench_agno.py with the given arguments; it prints one JSON object on
# stdout, logs on stderr. Works from any cwd.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements.txt"

# (Re)install when the venv is missing or requirements.txt changed since.
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$stamp"; then
    echo "agno bench: setting up $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$here/requirements.txt" 1>&2
    cp "$here/requirements.txt" "$stamp"
fi

export AGNO_TELEMETRY=false
export PYTHONDONTWRITEBYTECODE=1
if [ "${1:-}" = "--serve" ]; then
    shift
    exec "$venv/bin/python" "$here/serve_agno.py" "$@"
fi
exec "$venv/bin/python" "$here/bench_agno.py" "$@"
