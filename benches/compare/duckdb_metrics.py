#!/usr/bin/env python3
"""The outbound metrics response (SPEC sections 3-4) computed with DuckDB SQL.

Usage: python duckdb_metrics.py --input FILE(.csv|.parquet) --request REQUEST.json [--compact]

Prints the same JSON as `callfunnel metrics`. Reads the canonical CSV that
`callfunnel generate` writes (timestamps with an offset or `Z`, enums and tags
matched case-insensitively, tags `;`-separated, empty cells = unknown) or the
canonical Parquet store (taken as already canonical: API-case enums,
lower-case tag lists). Duplicate ids collapse to the occurrence read last
(SPEC 1.2), checked first with a count of distinct ids as callfunnel does.
Unlike callfunnel it validates nothing (a bad row either fails the cast or is
read as DuckDB reads it) and assumes a valid request.

Only integer aggregates come out of DuckDB; spec_response.py rounds them.
"""

import argparse
import os
import sys

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_response as spec  # noqa: E402


def quote(text):
    return "'" + str(text).replace("'", "''") + "'"


def string_list(values):
    return "[" + ", ".join(quote(v) for v in values) + "]::VARCHAR[]"


def load(con, path):
    """Creates the view `calls`: canonical columns, one row per id."""
    parquet = path.lower().endswith(".parquet")
    if parquet and not canonical_store(con, path):
        # Any other Parquet file (DuckDB's own COPY of a CSV, as text or typed): its columns
        # read as text, then normalised as a CSV is.
        return load_text(
            con, "(SELECT CAST(COLUMNS(*) AS VARCHAR) FROM read_parquet(%s))" % quote(path))
    if parquet:
        source = "read_parquet(%s)" % quote(path)
        rows, unique = con.execute(
            "SELECT count(*), count(DISTINCT id) FROM %s" % source).fetchone()
        if unique < rows:
            spec.note("duckdb: collapsed %d duplicate ids" % (rows - unique))
            con.execute(
                "CREATE VIEW calls AS SELECT * EXCLUDE (file_row_number) FROM "
                "read_parquet(%s, file_row_number = true) "
                "QUALIFY row_number() OVER (PARTITION BY id ORDER BY file_row_number DESC) = 1"
                % quote(path))
        else:
            con.execute("CREATE VIEW calls AS SELECT * FROM %s" % source)
        return
    if path.lower().endswith((".ndjson", ".jsonl")):
        fields = ["id", "date", "direction", "type", "user_id", "user_name", "user_email",
                  "allo_number", "allo_number_label", "contact_number", "result", "duration",
                  "ringing_seconds", "tags"]
        columns = "{" + ", ".join("%s: 'VARCHAR'" % quote(f) for f in fields) + "}"
        source = "read_json(%s, format = 'newline_delimited', columns = %s)" % (quote(path), columns)
    else:
        source = ("read_csv(%s, header = true, all_varchar = true, delim = ',', quote = '\"')"
                  % quote(path))
    load_text(con, source)


def canonical_store(con, path):
    """Whether the Parquet file at `path` holds calls as `callfunnel convert` writes them:
    dates as timestamps, tags as lists (taken as already canonical)."""
    kinds = con.execute("SELECT typeof(date), typeof(tags) FROM read_parquet(%s) LIMIT 1"
                        % quote(path)).fetchone()
    return kinds is not None and kinds[0] != "VARCHAR" and kinds[1].endswith("[]")


def load_text(con, source):
    """Creates the view `calls` from `source` (CSV, NDJSON or a Parquet file of text columns):
    read once into a table (in file order), every field as text, normalising as callfunnel
    does."""
    con.execute(
        """
        CREATE TEMP TABLE raw AS
        SELECT
            id,
            CAST(date AS TIMESTAMPTZ) AS date,
            coalesce(upper(nullif(direction, '')), 'OUTBOUND') AS direction,
            coalesce(upper(nullif(type, '')), 'CALL') AS type,
            nullif(user_id, '') AS user_id,
            nullif(user_name, '') AS user_name,
            nullif(user_email, '') AS user_email,
            nullif(allo_number, '') AS allo_number,
            nullif(allo_number_label, '') AS allo_number_label,
            nullif(contact_number, '') AS contact_number,
            upper(nullif(result, '')) AS result,
            coalesce(CAST(nullif(duration, '') AS BIGINT), 0) AS duration,
            CAST(nullif(ringing_seconds, '') AS DOUBLE) AS ringing_seconds,
            list_filter(list_transform(string_split(coalesce(tags, ''), ';'),
                                       lambda t: lower(trim(t))), lambda t: t <> '') AS tags
        FROM %s
        """ % source)
    rows, unique = con.execute("SELECT count(*), count(DISTINCT id) FROM raw").fetchone()
    if unique < rows:
        spec.note("duckdb: collapsed %d duplicate ids" % (rows - unique))
        con.execute(
            "CREATE VIEW calls AS SELECT * FROM raw "
            "QUALIFY row_number() OVER (PARTITION BY id ORDER BY rowid DESC) = 1")
    else:
        con.execute("CREATE VIEW calls AS SELECT * FROM raw")


