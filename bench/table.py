"""Prints the comparison table of bench/compare.sh from its JSON lines (one per measurement).

Exits non-zero if any side did not make exactly 3 requests per run (2 per round of the
pauses part).
"""

import json
import sys

IDEAL_MS = 3 * (200 + 19 * 5)  # three calls, each 200 ms to first token + 19 chunks x 5 ms


def load(path):
    """The rows by (framework, mode, concurrency, store, durability); the last one wins.

    `store` is "memory" or "sled" for weft's runs (rows without it, from before it was
    printed, are in-memory), "sqlite" for Agno with SqliteDb, None for no storage (Agno's
    default, bare reqwest).
    """
    rows = [json.loads(line) for line in open(path) if line.strip()]
    found = {}
    for row in rows:
        store = row.get("store")
        if store is None and row["framework"] == "weft" and row["mode"] == "sequential":
            store = "memory"
        key = (row["framework"], row["mode"], row.get("concurrency"), store,
               row.get("durability"))
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

    def get(framework, mode, concurrency=None, store=None, durability=None):
        return r.get((framework, mode, concurrency, store, durability), {})

    weft_build = get("weft", "construction")
    weft_heap = get("weft", "heap")
    agno_build = get("agno", "instantiate")
    lines = []
    measured = []  # whether any row of the main table has a number (not so for PARTS=pauses)

    def row(label, weft, agno, bare=None, better="lower", digits=1):
        # "Agno ÷ weft": how many times better weft does than Agno (faster, smaller).
        # "weft ÷ bare": what weft costs over the floor (1.0x: nothing).
        if any(value is not None for value in (weft, agno, bare)):
            measured.append(label)
        if better == "lower":
            vs_agno, vs_bare = ratio(agno, weft), ratio(weft, bare)
        else:
            vs_agno, vs_bare = ratio(weft, agno), ratio(bare, weft)
        lines.append(
            f"| {label} | {fmt(weft, digits)} | {fmt(agno, digits)} | {fmt(bare, digits)} "
            f"| {vs_agno} | {vs_bare} |"
        )

    agent_us = weft_build.get("agent_ns", 0) / 1000 or None
    row("agent construction (µs)", agent_us, agno_build.get("mean_us"), digits=2)
    heap_kib = weft_heap.get("agent_bytes", 0) / 1024 or None
    row("memory per agent (KiB)", heap_kib, agno_build.get("tracemalloc_peak_kib"), digits=2)
    workflow_us = weft_build.get("workflow_ns", 0) / 1000 or None
    row("workflow construction, 3 agents (µs)", workflow_us, None, digits=2)

    seq = {"weft": get("weft", "sequential", store="memory"), "agno": get("agno", "sequential"),
           "bare reqwest": get("bare reqwest", "sequential")}
    row("sequential runs/s", seq["weft"].get("runs_per_sec"), seq["agno"].get("runs_per_sec"),
        seq["bare reqwest"].get("runs_per_sec"), better="higher")
    for key, label in (("p50_ms", "sequential p50 (ms)"), ("p99_ms", "sequential p99 (ms)"),
                       ("cpu_ms_per_run", "client CPU per run (ms)")):
        row(label, seq["weft"].get(key), seq["agno"].get(key), seq["bare reqwest"].get(key),
            digits=2)

    concurrencies = sorted({k[2] for k in r if k[1] == "concurrent"})
    for c in concurrencies:
        con = {fw: get(fw, "concurrent", c) for fw in ("weft", "agno", "bare reqwest")}
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
    if measured:
        print("| measure | weft | Agno | bare reqwest | Agno ÷ weft | weft ÷ bare |")
        print("|---|---|---|---|---|---|")
        print("\n".join(lines))

    durable_table(get, seq)
    server_table(get, r)
    postgres_tables(get, r, path)
    pauses_table(get)

    bad = []
    for (fw, mode, c, store, durability), data in sorted(r.items(), key=lambda kv: str(kv[0])):
        runs = data.get("runs") or data.get("concurrency")
        if "requests" in data and runs:
            if data["requests"] != 3 * runs:
                label = " ".join(str(part) for part in (fw, mode, c, store, durability) if part)
                bad.append(f"{label}: {data['requests']} requests for {runs} runs")
        per_run = data.get("llm_requests_per_run")
        if per_run is not None and per_run != 3:
            bad.append(f"{fw} {mode} {c}: {per_run} requests per run")
        if data.get("requests_during_resume"):
            bad.append(f"{fw} {mode}: {data['requests_during_resume']} requests while resuming")
        if mode == "pauses":
            label = " ".join(str(part) for part in (fw, mode, store, durability) if part)
            if data.get("requests") != 2 * data.get("rounds", -1):
                bad.append(f"{label}: {data.get('requests')} requests for {data.get('rounds')} rounds")
            if data.get("tools_run") != data.get("rounds"):
                bad.append(f"{label}: the tool ran {data.get('tools_run')} times in "
                           f"{data.get('rounds')} rounds")
    print()
    if bad:
        print("REQUEST COUNT MISMATCH: " + "; ".join(bad))
        sys.exit(1)
    pauses = any(k[1] == "pauses" for k in r)
    runs = any(k[1] != "pauses" and "requests" in data for k, data in r.items())
    if runs and pauses:
        print("The fake servers' counters agree: every side made exactly 3 requests per run, "
              "and 2 per round of a person's approval.")
    elif pauses:
        print("The fake server's counter agrees: every side made exactly 2 requests per round "
              "of a person's approval (and the approved tool ran once a round).")
    else:
        print("The fake servers' counters agree: every side made exactly 3 requests per run.")


