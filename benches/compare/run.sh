#!/usr/bin/env bash
# Whole-process benchmark: callfunnel against the same metrics written as DuckDB SQL
# (duckdb_metrics.py) and in Polars for Python (polars_metrics.py), on the same generated
# files, in one run. Each engine runs as its own process (for the Python engines that
# includes starting Python and importing the library), several times; the wall time and
# peak RSS of every run are recorded, the three responses are checked number for number,
# and a markdown table of min/median per engine x size x format x query is printed.
#
# Usage: benches/compare/run.sh            (from anywhere)
#
# Environment (all optional):
#   CALLFUNNEL_BENCH_DIR  work folder: venv, data, results    [$HOME/.cache/callfunnel-bench]
#   ROWS                  sizes, in calls                     ["1000000 10000000"]
#   RUNS                  timed runs per engine and case      [5]
#   RUNS_<N>              timed runs for size N, e.g. RUNS_10000000=1
#   WARMUP                untimed runs per engine before timing (the first one's
#                         response is the one checked)        [1]
#   FORMATS               "csv parquet ndjson duckcsv duckparquet store": csv,
#                         parquet (typed) and ndjson as generated/converted here;
#                         duckcsv and duckparquet (text columns) as DuckDB's COPY
#                         writes the CSV out again; store: `callfunnel convert` of
#                         the CSV. Also the shapes of duckdb_orders.py: "ids
#                         date_asc date_desc shuffled export repeated
#                         export_parquet export_ndjson ids_ndjson
#                         shuffled_ndjson repeated_ndjson" (DuckDB's COPY of the
#                         calls as it types them, in that order). Every format
#                         but csv and parquet is made from the CSV, so csv comes
#                         first                               ["csv parquet"]
#   QUERIES               "full 4weeks issue11" (request_<query>.json here)
#                                                             ["full 4weeks"]
#
# The table of issue 11 (DuckDB's files and the store, its request):
#   FORMATS="csv duckcsv duckparquet store" QUERIES=issue11 benches/compare/run.sh
#   ENGINES               "callfunnel duckdb polars"           [all three]
#   CALLFUNNEL            callfunnel binary to measure         [built here with cargo]
#   SKIP_BUILD=1          do not run cargo build (uses CALLFUNNEL or the existing binary)
#   PYTHON                Python that makes the venv           [python3]
#   VALIDATE=0            skip the check on sample_data before timing
#
# Progress goes to standard error; the table goes to standard output and to
# $CALLFUNNEL_BENCH_DIR/results/<UTC time>/table.md (raw measurements beside it).
# Exit status 0; 1 when some response differs from callfunnel's or a run failed; 2 when the
# check on sample_data fails (nothing is timed then) or the setup fails.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRATE=$(cd "$HERE/../.." && pwd)
BENCH_DIR=${CALLFUNNEL_BENCH_DIR:-$HOME/.cache/callfunnel-bench}
ROWS=${ROWS:-"1000000 10000000"}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
FORMATS=${FORMATS:-"csv parquet"}
QUERIES=${QUERIES:-"full 4weeks"}
ENGINES=${ENGINES:-"callfunnel duckdb polars"}
PYTHON=${PYTHON:-python3}
SEED=7
FROM=2023-01-01
TO=2024-12-31
# Pinned: what PyPI gave when the benchmark was written (see BENCHMARKS.md).
DUCKDB_VERSION=2.0.1
POLARS_VERSION=2.1.0

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

[ "$WARMUP" -ge 1 ] || die "WARMUP must be at least 1 (its response is the one checked)"
for fmt in $FORMATS; do
    case $fmt in
        csv | parquet | ndjson | duckcsv | duckparquet | store) ;;
        ids | date_asc | date_desc | shuffled | export | repeated | export_parquet | export_ndjson) ;;
        ids_ndjson | shuffled_ndjson | repeated_ndjson) ;;
        *) die "unknown format $fmt (csv parquet ndjson duckcsv duckparquet store, or a shape of duckdb_orders.py)" ;;
    esac
done
mkdir -p "$BENCH_DIR/data" "$BENCH_DIR/results"

