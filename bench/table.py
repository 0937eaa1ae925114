"""Prints the comparison table of bench/compare.sh from its JSON lines (one per measurement).

Exits non-zero if any side did not make exactly 3 requests per run.
"""

import json
import sys

IDEAL_MS = 3 * (200 + 19 * 5)  # three calls, each 200 ms to first token + 19 chunks x 5 ms


def load(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    found = {}
    for row in rows:
        key = (row["framework"], row["mode"], row.get("concurrency"))
        found[key] = row
    return found


def fmt(value, digits=1):
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.1f}x"


def main(path):
    r = load(path)
    weft_build = r.get(("weft", "construction", None), {})
    weft_heap = r.get(("weft", "heap", None), {})
    agno_build = r.get(("agno", "instantiate", None), {})
    lines = []

    def row(label, weft, agno, bare=None, better="lower", digits=1):
        # "Agno ÷ weft": how many times better weft does than Agno (faster, smaller).
        # "weft ÷ bare": what weft costs over the floor (1.0x: nothing).
        if better == "lower":
            vs_agno, vs_bare = ratio(agno, weft), ratio(weft, bare)
        else:
            vs_agno, vs_bare = ratio(weft, agno), ratio(bare, weft)
        lines.append(
            f"| {label} | {fmt(weft, digits)} | {fmt(agno, digits)} | {fmt(bare, digits)} "
            f"| {vs_agno} | {vs_bare} |"
        )

    print("| measure | weft | Agno | bare reqwest | Agno ÷ weft | weft ÷ bare |")
    print("|---|---|---|---|---|---|")
    agent_us = weft_build.get("agent_ns", 0) / 1000 or None
    row("agent construction (µs)", agent_us, agno_build.get("mean_us"), digits=2)
    heap_kib = weft_heap.get("agent_bytes", 0) / 1024 or None
    row("memory per agent (KiB)", heap_kib, agno_build.get("tracemalloc_peak_kib"), digits=2)
    workflow_us = weft_build.get("workflow_ns", 0) / 1000 or None
    row("workflow construction, 3 agents (µs)", workflow_us, None, digits=2)

    seq = {fw: r.get((fw, "sequential", None), {}) for fw in ("weft", "agno", "bare reqwest")}
    row("sequential runs/s", seq["weft"].get("runs_per_sec"), seq["agno"].get("runs_per_sec"),
        seq["bare reqwest"].get("runs_per_sec"), better="higher")
    for key, label in (("p50_ms", "sequential p50 (ms)"), ("p99_ms", "sequential p99 (ms)"),
                       ("cpu_ms_per_run", "client CPU per run (ms)")):
        row(label, seq["weft"].get(key), seq["agno"].get(key), seq["bare reqwest"].get(key),
            digits=2)

    concurrencies = sorted({k[2] for k in r if k[1] == "concurrent"})
    for c in concurrencies:
        con = {fw: r.get((fw, "concurrent", c), {}) for fw in ("weft", "agno", "bare reqwest")}
        row(f"{c} concurrent: wall (ms), ideal {IDEAL_MS}", con["weft"].get("wall_ms"),
            con["agno"].get("wall_ms"), con["bare reqwest"].get("wall_ms"), digits=0)
        row(f"{c} concurrent: peak RSS (MB)", con["weft"].get("peak_rss_mb"),
            con["agno"].get("peak_rss_mb"), con["bare reqwest"].get("peak_rss_mb"))
        row(f"{c} concurrent: RSS per run in flight (KB)", con["weft"].get("rss_per_run_kb"),
            con["agno"].get("rss_per_run_kb"), con["bare reqwest"].get("rss_per_run_kb"))
        weft_wall = con["weft"].get("wall_ms")
        if weft_wall:
            lines.append(f"| {c} concurrent: weft wall / ideal | {weft_wall / IDEAL_MS:.2f}x | "
                         f"{fmt((con['agno'].get('wall_ms') or 0) / IDEAL_MS, 2)}x | "
                         f"{fmt((con['bare reqwest'].get('wall_ms') or 0) / IDEAL_MS, 2)}x | | |")
    print("\n".join(lines))

    bad = []
    for (fw, mode, c), data in sorted(r.items(), key=lambda kv: str(kv[0])):
        runs = data.get("runs") or data.get("concurrency")
        if "requests" in data and runs:
            if data["requests"] != 3 * runs:
                bad.append(f"{fw} {mode} {c or ''}: {data['requests']} requests for {runs} runs")
    print()
    if bad:
        print("REQUEST COUNT MISMATCH: " + "; ".join(bad))
        sys.exit(1)
    print("The fake servers' counters agree: every side made exactly 3 requests per run.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.jsonl")