def durable_table(get, seq):
    """Durable runs: weft on sled (the event log and the journal on, as for every run) against
    in-memory weft and Agno with SqliteDb, and the resume of an interrupted run."""
    memory = seq["weft"]
    agno_db = get("agno", "sequential", store="sqlite")
    configs = [
        ("weft, in-memory store", memory),
        ("weft, sled, EveryStep (default)", get("weft", "sequential", store="sled",
                                               durability="every-step")),
        ("weft, sled, EveryEvent", get("weft", "sequential", store="sled",
                                       durability="every-event")),
        ("weft, sled, RunEnd", get("weft", "sequential", store="sled", durability="run-end")),
        ("weft, sled, Os", get("weft", "sequential", store="sled", durability="os")),
        ("Agno, no storage", seq["agno"]),
        ("Agno, SqliteDb (runs stored)", agno_db),
    ]
    resumes = [(d, get("weft", "resume", store="sled", durability=d))
               for d in ("every-step", "every-event", "run-end", "os")]
    resumes = [(d, row) for d, row in resumes if row]
    durable_rows = [(label, row) for label, row in configs if row and row.get("store") != "memory"]
    if not durable_rows and not resumes:
        return
    print()
    print("| sequential, durable | runs/s | p50 (ms) | p99 (ms) | client CPU per run (ms) "
          "| runs/s ÷ in-memory weft | runs/s ÷ Agno SqliteDb | Agno SqliteDb p50 ÷ p50 |")
    print("|---|---|---|---|---|---|---|---|")
    for label, row in configs:
        if not row:
            continue
        rps, p50 = row.get("runs_per_sec"), row.get("p50_ms")
        print(f"| {label} | {fmt(rps)} | {fmt(p50, 2)} | {fmt(row.get('p99_ms'), 2)} "
              f"| {fmt(row.get('cpu_ms_per_run'), 2)} "
              f"| {ratio2(rps, memory.get('runs_per_sec'))} "
              f"| {ratio2(rps, agno_db.get('runs_per_sec'))} "
              f"| {ratio2(agno_db.get('p50_ms'), p50)} |")
    if resumes:
        print()
        print("| resume after the last model call (sled) | runs | p50 (ms) | p99 (ms) | max (ms) |")
        print("|---|---|---|---|---|")
        for durability, row in resumes:
            name = DURABILITY.get(durability, durability)
            n = row.get("runs")
            for key, label in (("resume", f"resume to completion, {name}"),
                               ("open", f"store open (marks it interrupted), {name}"),
                               ("open_plus_resume", f"open + resume, {name}")):
                count = row.get("rounds") if key != "resume" else n
                print(f"| {label} | {count} | {fmt(row.get(key + '_p50_ms'), 2)} "
                      f"| {fmt(row.get(key + '_p99_ms'), 2)} "
                      f"| {fmt(row.get(key + '_max_ms'), 2)} |")

    # The targets of durable runs (weft issue 10).
    step = configs[1][1]
    print()
    if step and memory:
        got = step["runs_per_sec"] / memory["runs_per_sec"]
        print(f"- durable weft (EveryStep) ≥ 0.7× in-memory weft: {got:.2f}× "
              f"({'met' if got >= 0.7 else 'missed'})")
    if step and agno_db:
        got = step["runs_per_sec"] / agno_db["runs_per_sec"]
        print(f"- durable weft (EveryStep) ≥ 20× Agno with SqliteDb: {got:.1f}× "
              f"({'met' if got >= 20 else 'missed'})")
    for durability, row in resumes:
        p50, p99 = row.get("resume_p50_ms"), row.get("resume_p99_ms")
        if p50 is not None and p99 is not None:
            print(f"- resume < 5 ms plus the store open ({DURABILITY.get(durability, durability)}): "
                  f"p50 {p50:.2f} ms ({'met' if p50 < 5 else 'missed'}), "
                  f"p99 {p99:.2f} ms ({'met' if p99 < 5 else 'missed'}); "
                  f"store open p50 {row.get('open_p50_ms', 0):.2f} ms")
        discarded = row.get("resumes_with_content_discarded")
        if discarded:
            print(f"  ({discarded} of {row.get('runs')} resumed runs began with a ContentDiscarded "
                  f"item: the store's seq reservation was above the log's last seq; every "
                  f"resumed run's answer was checked against an uninterrupted run's)")