# --- the Python side: a virtualenv with pinned DuckDB and Polars -------------------------
VENV=$BENCH_DIR/venv
VPY=$VENV/bin/python
if ! "$VPY" -c "import duckdb, polars, sys; sys.exit(0 if (duckdb.__version__, polars.__version__) == ('$DUCKDB_VERSION', '$POLARS_VERSION') else 1)" 2>/dev/null; then
    log "making the virtualenv $VENV (duckdb==$DUCKDB_VERSION polars==$POLARS_VERSION)"
    "$PYTHON" -m venv "$VENV"
    "$VPY" -m pip install --quiet --disable-pip-version-check \
        "duckdb==$DUCKDB_VERSION" "polars==$POLARS_VERSION" "polars-runtime-32==$POLARS_VERSION" >&2
fi

# --- callfunnel ---------------------------------------------------------------------------
if [ -z "${CALLFUNNEL:-}" ]; then
    CALLFUNNEL=${CARGO_TARGET_DIR:-$CRATE/target}/release/callfunnel
    if [ "${SKIP_BUILD:-0}" != 1 ]; then
        log "cargo build --release (in $CRATE)"
        (cd "$CRATE" && cargo build --release --quiet) >&2
    fi
fi
[ -x "$CALLFUNNEL" ] || die "no callfunnel binary at $CALLFUNNEL"
# measure a copy, so that a rebuild during the run cannot change what is measured
mkdir -p "$BENCH_DIR/bin"
BUILT="$CALLFUNNEL ($(date -u -r "$CALLFUNNEL" +%Y-%m-%dT%H:%M:%SZ))"
cp "$CALLFUNNEL" "$BENCH_DIR/bin/callfunnel.new" && mv "$BENCH_DIR/bin/callfunnel.new" "$BENCH_DIR/bin/callfunnel"
CALLFUNNEL=$BENCH_DIR/bin/callfunnel
BINARY_SUM=$(sha256sum "$CALLFUNNEL" | cut -c1-16)

# --- results folder -----------------------------------------------------------------------
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$BENCH_DIR/results/$STAMP
mkdir -p "$OUT/responses" "$OUT/stderr"
printf 'rows\tformat\tquery\tengine\trun\twall_s\trss_kb\tstatus\n' > "$OUT/runs.tsv"
printf 'rows\tformat\tquery\tengine\tverdict\n' > "$OUT/checks.tsv"
printf 'rows\tformat\tfile_bytes\tin_memory_bytes\n' > "$OUT/sizes.tsv"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') x $(nproc)"
    echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    echo "kernel: $(uname -srm)"
    echo "callfunnel: $("$CALLFUNNEL" --version), binary $BUILT, sha256 $BINARY_SUM..."
    echo "python: $("$VPY" --version 2>&1), duckdb $DUCKDB_VERSION, polars $POLARS_VERSION"
    echo "settings: ROWS='$ROWS' RUNS=$RUNS WARMUP=$WARMUP FORMATS='$FORMATS' QUERIES='$QUERIES' ENGINES='$ENGINES'"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    log "warning: load average $load on $(nproc) cores: other work is running, timings will be noisy"
fi
log "results in $OUT"

# --- data -----------------------------------------------------------------------------------
data_file() { # rows format
    local base="$BENCH_DIR/data/calls-$1-seed$SEED-$FROM-$TO"
    case $2 in
        duckcsv) echo "$base-duckdb.csv" ;;
        duckparquet) echo "$base-duckdb.parquet" ;;
        store) echo "$base-store.parquet" ;;
        *_parquet) echo "$base-${2%_parquet}.parquet" ;;
        *_ndjson) echo "$base-${2%_ndjson}.ndjson" ;;
        ids | date_asc | date_desc | shuffled | export | repeated) echo "$base-$2.csv" ;;
        *) echo "$base.$2" ;;
    esac
}
for n in $ROWS; do
    for fmt in $FORMATS; do
        file=$(data_file "$n" "$fmt")
        # regenerate when the file was written by another callfunnel binary (the writer may change)
        if [ ! -s "$file" ] || [ "$(cat "$file.generator" 2>/dev/null)" != "$BINARY_SUM" ]; then
            log "generating $n calls -> $file"
            partial="${file%.*}.partial.${file##*.}"
            csv=$(data_file "$n" csv)
            case $fmt in
                csv | parquet)
                    "$CALLFUNNEL" generate --rows "$n" --seed "$SEED" --from "$FROM" --to "$TO" \
                        --out "$partial" --quiet ;;
                *)
                    [ -s "$csv" ] || die "FORMATS must list csv before $fmt (it is made from the CSV)" ;;&
                ndjson)
                    # NDJSON as another tool writes it: DuckDB's COPY of the same calls' CSV
                    # (flat records, numbers typed, tags as `;`-joined text)
                    "$VPY" "$HERE/duckdb_ndjson.py" "$csv" "$partial" ;;
                duckcsv | duckparquet)
                    # the CSV written out again by DuckDB, as CSV or as Parquet of text columns
                    "$VPY" "$HERE/duckdb_copy.py" "$csv" "$partial" ;;
                store)
                    "$CALLFUNNEL" convert --input "$csv" --out "$partial" --quiet ;;
                *)
                    # the calls as DuckDB types them, in another order or form
                    "$VPY" "$HERE/duckdb_orders.py" "$csv" "$fmt" "$partial" ;;
            esac
            mv "$partial" "$file"
            echo "$BINARY_SUM" > "$file.generator"
        fi
        bytes=$(stat -c %s "$file")
        in_memory=""
        if [ "$fmt" = parquet ]; then
            in_memory=$("$VPY" -c "import polars as pl, sys; print(pl.read_parquet(sys.argv[1]).estimated_size())" "$file")
        fi
        printf '%s\t%s\t%s\t%s\n' "$n" "$fmt" "$bytes" "$in_memory" >> "$OUT/sizes.tsv"
    done