def scope(con, request):
    """Creates the table `scoped`: counted calls of either period with their flags."""
    first, last = request.utc_window()
    filters = ["date >= %s::TIMESTAMPTZ" % quote(first.isoformat()),
               "date < %s::TIMESTAMPTZ" % quote(last.isoformat()),
               "direction = 'OUTBOUND'", "type = 'CALL'"]
    if request.user_ids:
        filters.append("user_id IN (%s)" % ", ".join(quote(v) for v in request.user_ids))
    elif request.allo_numbers:
        filters.append("allo_number IN (%s)" % ", ".join(quote(v) for v in request.allo_numbers))
    # Without request tags a call converts when it carries any tag (definitions 2).
    conversion = ("coalesce(list_has_any(tags, %s), false)" % string_list(request.tags)
                  if request.tags else "coalesce(len(tags) > 0, false)")
    con.execute(
        """
        CREATE TEMP TABLE scoped AS
        WITH local AS (
            SELECT *, timezone({zone}, date) AS local_time
            FROM calls
            WHERE {filters}
        ), flagged AS (
            SELECT *,
                CAST(local_time AS DATE) BETWEEN {cf}::DATE AND {ct}::DATE AS in_current,
                CAST(local_time AS DATE) BETWEEN {pf}::DATE AND {pt}::DATE AS in_previous,
                coalesce(result IN ('ANSWERED', 'TRANSFERRED'), false) AS is_connected
            FROM local
        )
        SELECT id, date, user_id, user_name, user_email, allo_number, allo_number_label,
               contact_number, result, duration, ringing_seconds, local_time,
               CAST(local_time AS DATE) AS local_day,
               in_current, in_previous, is_connected,
               is_connected AND duration > {threshold} AS is_conversation,
               {conversion} AS is_conversion
        FROM flagged
        WHERE in_current OR in_previous
        """.format(zone=quote(request.timezone), filters=" AND ".join(filters),
                   cf=quote(request.date_from), ct=quote(request.date_to),
                   pf=quote(request.compare_from), pt=quote(request.compare_to),
                   threshold=int(request.threshold), conversion=conversion))


def totals(con):
    parts = []
    for prefix, flag in (("current", "in_current"), ("previous", "in_previous")):
        parts += [
            "count(*) FILTER (WHERE {f})".format(f=flag),
            "count(*) FILTER (WHERE {f} AND is_connected)".format(f=flag),
            "count(*) FILTER (WHERE {f} AND is_conversation)".format(f=flag),
            "count(*) FILTER (WHERE {f} AND is_conversion)".format(f=flag),
            "count(*) FILTER (WHERE {f} AND ringing_seconds IS NOT NULL)".format(f=flag),
            # ringing time in whole milliseconds, half up, so the mean is exact
            "sum(CAST(floor(ringing_seconds * 1000.0 + 0.5) AS BIGINT)) FILTER (WHERE {f})"
            .format(f=flag),
            "sum(duration) FILTER (WHERE {f} AND is_connected)".format(f=flag),
        ]
    row = con.execute("SELECT " + ", ".join(parts) + " FROM scoped").fetchone()
    keys = ("dials", "connected", "conversations", "conversions", "ringing_known",
            "ringing_millis", "talk_sum")
    return {"current": dict(zip(keys, row[:7])), "previous": dict(zip(keys, row[7:]))}


def series(con, granularity):
    bucket = {
        "DAY": "local_day",
        "WEEK": "CAST(date_trunc('week', local_day) AS DATE)",
        "MONTH": "CAST(date_trunc('month', local_day) AS DATE)",
    }[granularity]
    rows = con.execute(
        "SELECT {b} AS bucket, count(*), count(*) FILTER (WHERE is_connected), "
        "count(*) FILTER (WHERE is_conversion) FROM scoped WHERE in_current GROUP BY bucket"
        .format(b=bucket)).fetchall()
    return {r[0]: r[1:] for r in rows}


def heatmap(con):
    rows = con.execute(
        "SELECT isodow(local_time) AS d, hour(local_time) AS h, count(*), "
        "count(*) FILTER (WHERE is_connected) FROM scoped WHERE in_current GROUP BY d, h"
    ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def leaderboard(con):
    # name and email of the user's latest call (ties: greatest id), as one struct so
    # that null fields are kept
    rows = con.execute(
        """
        SELECT user_id,
               arg_max({'name': user_name, 'email': user_email}, (date, id)) AS who,
               count(*) FILTER (WHERE is_connected) AS connected
        FROM scoped WHERE in_current AND user_id IS NOT NULL
        GROUP BY user_id
        ORDER BY connected DESC, user_id ASC
        """).fetchall()
    return [(r[0], r[1]["name"], r[1]["email"], r[2]) for r in rows]


def last_updated(con):
    return con.execute("SELECT epoch_us(max(date)) FROM calls").fetchone()[0]


def items(con, request):
    condition = {"DIAL": "true", "CONNECTED": "is_connected",
                 "CONVERSATION": "is_conversation", "CONVERSION": "is_conversion"}[request.stage]
    cursor = con.execute(
        """
        SELECT id, user_id, user_name, user_email, allo_number, allo_number_label,
               contact_number, result, duration, epoch_us(date) AS date_micros,
               is_connected AS connected, is_conversation AS conversation,
               is_conversion AS conversion
        FROM scoped WHERE in_current AND {c}
        ORDER BY date DESC, id ASC
        LIMIT {size} OFFSET {offset}
        """.format(c=condition, size=int(request.size), offset=int(request.offset)))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True)
    parser.add_argument("--request", required=True)
    parser.add_argument("--compact", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    request = spec.load_request(args.request)

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if args.threads:
        con.execute("SET threads = %d" % args.threads)
    load(con, args.input)
    scope(con, request)
    response = spec.build(
        request,
        totals(con),
        series(con, request.granularity),
        heatmap(con),
        leaderboard(con),
        last_updated(con),
        items(con, request) if request.items else None,
    )
    spec.emit(response, compact=args.compact)


if __name__ == "__main__":
    main()