def server_table(get, r):
    """Workflows served over HTTP: weft::serve against Agno's AgentOS, streamed runs driven by
    weft-load; 1000 at once against the paced fake LLM; idle subscribers (weft issue 11)."""
    concurrencies = sorted({k[2] for k in r if k[1] == "server"})
    if not concurrencies:
        return
    print()
    print("| served over HTTP, streamed runs | weft::serve | AgentOS | weft ÷ AgentOS |")
    print("|---|---|---|---|")
    worst = None
    for c in concurrencies:
        weft, agno = get("weft", "server", c), get("agno", "server", c)
        rps_w, rps_a = weft.get("runs_per_sec"), agno.get("runs_per_sec")
        print(f"| {c} at a time: runs/s | {fmt(rps_w)} | {fmt(rps_a)} | {ratio(rps_w, rps_a)} |")
        if rps_w and rps_a:
            worst = min(worst or rps_w / rps_a, rps_w / rps_a)
        for key, label in (("ttfe_p50_ms", "time to first event p50 (ms)"),
                           ("ttfe_p99_ms", "time to first event p99 (ms)"),
                           ("server_cpu_ms_per_run", "server CPU per run (ms)"),
                           ("server_peak_rss_mb", "server peak RSS (MB)")):
            a, w = agno.get(key), weft.get(key)
            print(f"| {c} at a time: {label} | {fmt(w, 2)} | {fmt(a, 2)} | {ratio(a, w)} |")
    paced_w, paced_a = get("weft", "server-paced", 1000), get("agno", "server-paced", 1000)
    if paced_w:
        print(f"| 1000 at once, paced LLM: wall (ms), ideal {IDEAL_MS} | {fmt(paced_w.get('wall_ms'))} "
              f"| {fmt(paced_a.get('wall_ms'))} | {ratio(paced_a.get('wall_ms'), paced_w.get('wall_ms'))} |")
        print(f"| 1000 at once, paced LLM: wall ÷ ideal | {fmt(paced_w.get('wall_over_ideal'), 2)}x "
              f"| {fmt(paced_a.get('wall_over_ideal'), 2)}x | |")
        print(f"| 1000 at once, paced LLM: server peak RSS (MB) | {fmt(paced_w.get('server_peak_rss_mb'))} "
              f"| {fmt(paced_a.get('server_peak_rss_mb'))} | |")
    idle = get("weft", "idle")
    bare = get("bare axum", "idle")
    if idle:
        print(f"| {idle['subscribers']:,} idle event streams on one run: server RSS (MB) "
              f"| {fmt(idle.get('server_rss_mb'))} | - (no such route) | |")
        print(f"| the same, per stream (KB) | {fmt(idle.get('server_kb_per_subscriber'))} | | |")
    if bare:
        print(f"| floor: plain axum, {bare['subscribers']:,} idle SSE streams: RSS (MB) "
              f"| {fmt(bare.get('server_rss_mb'))} ({fmt(bare.get('server_kb_per_subscriber'))} KB each) | | |")
    print()
    if worst is not None:
        print(f"- ≥ 10× AgentOS runs/s: {worst:.1f}× at worst ({'met' if worst >= 10 else 'missed'})")
    if paced_w.get("wall_over_ideal"):
        got = paced_w["wall_over_ideal"]
        print(f"- 1000 concurrent streamed runs within 1.3× the ideal wall time: {got:.2f}× "
              f"({'met' if got <= 1.3 else 'missed'})")
    if idle:
        got = idle["server_rss_mb"]
        print(f"- < 100 MB RSS for {idle['subscribers']:,} idle subscribers: {got:.0f} MB "
              f"({'met' if got < 100 else 'missed'}; {idle.get('connected')} connected)")