done

# --- before timing anything: both Python versions against callfunnel on sample_data ---------
# (the three shipped requests and three more: MONTH/WEEK/DAY, three zones across DST, filters,
# explicit comparison period, every drilldown stage but DIAL page 1), from the CSV and from
# its Parquet conversion
if [ "${VALIDATE:-1}" = 1 ] && [ -s "$CRATE/sample_data/calls.csv" ]; then
    check=$OUT/validation
    mkdir -p "$check"
    "$CALLFUNNEL" convert --input "$CRATE/sample_data/calls.csv" --out "$check/calls.parquet" 2>/dev/null
    agreed=0
    for input in "$CRATE/sample_data/calls.csv" "$check/calls.parquet"; do
        for request in "$CRATE"/sample_data/request*.json "$HERE"/validation/request_*.json; do
            name=$(basename "${input%.*}")-$(basename "$request" .json)
            "$CALLFUNNEL" metrics --input "$input" --request "$request" > "$check/$name-callfunnel.json" 2>/dev/null
            for engine in duckdb polars; do
                "$VPY" "$HERE/${engine}_metrics.py" --input "$input" --request "$request" \
                    > "$check/$name-$engine.json" 2>/dev/null
                if python3 "$HERE/compare.py" "$check/$name-callfunnel.json" "$check/$name-$engine.json" \
                    2> "$check/$name-$engine-compare.txt"; then
                    agreed=$((agreed + 1))
                else
                    log "validation: $engine differs from callfunnel on $name:"
                    sed -n 2,6p "$check/$name-$engine-compare.txt" >&2
                    die "the Python versions must agree with callfunnel before anything is timed"
                fi
            done
        done
    done
    log "validation on sample_data: $agreed responses agree with callfunnel exactly"
    echo "validation on sample_data: $agreed responses (DuckDB and Polars-Python) agree with callfunnel" >> "$OUT/machine.txt"
fi

# --- what starting Python and importing each library costs (part of every Python run) ------
printf 'library\trun\twall_s\trss_kb\n' > "$OUT/startup.tsv"
for library in duckdb polars; do
    for ((r = 1; r <= RUNS; r++)); do
        read -r wall rss _ <<< "$("$VPY" "$HERE/measure.py" --stdout /dev/null --stderr /dev/null -- \
            "$VPY" -c "import $library")"
        printf '%s\t%s\t%s\t%s\n' "$library" "$r" "$wall" "$rss" >> "$OUT/startup.tsv"
    done
done

# --- the runs -------------------------------------------------------------------------------
# the command line of an engine, in the array CMD
set_command() { # engine file request
    case $1 in
        callfunnel) CMD=("$CALLFUNNEL" metrics --input "$2" --request "$3") ;;
        duckdb) CMD=("$VPY" "$HERE/duckdb_metrics.py" --input "$2" --request "$3") ;;
        polars) CMD=("$VPY" "$HERE/polars_metrics.py" --input "$2" --request "$3") ;;
        *) die "unknown engine $1" ;;
    esac
}

