#!/usr/bin/env python3
"""The outbound metrics response (SPEC sections 3-4) computed with Polars for Python (lazy API).

Usage: python polars_metrics.py --input FILE(.csv|.ndjson|.parquet) --request REQUEST.json [--compact]

Prints the same JSON as `callfunnel metrics`. Reads the canonical CSV that
`callfunnel generate` writes (RFC 3339 timestamps with an offset or `Z`, enums
and tags matched case-insensitively, tags `;`-separated, empty cells =
unknown), the same columns as flat NDJSON or as a Parquet file of text
columns (DuckDB's COPY of the CSV), or the canonical Parquet store, scanned
lazily and taken as already canonical (API-case enums, lower-case tag lists). Duplicate ids collapse to
the occurrence read last (SPEC 1.2), after a distinct-id count as callfunnel
does. Unlike callfunnel it validates nothing and assumes a valid request.

The plan follows the same shape as callfunnel's engine: one scoped frame
(coarse UTC window, counted calls, local day in the request's zone, flags),
cached, and every section collected together with `collect_all`. Only integer
aggregates come out of Polars; spec_response.py rounds them.
"""

import argparse
import os
import sys

import polars as pl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_response as spec  # noqa: E402


FIELDS = ["id", "date", "direction", "type", "user_id", "user_name", "user_email", "allo_number",
          "allo_number_label", "contact_number", "result", "duration", "ringing_seconds", "tags"]


def scan_text(path):
    """The CSV, flat NDJSON or Parquet file of text columns, every field as text."""
    if path.lower().endswith((".ndjson", ".jsonl")):
        return pl.scan_ndjson(path, schema={name: pl.String for name in FIELDS})
    if path.lower().endswith(".parquet"):
        return pl.scan_parquet(path)
    return pl.scan_csv(path, infer_schema=False, quote_char='"')


def read_text(path):
    """The CSV, flat NDJSON or Parquet file of text columns read into memory as canonical
    columns (as callfunnel reads them): every field as text first, then normalised."""
    text = lambda name: pl.col(name).replace("", None)  # noqa: E731
    upper = lambda name, default: (  # noqa: E731
        pl.col(name).str.to_uppercase().replace("", None).fill_null(default)
        if default is not None else pl.col(name).str.to_uppercase().replace("", None))
    return (
        scan_text(path)
        .select(
            pl.col("id"),
            pl.col("date").str.to_datetime(format="%+", time_unit="us", time_zone="UTC"),
            upper("direction", "OUTBOUND").alias("direction"),
            upper("type", "CALL").alias("type"),
            text("user_id"),
            text("user_name"),
            text("user_email"),
            text("allo_number"),
            text("allo_number_label"),
            text("contact_number"),
            upper("result", None).alias("result"),
            pl.col("duration").cast(pl.Int64).fill_null(0),
            pl.col("ringing_seconds").cast(pl.Float64),
            pl.col("tags").fill_null("").str.split(";")
            .list.eval(pl.element().str.strip_chars().str.to_lowercase())
            .list.eval(pl.element().filter(pl.element() != "")),
        )
        .collect()
    )


def load(path):
    """A lazy frame of canonical calls, one row per id."""
    typed = (path.lower().endswith(".parquet")
             and pl.scan_parquet(path).collect_schema()["date"] != pl.String)
    if typed:
        frame = pl.scan_parquet(path)
    else:
        frame = read_text(path).lazy()
    counts = frame.select(pl.len().alias("rows"), pl.col("id").n_unique().alias("unique")).collect()
    rows, unique = counts["rows"][0], counts["unique"][0]
    if unique < rows:
        spec.note("polars: collapsed %d duplicate ids" % (rows - unique))
        frame = frame.unique(subset=["id"], keep="last", maintain_order=True)
    return frame


def scoped_calls(calls, request):
    first, last = request.utc_window()
    counted = (
        (pl.col("date") >= pl.lit(first).cast(pl.Datetime("us", "UTC")))
        & (pl.col("date") < pl.lit(last).cast(pl.Datetime("us", "UTC")))
        & (pl.col("direction") == "OUTBOUND")
        & (pl.col("type") == "CALL")
    )
    if request.user_ids:
        counted = counted & pl.col("user_id").is_in(request.user_ids).fill_null(False)
    elif request.allo_numbers:
        counted = counted & pl.col("allo_number").is_in(request.allo_numbers).fill_null(False)
    if request.tags:
        conversion = pl.any_horizontal(
            [pl.col("tags").list.contains(pl.lit(tag)) for tag in request.tags]).fill_null(False)
    else:
        # Without request tags a call converts when it carries any tag (definitions 2).
        conversion = (pl.col("tags").list.len() > 0).fill_null(False)
    day = pl.col("local_day")
    return (
        calls.filter(counted)
        .with_columns(pl.col("date").dt.convert_time_zone(request.timezone).alias("local_time"))
        .with_columns(pl.col("local_time").dt.date().alias("local_day"))
        .with_columns(
            day.is_between(pl.lit(request.date_from), pl.lit(request.date_to)).alias("in_current"),
            day.is_between(pl.lit(request.compare_from), pl.lit(request.compare_to))
            .alias("in_previous"),
        )
        .filter(pl.col("in_current") | pl.col("in_previous"))
        .with_columns(pl.col("result").is_in(spec.CONNECTED_RESULTS).fill_null(False)
                      .alias("is_connected"))
        .with_columns(
            (pl.col("is_connected") & (pl.col("duration") > request.threshold))
            .alias("is_conversation"),
            conversion.alias("is_conversion"),
        )
    )