def postgres_tables(get, r, path):
    """weft's PostgresStorage against Agno's PostgresDb on the same server, next to in-memory
    weft, sled and Agno's SqliteDb: durable runs one at a time and many at a time, event-log
    appends, and what saving one more run costs as a session grows."""
    pg = get("weft", "sequential", store="postgres")
    throughput = sorted({k[2] for k in r if k[1] == "throughput"})
    if not pg and not throughput:
        return
    # (label, framework, store of the sequential row, durability, store of the throughput rows:
    # in-memory weft's have none, as its concurrent rows)
    configs = [
        ("weft, in-memory store", "weft", "memory", None, None),
        ("weft, sled, EveryStep", "weft", "sled", "every-step", "sled"),
        ("weft, PostgreSQL", "weft", "postgres", None, "postgres"),
        ("Agno, no storage", "agno", None, None, None),
        ("Agno, SqliteDb", "agno", "sqlite", None, "sqlite"),
        ("Agno, PostgresDb", "agno", "postgres", None, "postgres"),
    ]
    print()
    print("| durable runs, fake LLM answering at once | sequential runs/s | p50 (ms) | p99 (ms) "
          "| client CPU per run (ms) | PostgreSQL CPU per run (ms) | "
          + " | ".join(f"{c} at a time: runs/s | {c} at a time: p99 (ms)" for c in throughput) + " |")
    print("|---|---|---|---|---|---|" + "---|---|" * len(throughput))
    rates = {}
    for label, fw, store, durability, tp_store in configs:
        seq = get(fw, "sequential", store=store, durability=durability)
        tps = [get(fw, "throughput", c, store=tp_store, durability=durability)
               for c in throughput]
        if not seq and not any(tps):
            continue
        rates[label] = [seq.get("runs_per_sec")] + [tp.get("runs_per_sec") for tp in tps]
        db_cpu = seq.get("db_cpu_ms_per_run")
        cells = " | ".join(f"{fmt(tp.get('runs_per_sec'))} | {fmt(tp.get('p99_ms'))}" for tp in tps)
        print(f"| {label} | {fmt(seq.get('runs_per_sec'))} | {fmt(seq.get('p50_ms'), 2)} "
              f"| {fmt(seq.get('p99_ms'), 2)} | {fmt(seq.get('cpu_ms_per_run'), 2)} "
              f"| {fmt(db_cpu, 2)} | {cells} |")
    print()
    columns = ["sequential"] + [f"{c} at a time" for c in throughput]

    def compare(a, b):
        if a in rates and b in rates:
            parts = [f"{name} {ratio2(x, y)}" for name, x, y in zip(columns, rates[a], rates[b])]
            print(f"- runs/s, {a} ÷ {b}: " + ", ".join(parts))

    compare("weft, PostgreSQL", "Agno, PostgresDb")
    compare("weft, PostgreSQL", "weft, sled, EveryStep")
    compare("weft, PostgreSQL", "weft, in-memory store")
    compare("Agno, PostgresDb", "Agno, no storage")
    calls = pg.get("store_calls_per_run")
    if calls:
        made = {name: n for name, n in calls["calls"].items() if ":" not in name}
        detail = ", ".join(f"{name} {n}" for name, n in sorted(made.items(), key=lambda kv: -kv[1]))
        carried = calls["calls"]
        print(f"- one weft run's calls to PostgresStorage (each one round trip, one transaction): "
              f"{calls['total']} ({detail}); its appends carried "
              f"{carried.get('append_log: items', 0)} items and "
              f"{carried.get('append_log: journal entries', 0)} journal entries")
    agno_pg = get("agno", "sequential", store="postgres").get("db_statements_per_run")
    if agno_pg:
        print(f"- one Agno run on PostgresDb: {agno_pg['statements']} SQL statements, "
              f"{agno_pg['commits']} commits")

    rows = [json.loads(line) for line in open(path) if line.strip()]
    appends = {}
    for row in rows:
        if row.get("mode") == "append":
            appends[(row.get("store"), row.get("durability"), row.get("concurrency"),
                     row.get("batch"))] = row
    if appends:
        stores = [("postgres", None, "PostgreSQL"), ("sled", "every-step", "sled EveryStep"),
                  ("sled", "every-event", "sled EveryEvent")]
        stores = [s for s in stores if any(k[:2] == s[:2] for k in appends)]
        shapes = sorted({k[2:] for k in appends})
        print()
        print("| appends to event logs (append_log) | " + " | ".join(name for *_, name in stores)
              + " |")
        print("|---|" + "---|" * len(stores))
        for runs, batch in shapes:
            what = f"{runs} run{'s' if runs != 1 else ''} at once, {batch} item{'s' if batch != 1 else ''} per append"
            for key, label, digits in (("events_per_sec", "events/s", 0),
                                       ("append_p50_us", "p50 per append (µs)", 1),
                                       ("append_p99_us", "p99 per append (µs)", 1)):
                cells = [fmt(appends.get((st, du, runs, batch), {}).get(key), digits)
                         for st, du, _ in stores]
                print(f"| {what}: {label} | " + " | ".join(cells) + " |")
        pg_cpu = [row.get("db_cpu_us_per_event") for k, row in sorted(appends.items(), key=str)
                  if k[0] == "postgres"]
        if any(pg_cpu):
            print()
            print("PostgreSQL CPU per appended event (µs), by row: "
                  + ", ".join(f"{runs} run(s) × batch {batch}: {fmt(appends[('postgres', None, runs, batch)].get('db_cpu_us_per_event'))}"
                              for runs, batch in shapes if ('postgres', None, runs, batch) in appends))

    saves = {}
    for row in rows:
        if row.get("mode") == "session-save":
            saves[(row["framework"], row.get("store"))] = {p["runs"]: p for p in row["points"]}
    if saves:
        sides = [(("weft", "postgres"), "weft, PostgreSQL"), (("weft", "sled"), "weft, sled"),
                 (("agno", "postgres"), "Agno, PostgresDb"), (("agno", "sqlite"), "Agno, SqliteDb")]
        sides = [(k, label) for k, label in sides if k in saves]
        sizes = sorted({n for points in saves.values() for n in points})
        print()
        print("| runs in the session | " + " | ".join(f"{label}: save one more run (µs)" for _, label in sides)
              + " | " + " | ".join(f"{label}: {'read_session' if k[0] == 'weft' else 'get_session'} (µs)"
                                   for k, label in sides)
              + " | " + " | ".join(f"{label}: read_runs (µs)" for k, label in sides if k[0] == "weft")
              + " |")
        weft_sides = [k for k, _ in sides if k[0] == "weft"]
        print("|---|" + "---|" * (2 * len(sides) + len(weft_sides)))
        for n in sizes:
            save_cells = [fmt(saves[k].get(n, {}).get("save_us")) for k, _ in sides]
            load_cells = [fmt(saves[k].get(n, {}).get("load_us")) for k, _ in sides]
            runs_cells = [fmt(saves[k].get(n, {}).get("read_runs_us")) for k in weft_sides]
            print(f"| {n:,} | " + " | ".join(save_cells + load_cells + runs_cells) + " |")
        print()
        for k, label in sides:
            points = saves[k]
            if len(points) > 1:
                lo, hi = points[min(points)], points[max(points)]
                print(f"- {label}: a save at {max(points):,} runs ÷ at {min(points):,}: "
                      f"{ratio2(hi.get('save_us'), lo.get('save_us'))}; the read: "
                      f"{ratio2(hi.get('load_us'), lo.get('load_us'))}")


