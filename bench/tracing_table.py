"""Prints the tracing part of bench/compare.sh from its JSON lines (`weft-bench tracing`, one
per variant and round): the median runs/s, CPU per run and p50 of each variant, and what
each costs over spans compiled out.

Exits non-zero if a variant is missing, a run did not make exactly 3 requests, or the OTLP
sink did not get every span the runs made (7 per run: the workflow run, 3 agent runs, 3 model
calls; the warm-up's too).
"""

import json
import statistics
import sys

VARIANTS = [
    ("off", "tracing compiled out (`max_level_off`)"),
    ("no-subscriber", "spans compiled in, no subscriber"),
    ("otlp", "`weft::otel` exporting over OTLP/HTTP"),
]
SPANS_PER_RUN = 7


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    by_variant = {}
    bad = []
    for row in rows:
        by_variant.setdefault(row["tracing"], []).append(row)
        if row["requests"] != 3 * row["runs"]:
            bad.append(f"{row['tracing']}: {row['requests']} requests for {row['runs']} runs")
        received = row.get("otlp_received")
        if received is not None:
            warmup = min(row["runs"], 20)
            spans = received.get("/v1/traces", {}).get("spans", 0)
            if spans != SPANS_PER_RUN * (row["runs"] + warmup):
                bad.append(f"otlp: the sink got {spans} spans for {row['runs']} runs "
                           f"(+{warmup} warm-up)")
    missing = [name for name, _ in VARIANTS if name not in by_variant]
    if missing:
        print(f"tracing: no rows for {', '.join(missing)}")
        sys.exit(1)

    def median(name, key):
        return statistics.median(row[key] for row in by_variant[name])

    base_rps = median("off", "runs_per_sec")
    base_cpu = median("off", "cpu_ms_per_run")
    rounds = min(len(v) for v in by_variant.values())
    runs = by_variant["off"][0]["runs"]
    print(f"\nTracing overhead: sequential runs, in memory, medians of {rounds} rounds of "
          f"{runs} runs each (variants interleaved)\n")
    print("| spans | runs/s | time per run vs off | CPU ms/run | CPU vs off | p50 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, label in VARIANTS:
        rps = median(name, "runs_per_sec")
        cpu = median(name, "cpu_ms_per_run")
        p50 = median(name, "p50_ms")
        slower = (base_rps / rps - 1) * 100
        more_cpu = (cpu - base_cpu) * 1000
        vs_off = "-" if name == "off" else f"{slower:+.1f}%"
        cpu_vs_off = "-" if name == "off" else f"{more_cpu:+.0f} µs"
        print(f"| {label} | {rps:,.0f} | {vs_off} | {cpu:.3f} | {cpu_vs_off} | {p50:.3f} |")
    spread = {name: (min(r["runs_per_sec"] for r in rs), max(r["runs_per_sec"] for r in rs))
              for name, rs in by_variant.items()}
    print("\nruns/s range per variant: " + ", ".join(
        f"{name} {lo:,.0f}-{hi:,.0f}" for name, (lo, hi) in spread.items()))
    if bad:
        print("TRACING MISMATCH: " + "; ".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