def count_where(condition):
    return condition.cast(pl.Int64).sum()


def totals_plan(scoped):
    # ringing time in whole milliseconds, half up, so that the mean is exact
    millis = (pl.col("ringing_seconds") * 1000.0 + 0.5).cast(pl.Int64)
    aggregations = []
    for prefix, flag in (("current", "in_current"), ("previous", "in_previous")):
        period = pl.col(flag)
        connected = period & pl.col("is_connected")
        aggregations += [
            count_where(period).alias(prefix + "_dials"),
            count_where(connected).alias(prefix + "_connected"),
            count_where(period & pl.col("is_conversation")).alias(prefix + "_conversations"),
            count_where(period & pl.col("is_conversion")).alias(prefix + "_conversions"),
            count_where(period & pl.col("ringing_seconds").is_not_null())
            .alias(prefix + "_ringing_known"),
            millis.filter(period).sum().alias(prefix + "_ringing_millis"),
            pl.col("duration").filter(connected).sum().alias(prefix + "_talk_sum"),
        ]
    return scoped.select(aggregations)


def series_plan(scoped, granularity):
    day = pl.col("local_day")
    bucket = {
        "DAY": day,
        "WEEK": day - pl.duration(days=pl.col("local_time").dt.weekday().cast(pl.Int64) - 1),
        "MONTH": day.dt.month_start(),
    }[granularity]
    return (
        scoped.filter(pl.col("in_current"))
        .group_by(bucket.alias("bucket"))
        .agg(pl.len().alias("dials"), count_where(pl.col("is_connected")).alias("connected"),
             count_where(pl.col("is_conversion")).alias("conversions"))
    )


def heatmap_plan(scoped):
    return (
        scoped.filter(pl.col("in_current"))
        .group_by(pl.col("local_time").dt.weekday().alias("weekday"),
                  pl.col("local_time").dt.hour().alias("hour"))
        .agg(pl.len().alias("dials"), count_where(pl.col("is_connected")).alias("connected"))
    )


def leaderboard_plan(scoped):
    latest = lambda name: pl.col(name).sort_by(["date", "id"]).last()  # noqa: E731
    return (
        scoped.filter(pl.col("in_current") & pl.col("user_id").is_not_null())
        .group_by("user_id")
        .agg(count_where(pl.col("is_connected")).alias("connected"),
             latest("user_name"), latest("user_email"))
        .sort(["connected", "user_id"], descending=[True, False])
    )


def last_updated_plan(calls):
    return calls.select(pl.col("date").max().dt.epoch("us").alias("date_micros"))


def items_plan(scoped, request):
    condition = {"DIAL": pl.lit(True), "CONNECTED": pl.col("is_connected"),
                 "CONVERSATION": pl.col("is_conversation"),
                 "CONVERSION": pl.col("is_conversion")}[request.stage]
    return (
        scoped.filter(pl.col("in_current") & condition)
        .sort(["date", "id"], descending=[True, False])
        .slice(request.offset, request.size)
        .select("id", "user_id", "user_name", "user_email", "allo_number", "allo_number_label",
                "contact_number", "result", "duration",
                pl.col("date").dt.epoch("us").alias("date_micros"),
                pl.col("is_connected").alias("connected"),
                pl.col("is_conversation").alias("conversation"),
                pl.col("is_conversion").alias("conversion"))
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--request", required=True)
    parser.add_argument("--compact", action="store_true")
    args = parser.parse_args()
    request = spec.load_request(args.request)

    calls = load(args.input)
    scoped = scoped_calls(calls, request).cache()
    plans = [totals_plan(scoped), series_plan(scoped, request.granularity), heatmap_plan(scoped),
             leaderboard_plan(scoped), last_updated_plan(calls)]
    if request.items:
        plans.append(items_plan(scoped, request))
    frames = pl.collect_all(plans)
    totals_frame, series_frame, heatmap_frame, board_frame, updated_frame = frames[:5]

    row = totals_frame.row(0, named=True)
    keys = ("dials", "connected", "conversations", "conversions", "ringing_known",
            "ringing_millis", "talk_sum")
    totals = {period: {k: row["%s_%s" % (period, k)] for k in keys}
              for period in ("current", "previous")}
    series = {r[0]: r[1:] for r in series_frame.iter_rows()}
    heatmap = {(r[0], r[1]): r[2:] for r in heatmap_frame.iter_rows()}
    board = [(r["user_id"], r["user_name"], r["user_email"], r["connected"])
             for r in board_frame.iter_rows(named=True)]
    items = list(frames[5].iter_rows(named=True)) if request.items else None
    response = spec.build(request, totals, series, heatmap, board,
                          updated_frame["date_micros"][0], items)
    spec.emit(response, compact=args.compact)


if __name__ == "__main__":
    main()
