"""Writes a call log CSV out again with DuckDB, as CSV and/or as Parquet (text columns), so that
callfunnel is measured on files another tool made (see BENCHMARKS.md, "Streaming readers").

Usage: python duckdb_copy.py SOURCE.csv OUT.(csv|parquet)...   (each OUT written by its extension)
"""
import sys

import duckdb


def main() -> None:
    source, outputs = sys.argv[1], sys.argv[2:]
    if not outputs or any(not out.lower().endswith((".csv", ".parquet")) for out in outputs):
        sys.exit(__doc__)
    con = duckdb.connect()
    select = f"SELECT * FROM read_csv('{source}', all_varchar=true, header=true)"
    for out in outputs:
        options = "FORMAT parquet" if out.lower().endswith(".parquet") else "HEADER, DELIMITER ','"
        con.execute(f"COPY ({select}) TO '{out}' ({options})")


if __name__ == "__main__":
    main()
