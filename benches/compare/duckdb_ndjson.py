"""Writes a call log CSV out again as NDJSON with DuckDB: flat records, durations as integers,
ringing times as numbers, every other field as text (tags `;`-joined, as in the CSV), so that
callfunnel is measured on NDJSON another tool made (see BENCHMARKS.md).

Usage: python duckdb_ndjson.py SOURCE.csv OUT.ndjson
"""
import sys

import duckdb


def main() -> None:
    source, ndjson_out = sys.argv[1:3]
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT id, date, direction, type, user_id, user_name, user_email, allo_number,
                allo_number_label, contact_number, result,
                CAST(duration AS BIGINT) AS duration,
                CAST(ringing_seconds AS DOUBLE) AS ringing_seconds, tags
            FROM read_csv('{source}', all_varchar = true, header = true))
            TO '{ndjson_out}' (FORMAT json)"""
    )


if __name__ == "__main__":
    main()