def pauses_table(get):
    """Rounds of a person's approval, one at a time: a run whose model asks for a tool that
    needs approval pauses, is approved and continued to its end (weft's continue_run, Agno's
    acontinue_run), in memory and on a local store."""
    configs = [
        ("weft, in-memory store", get("weft", "pauses", store="memory"), "memory"),
        ("weft, sled, EveryStep", get("weft", "pauses", store="sled", durability="every-step"),
         "db"),
        ("weft, sled, EveryEvent", get("weft", "pauses", store="sled", durability="every-event"),
         "db"),
        ("weft, sled, RunEnd", get("weft", "pauses", store="sled", durability="run-end"), "db"),
        ("weft, sled, Os", get("weft", "pauses", store="sled", durability="os"), "db"),
        ("Agno, no storage", get("agno", "pauses"), "memory"),
        ("Agno, SqliteDb", get("agno", "pauses", store="sqlite"), "db"),
    ]
    configs = [(label, row, kind) for label, row, kind in configs if row]
    if not configs:
        return
    agno = {"memory": get("agno", "pauses"), "db": get("agno", "pauses", store="sqlite")}
    print()
    print("| a person's approval, one round at a time | rounds/s | round p50 (ms) | round p99 (ms) "
          "| run to the pause, p50 (ms) | approval to the end, p50 (ms) "
          "| client CPU per round (ms) | requests per round | rounds/s ÷ Agno (same storage) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, row, kind in configs:
        rps = row.get("rounds_per_sec")
        vs = ratio(rps, agno[kind].get("rounds_per_sec")) if row["framework"] == "weft" else ""
        print(f"| {label} | {fmt(rps)} | {fmt(row.get('p50_ms'), 2)} | {fmt(row.get('p99_ms'), 2)} "
              f"| {fmt(row.get('to_pause_p50_ms'), 2)} | {fmt(row.get('continue_p50_ms'), 2)} "
              f"| {fmt(row.get('cpu_ms_per_round'), 2)} | {fmt(row.get('requests_per_round'), 1)} "
              f"| {vs} |")
    print()
    for label, row, _ in configs:
        calls = row.get("store_calls_per_round")
        if calls:
            made = {name: n for name, n in calls["calls"].items() if ":" not in name}
            detail = ", ".join(f"{name} {n}" for name, n in sorted(made.items(), key=lambda kv: -kv[1]))
            carried = calls["calls"]
            print(f"- {label}: one round's calls to the store: {calls['total']} ({detail}); its "
                  f"appends carried {carried.get('append_log: items', 0)} items and "
                  f"{carried.get('append_log: journal entries', 0)} journal entries; "
                  f"{fmt(row.get('store_kib'))} KiB stored for {row['rounds'] + row.get('warmup_rounds', 0) + 1} rounds")
    db = agno["db"]
    if db:
        statements = db.get("db_statements_per_round") or {}
        print(f"- Agno, SqliteDb: one round: {statements.get('statements')} SQL statements, "
              f"{statements.get('commits')} commits; continued by {db.get('continue_with')}; "
              f"{db.get('stored_sessions')} sessions and {db.get('stored_runs')} runs stored "
              f"({fmt(db.get('db_file_kib'))} KiB); the continued run stored as "
              f"{db.get('stored_run_status')}; session state given to the paused run kept "
              f"after the continue: {db.get('session_state_kept_after_continue')}")
    if agno["memory"]:
        print(f"- Agno, no storage: continued by {agno['memory'].get('continue_with')}")


DURABILITY = {"every-event": "EveryEvent", "every-step": "EveryStep", "run-end": "RunEnd",
              "os": "Os"}


def ratio2(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.jsonl")
