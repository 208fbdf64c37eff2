#!/usr/bin/env python3
"""Turns the raw measurements of run.sh into markdown tables.

Usage: python3 summarize.py RESULTS_DIR

Reads RESULTS_DIR/runs.tsv (rows format query engine run wall_s rss_kb status),
RESULTS_DIR/checks.tsv (rows format query engine verdict) and
RESULTS_DIR/sizes.tsv (rows format file_bytes in_memory_bytes) and prints:
the timings (min and median wall time, peak RSS, ratio of each engine's
median to callfunnel's), then the targets of the benchmark issue checked on
the largest size measured. Standard library only.
"""

import csv
import os
import statistics
import sys

ENGINE_ORDER = ["callfunnel", "duckdb", "polars"]
ENGINE_NAMES = {"callfunnel": "callfunnel", "duckdb": "DuckDB SQL", "polars": "Polars-Python"}
QUERY_NAMES = {"full": "full (3 months, compare, drilldown)", "4weeks": "4 weeks",
               "issue11": "issue 11 (4 weeks, compare, tags, DAY, New York, page 2)"}
FORMATS = ["csv", "parquet", "ndjson", "duckcsv", "duckparquet", "store"]


def read(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def rows_label(n):
    n = int(n)
    if n % 1_000_000 == 0:
        return "%dM" % (n // 1_000_000)
    if n % 1_000 == 0:
        return "%dk" % (n // 1_000)
    return str(n)


def mb(kb_or_bytes, unit=1024):
    return kb_or_bytes * unit / 1e6


def main():
    folder = sys.argv[1]
    runs = read(os.path.join(folder, "runs.tsv"))
    checks = {(c["rows"], c["format"], c["query"], c["engine"]): c["verdict"]
              for c in read(os.path.join(folder, "checks.tsv"))}
    sizes = {(s["rows"], s["format"]): s for s in read(os.path.join(folder, "sizes.tsv"))}

    stats = {}
    for run in runs:
        key = (run["rows"], run["format"], run["query"], run["engine"])
        entry = stats.setdefault(key, {"wall": [], "rss": [], "failed": 0})
        if run["status"] == "0":
            entry["wall"].append(float(run["wall_s"]))
            entry["rss"].append(int(run["rss_kb"]))
        else:
            entry["failed"] += 1

    def median(key):
        entry = stats.get(key)
        return statistics.median(entry["wall"]) if entry and entry["wall"] else None

    out = []
    out.append("| rows | format | query | engine | runs | min (s) | median (s) | peak RSS (MB) "
               "| median ÷ callfunnel's | same numbers as callfunnel |")
    out.append("|---|---|---|---|---:|---:|---:|---:|---:|---|")
    order = sorted({k[:3] for k in stats},
                   key=lambda k: (int(k[0]), FORMATS.index(k[1]) if k[1] in FORMATS else 9,
                                  list(QUERY_NAMES).index(k[2]) if k[2] in QUERY_NAMES else 9))
    for rows, fmt, query in order:
        base = median((rows, fmt, query, "callfunnel"))
        for engine in ENGINE_ORDER:
            key = (rows, fmt, query, engine)
            if key not in stats:
                continue
            entry = stats[key]
            n = len(entry["wall"])
            if n == 0:
                out.append("| %s | %s | %s | %s | 0 (%d failed) | – | – | – | – | – |" % (
                    rows_label(rows), fmt, QUERY_NAMES.get(query, query), ENGINE_NAMES[engine],
                    entry["failed"]))
                continue
            med = statistics.median(entry["wall"])
            ratio = "%.2f" % (med / base) if base else "–"
            verdict = "(reference)" if engine == "callfunnel" else checks.get(key, "not checked")
            failed = " (%d failed)" % entry["failed"] if entry["failed"] else ""
            out.append("| %s | %s | %s | %s | %d%s | %.2f | %.2f | %.0f | %s | %s |" % (
                rows_label(rows), fmt, QUERY_NAMES.get(query, query), ENGINE_NAMES[engine], n,
                failed, min(entry["wall"]), med, mb(max(entry["rss"])), ratio, verdict))

    # Targets, on the largest size measured.
    measured = sorted({int(k[0]) for k in stats if stats[k]["wall"]})
    if measured:
        rows = str(measured[-1])
        label = rows_label(rows)
        out.append("")
        out.append("Targets, on %s calls (medians):" % label)
        out.append("")
        out.append("| target | measured | met |")
        out.append("|---|---|---|")

        def target(text, measured_text, ok):
            out.append("| %s | %s | %s |" % (text, measured_text,
                                              "–" if ok is None else ("yes" if ok else "**no**")))

        cf_csv = median((rows, "csv", "full", "callfunnel"))
        dd_csv = median((rows, "csv", "full", "duckdb"))
        pl_csv = median((rows, "csv", "full", "polars"))
        cf_pq = median((rows, "parquet", "full", "callfunnel"))
        cf_4w = median((rows, "parquet", "4weeks", "callfunnel"))
        if cf_csv and dd_csv:
            target("full response from CSV at least as fast as DuckDB",
                   "callfunnel %.2f s, DuckDB %.2f s (×%.2f)" % (cf_csv, dd_csv, dd_csv / cf_csv),
                   cf_csv <= dd_csv)
        if cf_csv and pl_csv:
            target("full response from CSV faster than Polars-Python",
                   "callfunnel %.2f s, Polars-Python %.2f s (×%.2f)" % (cf_csv, pl_csv,
                                                                        pl_csv / cf_csv),
                   cf_csv < pl_csv)
        if cf_csv and cf_pq:
            target("full response from Parquet at least 2× faster than from CSV",
                   "CSV %.2f s, Parquet %.2f s (×%.2f)" % (cf_csv, cf_pq, cf_csv / cf_pq),
                   cf_csv >= 2 * cf_pq)
        if cf_4w:
            target("4-week query on the Parquet store under 1 s", "%.2f s" % cf_4w, cf_4w < 1.0)
        # Issue 11: against DuckDB on the same file; the store against DuckDB on its Parquet.
        for fmt, bound, yardstick in (("csv", 0.5, "csv"), ("duckcsv", 0.5, "duckcsv"),
                                      ("duckparquet", 0.5, "duckparquet"),
                                      ("store", 0.1, "duckparquet")):
            cf = median((rows, fmt, "issue11", "callfunnel"))
            dd = median((rows, yardstick, "issue11", "duckdb"))
            if cf and dd:
                target("issue 11: %s at most %.1f× DuckDB's time on %s" % (fmt, bound, yardstick),
                       "callfunnel %.2f s, DuckDB %.2f s (×%.2f)" % (cf, dd, cf / dd),
                       cf <= bound * dd)
        in_memory = sizes.get((rows, "parquet"), {}).get("in_memory_bytes")
        if in_memory:
            in_memory = int(in_memory)
            for fmt in ("parquet", "csv"):
                for query in QUERY_NAMES:
                    entry = stats.get((rows, fmt, query, "callfunnel"))
                    if not entry or not entry["rss"]:
                        continue
                    peak = max(entry["rss"]) * 1024
                    target("peak memory under 2× the Parquet data in memory (%.0f MB), %s, %s"
                           % (in_memory / 1e6, fmt, QUERY_NAMES[query]),
                           "%.0f MB (×%.2f)" % (peak / 1e6, peak / in_memory),
                           peak < 2 * in_memory)
    startup = read(os.path.join(folder, "startup.tsv"))
    if startup:
        out.append("")
        parts = []
        for library in ("duckdb", "polars"):
            walls = [float(s["wall_s"]) for s in startup if s["library"] == library]
            if walls:
                parts.append("`import %s` %.2f s" % (library, statistics.median(walls)))
        out.append("Python start-up included in every DuckDB / Polars-Python run (median of "
                   "`python -c 'import …'`): " + ", ".join(parts) + ".")
    print("\n".join(out))


if __name__ == "__main__":
    main()
