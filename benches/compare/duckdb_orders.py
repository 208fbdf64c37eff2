"""Writes a generated call log out again with DuckDB in the orders and forms other tools give,
so that callfunnel is measured on every shape of file (see BENCHMARKS.md, "Every order of a
file").

Each output is DuckDB's own `COPY` of the calls read the way a user reads them
(`read_csv` with its type detection, so dates come out as `2024-03-04 09:30:00+00` and ringing
times as doubles), in one order:

  ids.csv          the generated order: ids increasing, dates in no order
  date_asc.csv     dates ascending (ids no longer increasing)
  date_desc.csv    dates descending
  shuffled.csv     ids and dates in no order
  export.csv       as an Allo export looks: opaque random ids, newest first
  repeated.csv     export.csv with 1 % of its calls written a second time, further down
  text.csv         ids.csv read as text (dates as generated, `2024-03-04T09:30:00Z`)
  export.parquet   export.csv as Parquet, typed (a TIMESTAMP WITH TIME ZONE date)
  text.parquet     text.csv as Parquet (text columns)
  export.ndjson    export.csv as NDJSON (`read_json`'s own form)

Usage: python duckdb_orders.py SOURCE.csv OUT_DIR [NAME...]   (all when no NAME)
"""
import os
import sys

import duckdb

RANDOM_ID = "'cll-' || substr(md5(id), 1, 20)"
ORDERS = {
    "ids.csv": ("typed", "", None),
    "date_asc.csv": ("typed", "ORDER BY date, id", None),
    "date_desc.csv": ("typed", "ORDER BY date DESC, id", None),
    "shuffled.csv": ("typed", "ORDER BY hash(id)", None),
    "export.csv": ("export", "ORDER BY date DESC, id", None),
    "repeated.csv": ("repeated", "ORDER BY date DESC, id, copy", None),
    "text.csv": ("text", "", None),
    "export.parquet": ("export", "ORDER BY date DESC, id", "parquet"),
    "text.parquet": ("text", "", "parquet"),
    "export.ndjson": ("export", "ORDER BY date DESC, id", "json"),
}


def source_view(con, source: str) -> None:
    """Views `typed`, `text`, `export` and `repeated` over the generated file."""
    con.execute(f"CREATE VIEW typed AS SELECT * FROM read_csv('{source}')")
    con.execute(f"CREATE VIEW text AS SELECT * FROM read_csv('{source}', all_varchar = true)")
    con.execute(f"CREATE VIEW export AS SELECT * REPLACE ({RANDOM_ID} AS id) FROM typed")
    # 1 % of the calls again, each copy right after its call (a call exported twice, the
    # second time with its final figures: one second more of talk time).
    con.execute(
        """CREATE VIEW repeated AS
           SELECT *, 0 AS copy FROM export
           UNION ALL
           SELECT * REPLACE (duration + 1 AS duration), 1 AS copy FROM export
           WHERE hash(id) % 100 = 0"""
    )


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    source, out_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:] or list(ORDERS)
    con = duckdb.connect()
    source_view(con, source)
    for name in names:
        view, order, fmt = ORDERS[name]
        columns = "* EXCLUDE (copy)" if view == "repeated" else "*"
        options = {None: "HEADER, DELIMITER ','", "parquet": "FORMAT parquet",
                   "json": "FORMAT json"}[fmt]
        out = os.path.join(out_dir, name)
        partial = out + ".partial"
        con.execute(f"COPY (SELECT {columns} FROM {view} {order}) TO '{partial}' ({options})")
        os.replace(partial, out)
        print(out, file=sys.stderr)


if __name__ == "__main__":
    main()
