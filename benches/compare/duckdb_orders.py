"""Writes a generated call log out again with DuckDB in one of the orders and forms other tools
give, so that callfunnel is measured on every shape of file (see BENCHMARKS.md, "Every order
of a file").

Each output is DuckDB's own `COPY` of the calls read the way a user reads them (`read_csv`
with its type detection, so dates come out as `2024-03-04 09:30:00+00` and ringing times as
doubles), in one order (the SHAPE):

  ids             the generated order: ids increasing, dates in no order
  date_asc        dates ascending (ids no longer increasing)
  date_desc       dates descending
  shuffled        ids and dates in no order
  export          as an Allo export looks: opaque random ids, newest first
  repeated        export with 1 % of its calls written a second time, right after the first
                  (the second copy with one second more of talk time: it wins)
  export_parquet  export as Parquet, typed (a TIMESTAMP WITH TIME ZONE date)
  export_ndjson   export as NDJSON (DuckDB's `FORMAT json`)
  ids_ndjson, shuffled_ndjson, repeated_ndjson
                  ids, shuffled and repeated as NDJSON

Usage: python duckdb_orders.py SOURCE.csv SHAPE OUT
"""
import os
import sys

import duckdb

RANDOM_ID = "'cll-' || substr(md5(id), 1, 20)"
NEWEST_FIRST = "ORDER BY date DESC, id"
SHAPES = {
    "ids": ("typed", "", "csv"),
    "date_asc": ("typed", "ORDER BY date, id", "csv"),
    "date_desc": ("typed", NEWEST_FIRST, "csv"),
    "shuffled": ("typed", "ORDER BY hash(id)", "csv"),
    "export": ("export", NEWEST_FIRST, "csv"),
    "repeated": ("repeated", "ORDER BY date DESC, id, copy", "csv"),
    "export_parquet": ("export", NEWEST_FIRST, "parquet"),
    "export_ndjson": ("export", NEWEST_FIRST, "json"),
    "ids_ndjson": ("typed", "", "json"),
    "shuffled_ndjson": ("typed", "ORDER BY hash(id)", "json"),
    "repeated_ndjson": ("repeated", "ORDER BY date DESC, id, copy", "json"),
}


def make_views(con, source: str) -> None:
    """Views `typed`, `export` and `repeated` over the generated file."""
    con.execute(f"CREATE VIEW typed AS SELECT * FROM read_csv('{source}')")
    con.execute(f"CREATE VIEW export AS SELECT * REPLACE ({RANDOM_ID} AS id) FROM typed")
    con.execute(
        """CREATE VIEW repeated AS
           SELECT *, 0 AS copy FROM export
           UNION ALL
           SELECT * REPLACE (duration + 1 AS duration), 1 AS copy FROM export
           WHERE hash(id) % 100 = 0"""
    )


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[2] not in SHAPES:
        sys.exit(__doc__)
    source, shape, out = sys.argv[1:4]
    view, order, fmt = SHAPES[shape]
    con = duckdb.connect()
    make_views(con, source)
    columns = "* EXCLUDE (copy)" if view == "repeated" else "*"
    options = {"csv": "HEADER, DELIMITER ','", "parquet": "FORMAT parquet",
               "json": "FORMAT json"}[fmt]
    con.execute(f"COPY (SELECT {columns} FROM {view} {order}) TO '{out}' ({options})")


if __name__ == "__main__":
    main()