failures=0
run_once() { # engine n fmt query run-label -> appends to runs.tsv (when timed)
    local engine=$1 n=$2 fmt=$3 query=$4 label=$5
    local file request response errors measured
    file=$(data_file "$n" "$fmt")
    request=$HERE/request_$query.json
    response=$OUT/responses/$n-$fmt-$query-$engine.json
    errors=$OUT/stderr/$n-$fmt-$query-$engine-$label.txt
    set_command "$engine" "$file" "$request"
    measured=$("$VPY" "$HERE/measure.py" --stdout "$response" --stderr "$errors" -- "${CMD[@]}")
    read -r wall rss status <<< "$measured"
    if [ "$status" != 0 ]; then
        failures=$((failures + 1))
        log "  $engine failed (exit $status): $(tail -n 2 "$errors" | tr '\n' ' ')"
    fi
    case $label in
        warmup*) ;;
        *) printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
               "$n" "$fmt" "$query" "$engine" "$label" "$wall" "$rss" "$status" >> "$OUT/runs.tsv" ;;
    esac
    log "  $engine $label: ${wall} s, $((rss / 1024)) MB"
}

for n in $ROWS; do
    var=RUNS_$n
    runs=${!var:-$RUNS}
    for fmt in $FORMATS; do
        for query in $QUERIES; do
            log "$n calls, $fmt, $query: $WARMUP warm-up + $runs timed runs per engine"
            for ((w = 1; w <= WARMUP; w++)); do
                for engine in $ENGINES; do
                    run_once "$engine" "$n" "$fmt" "$query" "warmup$w"
                    if [ "$w" = 1 ]; then # the first warm-up's response is the one checked
                        cp "$OUT/responses/$n-$fmt-$query-$engine.json" \
                           "$OUT/responses/$n-$fmt-$query-$engine.checked.json"
                    fi
                done
            done
            # the same numbers? (against callfunnel's response)
            reference=$OUT/responses/$n-$fmt-$query-callfunnel.checked.json
            for engine in $ENGINES; do
                [ "$engine" = callfunnel ] && continue
                [ -s "$reference" ] || break
                candidate=$OUT/responses/$n-$fmt-$query-$engine.checked.json
                report=$OUT/stderr/$n-$fmt-$query-$engine-compare.txt
                if python3 "$HERE/compare.py" "$reference" "$candidate" 2> "$report"; then
                    verdict=yes
                else
                    verdict="**no** ($(grep -c '^  ' "$report" || true) shown in $(basename "$report"))"
                    failures=$((failures + 1))
                    log "  $engine differs from callfunnel: $(sed -n 2,4p "$report" | tr '\n' ' ')"
                fi
                printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$fmt" "$query" "$engine" "$verdict" >> "$OUT/checks.tsv"
            done
            for ((r = 1; r <= runs; r++)); do
                for engine in $ENGINES; do
                    run_once "$engine" "$n" "$fmt" "$query" "$r"
                done
            done
        done
    done
    # callfunnel must give the same response from the same calls in every form and order
    # (the export shapes have other ids: they agree among themselves)
    for query in $QUERIES; do
        for pair in csv:parquet csv:ndjson csv:duckcsv csv:duckparquet csv:store csv:ids \
            csv:date_asc csv:date_desc csv:shuffled export:export_parquet export:export_ndjson \
            ids:ids_ndjson shuffled:shuffled_ndjson repeated:repeated_ndjson; do
            first=${pair%%:*} other=${pair#*:}
            a=$OUT/responses/$n-$first-$query-callfunnel.checked.json
            b=$OUT/responses/$n-$other-$query-callfunnel.checked.json
            if [ -s "$a" ] && [ -s "$b" ]; then
                if python3 "$HERE/compare.py" "$a" "$b" --quiet; then
                    log "$n calls, $query: callfunnel gives the same response from $first and $other"
                else
                    failures=$((failures + 1))
                    log "$n calls, $query: callfunnel's $first and $other responses differ"
                fi
            fi
        done
    done
done

# --- the table ------------------------------------------------------------------------------
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"
{
    echo "Machine:"
    echo
    sed 's/^/    /' "$OUT/machine.txt"
    echo
    echo "Data (seed $SEED, $FROM..$TO):"
    echo
    echo "| rows | format | file size (MB) | in memory (MB) |"
    echo "|---:|---|---:|---:|"
    tail -n +2 "$OUT/sizes.tsv" | awk -F'\t' '{
        printf "| %s | %s | %.1f | %s |\n", $1, $2, $3 / 1e6, ($4 == "" ? "" : sprintf("%.1f", $4 / 1e6)) }'
    echo
    python3 "$HERE/summarize.py" "$OUT"
} > "$OUT/table.md"
cat "$OUT/table.md"
log "table written to $OUT/table.md"
if [ "$failures" -gt 0 ]; then
    log "$failures failed runs or differing responses"
    exit 1
fi
