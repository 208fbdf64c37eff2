"""Writes a call log CSV out again with DuckDB, as CSV and as Parquet (text columns), so that
callfunnel is measured on files another tool made (see BENCHMARKS.md, "Streaming readers").

Usage: python duckdb_copy.py SOURCE.csv OUT.csv OUT.parquet
"""
import sys

import duckdb


def main() -> None:
    source, csv_out, parquet_out = sys.argv[1:4]
    con = duckdb.connect()
    select = f"SELECT * FROM read_csv('{source}', all_varchar=true, header=true)"
    con.execute(f"COPY ({select}) TO '{csv_out}' (HEADER, DELIMITER ',')")
    con.execute(f"COPY ({select}) TO '{parquet_out}' (FORMAT parquet)")


if __name__ == "__main__":
    main()
