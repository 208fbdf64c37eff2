//! Tests of other exports' forms (SPEC §1, §1.2 of version 2.1): tags
//! cells in other list forms, value maps, duration units, the facts reading
//! found and the rows skipped, through every reader.

use chrono::{TimeZone, Utc};
use polars::prelude::*;

use super::tests::{durations, strings, tags, write, write_parquet};
use super::*;
use crate::model::rules::{DurationUnit, ValueMapping};
use crate::model::{CallResult, Direction};

/// The tags cells of the test, one per call, and the keys each gives.
const TAGS_CELLS: [(&str, &[&str]); 6] = [
    ("Demo; won", &["demo", "won"]),
    ("meeting_booked|Follow_up", &["meeting_booked", "follow_up"]),
    ("a, b ,,c", &["a", "b", "c"]),
    (r#"["Meeting_booked", " x "]"#, &["meeting_booked", "x"]),
    (
        r#"["meeting_booked","follow_up""#,
        &["meeting_booked", "follow_up"],
    ),
    ("[one; 'two']", &["one", "two"]),
];

/// The keys of [`TAGS_CELLS`], call by call.
fn expected_tags() -> Vec<Vec<String>> {
    TAGS_CELLS
        .iter()
        .map(|(_, keys)| keys.iter().map(|key| key.to_string()).collect())
        .collect()
}

/// The tags lists of a loaded frame, and its report.
fn tags_of(ingested: Ingested) -> (Vec<Vec<String>>, IngestReport) {
    (tags(&ingested.frame.collect().unwrap()), ingested.report)
}

/// The CSV of [`TAGS_CELLS`]: one call a line, dated 2024-03-04 (`Z`).
fn tags_csv() -> String {
    let mut text = String::from("id,date,tags\n");
    for (index, (cell, _)) in TAGS_CELLS.iter().enumerate() {
        let quoted = cell.replace('"', "\"\"");
        text.push_str(&format!(
            "c-{index},2024-03-04T09:0{index}:00Z,\"{quoted}\"\n"
        ));
    }
    text
}

/// The NDJSON of [`TAGS_CELLS`], each cell a JSON string.
fn tags_ndjson() -> String {
    TAGS_CELLS
        .iter()
        .enumerate()
        .map(|(index, (cell, _))| {
            let record = serde_json::json!({
                "id": format!("c-{index}"),
                "date": format!("2024-03-04T09:0{index}:00Z"),
                "tags": cell,
            });
            format!("{record}\n")
        })
        .collect()
}

/// Asserts the facts of reading [`TAGS_CELLS`] from `file`, where the
/// first call is on `first_line`.
fn assert_tags_facts(report: &IngestReport, file: &str, first_line: u64) {
    let at = |call: u64| Location {
        file: file.to_string(),
        line: first_line + call,
    };
    let facts = &report.facts;
    assert_eq!(facts.tags_other_separators.count, 2);
    assert_eq!(facts.tags_other_separators.first, [at(1), at(2)]);
    assert_eq!(facts.tags_json_lists.count, 1);
    assert_eq!(facts.tags_json_lists.first, [at(3)]);
    assert_eq!(facts.tags_malformed_lists.count, 2);
    assert_eq!(facts.tags_malformed_lists.first, [at(4), at(5)]);
    assert_eq!(facts.dates_without_offset.count, 0);
}

#[test]
fn every_tags_form_is_read_by_every_text_reader() {
    let options = IngestOptions::default();
    let dir = tempfile::tempdir().unwrap();

    // CSV from a file (the column-wise reader hands it to the row reader)
    // and from memory.
    let csv = write(dir.path(), "calls.csv", &tags_csv());
    let (keys, report) = tags_of(load(std::slice::from_ref(&csv), &options).unwrap());
    assert_eq!(keys, expected_tags());
    assert_tags_facts(&report, &csv.display().to_string(), 2);
    let (keys, report) = tags_of(load_str(&tags_csv(), Format::Csv, "t.csv", &options).unwrap());
    assert_eq!(keys, expected_tags());
    assert_tags_facts(&report, "t.csv", 2);

    // NDJSON (a file, read in blocks) and a JSON array of the same records.
    let ndjson = write(dir.path(), "calls.ndjson", &tags_ndjson());
    let (keys, report) = tags_of(load(std::slice::from_ref(&ndjson), &options).unwrap());
    assert_eq!(keys, expected_tags());
    assert_tags_facts(&report, &ndjson.display().to_string(), 1);
    let array = format!("[\n{}]", tags_ndjson().trim_end().replace('\n', ",\n"));
    let (keys, report) = tags_of(load_str(&array, Format::Json, "a.json", &options).unwrap());
    assert_eq!(keys, expected_tags());
    assert_tags_facts(&report, "a.json", 2);

    // A saved conversations page whose items carry tags as text.
    let page = format!(r#"{{"data": {array}, "pagination": {{"page": 1}}}}"#);
    let (keys, report) = tags_of(load_str(&page, Format::Json, "p.json", &options).unwrap());
    assert_eq!(keys, expected_tags());
    assert_eq!(report.facts.tags_malformed_lists.count, 2);

    // Parquet: tags as a text column.
    let frame = DataFrame::new(
        TAGS_CELLS.len(),
        vec![
            Column::new("id".into(), ["c-0", "c-1", "c-2", "c-3", "c-4", "c-5"]),
            Column::new(
                "date".into(),
                (0..6)
                    .map(|minute| format!("2024-03-04T09:0{minute}:00Z"))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "tags".into(),
                TAGS_CELLS.iter().map(|(cell, _)| *cell).collect::<Vec<_>>(),
            ),
        ],
    )
    .unwrap();
    let parquet = write_parquet(dir.path(), "text.parquet", frame);
    let (keys, report) = tags_of(load(std::slice::from_ref(&parquet), &options).unwrap());
    assert_eq!(keys, expected_tags());
    assert_tags_facts(&report, &parquet.display().to_string(), 1);
}

#[test]
fn the_window_line_picker_sends_other_tags_forms_to_the_parser() {
    // A canonical CSV but for one line's tags: with a window, that line
    // must be read by the rules, not as `;`-separated keys.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("id,date,result,tags\n");
    for index in 0..40 {
        let tags = if index == 20 { "\"won|demo\"" } else { "won" };
        text.push_str(&format!(
            "c-{index:03},2024-03-{:02}T09:00:00Z,ANSWERED,{tags}\n",
            1 + index % 28
        ));
    }
    let path = write(dir.path(), "calls.csv", &text);
    let from = Utc.with_ymd_and_hms(2024, 3, 20, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2024, 3, 25, 0, 0, 0).unwrap();
    let options = IngestOptions {
        keep_window: Some((from, to)),
        ..IngestOptions::default()
    };
    let frame = load(std::slice::from_ref(&path), &options)
        .unwrap()
        .frame
        .filter(col("id").eq(lit("c-020")))
        .collect()
        .unwrap();
    assert_eq!(tags(&frame), [["won", "demo"]]);
}

/// Options mapping the issue's second export shape onto SPEC §1.
fn second_shape() -> IngestOptions {
    let map = |field: &str, column: &str| (field.to_string(), column.to_string());
    let value = |text: &str| text.parse::<ValueMapping>().unwrap();
    IngestOptions {
        column_map: vec![
            map("id", "call_id"),
            map("date", "started_at"),
            map("result", "outcome"),
            map("duration", "talk_time_min"),
            map("tags", "tag"),
        ],
        value_map: vec![
            value("result:Connected=ANSWERED"),
            value("result:No answer=NO_ANSWER"),
            value("result:connected=TRANSFERRED"),
            value("tags:RDV=meeting_booked"),
        ],
        duration_unit: DurationUnit::Minutes,
        ..IngestOptions::default()
    }
}

/// Results and durations of a frame, call by call.
fn results_and_durations(frame: &DataFrame) -> Vec<(Option<String>, i64)> {
    strings(frame, "result")
        .into_iter()
        .zip(durations(frame))
        .collect()
}

#[test]
fn value_maps_and_duration_units_apply_in_every_reader() {
    let csv = "call_id,started_at,outcome,talk_time_min,tag\n\
               a,2024-03-04T09:00:00Z,Connected,0.025,rdv\n\
               b,2024-03-04T09:01:00Z,no answer,0,\n\
               c,2024-03-04T09:02:00Z,ANSWERED,12.5,RDV|demo\n";
    // A later mapping of the same value wins: `connected` reads TRANSFERRED.
    let expected = vec![
        (Some(CallResult::Transferred.as_str().to_string()), 2),
        (Some(CallResult::NoAnswer.as_str().to_string()), 0),
        (Some(CallResult::Answered.as_str().to_string()), 750),
    ];
    let expected_tags = vec![
        vec!["meeting_booked".to_string()],
        vec![],
        vec!["meeting_booked".to_string(), "demo".to_string()],
    ];
    let options = second_shape();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "export.csv", csv);
    for ingested in [
        load(std::slice::from_ref(&path), &options).unwrap(),
        load_str(csv, Format::Csv, "export.csv", &options).unwrap(),
    ] {
        let frame = ingested.frame.collect().unwrap();
        assert_eq!(results_and_durations(&frame), expected);
        assert_eq!(tags(&frame), expected_tags);
    }

    // NDJSON, durations as JSON numbers.
    let ndjson = r#"{"call_id":"a","started_at":"2024-03-04T09:00:00Z","outcome":"Connected","talk_time_min":0.025,"tag":"rdv"}
{"call_id":"b","started_at":"2024-03-04T09:01:00Z","outcome":"No Answer","talk_time_min":0}
{"call_id":"c","started_at":"2024-03-04T09:02:00Z","outcome":"answered","talk_time_min":12.5,"tag":["RDV","demo"]}
"#;
    let ingested = load_str(ndjson, Format::Json, "export.ndjson", &options).unwrap();
    let frame = ingested.frame.collect().unwrap();
    assert_eq!(results_and_durations(&frame), expected);

    // Parquet: typed durations (float minutes), text outcomes, list tags.
    let frame = DataFrame::new(
        3,
        vec![
            Column::new("call_id".into(), ["a", "b", "c"]),
            Column::new(
                "started_at".into(),
                [
                    "2024-03-04T09:00:00Z",
                    "2024-03-04T09:01:00Z",
                    "2024-03-04T09:02:00Z",
                ],
            ),
            Column::new("outcome".into(), ["Connected", "NO ANSWER", "Answered"]),
            Column::new("talk_time_min".into(), [0.025f64, 0.0, 12.5]),
            Column::new(
                "tag".into(),
                [
                    Series::new("".into(), ["rdv"]),
                    Series::new_empty("".into(), &DataType::String),
                    Series::new("".into(), ["RDV", "demo"]),
                ],
            ),
        ],
    )
    .unwrap();
    let parquet = write_parquet(dir.path(), "export.parquet", frame);
    let ingested = load(std::slice::from_ref(&parquet), &options).unwrap();
    let frame = ingested.frame.collect().unwrap();
    assert_eq!(results_and_durations(&frame), expected);
    assert_eq!(tags(&frame), expected_tags);
}

#[test]
fn every_duration_unit_converts_exactly_to_whole_seconds() {
    let csv = "id,date,duration\n\
               a,2024-03-04T09:00:00Z,1500\n\
               b,2024-03-04T09:01:00Z,499.999\n\
               c,2024-03-04T09:02:00Z,2500\n";
    let durations = |unit| {
        let options = IngestOptions {
            duration_unit: unit,
            ..IngestOptions::default()
        };
        let loaded = load_str(csv, Format::Csv, "d.csv", &options);
        let loaded = loaded.map(|ingested| durations(&ingested.frame.collect().unwrap()));
        loaded.map_err(|error| error.to_string())
    };
    // Half a second goes away from zero: 1.5 s → 2, 2.5 s → 3.
    assert_eq!(durations(DurationUnit::Milliseconds), Ok(vec![2, 0, 3]));
    assert_eq!(
        durations(DurationUnit::Minutes),
        Ok(vec![90_000, 30_000, 150_000])
    );
    assert_eq!(
        durations(DurationUnit::Hours),
        Ok(vec![5_400_000, 1_799_996, 9_000_000])
    );
    // In seconds, a value must be whole.
    let error = durations(DurationUnit::Seconds).unwrap_err();
    assert!(error.starts_with("d.csv:3: column `duration`"), "{error}");
}

#[test]
fn a_value_map_of_a_field_without_values_is_refused() {
    assert_eq!(
        "duration:1=2".parse::<ValueMapping>().unwrap_err(),
        "`duration` has no values to map (one of direction, type, result, tags)"
    );
    assert_eq!(
        "result=ANSWERED".parse::<ValueMapping>().unwrap_err(),
        "`result=ANSWERED` is not FIELD:FROM=TO"
    );
    let mapped = "direction: out = OUTBOUND".parse::<ValueMapping>().unwrap();
    let options = IngestOptions {
        value_map: vec![mapped],
        ..IngestOptions::default()
    };
    let csv = "id,date,direction\na,2024-03-04T09:00:00Z,OUT\n";
    let frame = load_str(csv, Format::Csv, "d.csv", &options)
        .unwrap()
        .frame
        .collect()
        .unwrap();
    let direction = frame.column("direction").unwrap().str().unwrap().get(0);
    assert_eq!(direction, Some(Direction::Outbound.as_str()));
}

#[test]
fn dates_without_offset_are_counted_with_their_first_lines() {
    let csv = "id,date\n\
               a,2024-03-04T09:00:00Z\n\
               b,2024-03-04 09:00\n\
               c,2024-10-27T02:30:00\n\
               d,2024-03-31T02:30:00\n\
               e,2024-03-04T10:00:00+01:00\n";
    let options = IngestOptions {
        input_tz: chrono_tz::Europe::Paris,
        skip_invalid: true,
        // Every row may be skipped: these tests look at the rows skipped.
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..IngestOptions::default()
    };
    let report = load_str(csv, Format::Csv, "d.csv", &options)
        .unwrap()
        .report;
    let at = |line| Location {
        file: "d.csv".into(),
        line,
    };
    assert_eq!(report.facts.dates_without_offset.count, 2);
    assert_eq!(report.facts.dates_without_offset.first, [at(3), at(4)]);
    assert_eq!(report.facts.dates_in_fold.first, [at(4)]);
    assert_eq!(report.facts.dates_in_gap.first, [at(5)]);
    assert_eq!(report.calls, 4);
    assert_eq!(report.skipped_rows.len(), 1);
    assert_eq!(report.skipped_rows[0].location, at(5));
    assert_eq!(report.skipped_rows[0].reason, Reason::BadTimestamp);
}

#[test]
fn typed_wall_clock_dates_are_counted_as_without_offset() {
    let dir = tempfile::tempdir().unwrap();
    // 2024-03-04 09:30 and 2024-10-27 02:30 (a fold in Paris), wall clock.
    let started = Int64Chunked::from_vec("date".into(), vec![1_709_544_600_000, 1_729_996_200_000])
        .into_datetime(TimeUnit::Milliseconds, None)
        .into_column();
    let frame = DataFrame::new(2, vec![Column::new("id".into(), ["p-1", "p-2"]), started]).unwrap();
    let path = write_parquet(dir.path(), "naive.parquet", frame);
    let options = IngestOptions {
        input_tz: chrono_tz::Europe::Paris,
        ..IngestOptions::default()
    };
    let report = load(std::slice::from_ref(&path), &options).unwrap().report;
    assert_eq!(report.facts.dates_without_offset.count, 2);
    assert_eq!(report.facts.dates_in_fold.count, 1);
    assert_eq!(report.facts.dates_in_fold.first[0].line, 2);
}

#[test]
fn skipped_rows_keep_the_first_of_each_reason_in_reading_order() {
    let mut csv = String::from("id,date,duration\n");
    for index in 0..30 {
        let duration = match index % 3 {
            0 => "-5",
            1 => "x",
            _ => "7",
        };
        csv.push_str(&format!("c-{index},2024-03-04T09:00:00Z,{duration}\n"));
    }
    let options = IngestOptions {
        skip_invalid: true,
        // Every row may be skipped: these tests look at the rows skipped.
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..IngestOptions::default()
    };
    let report = load_str(&csv, Format::Csv, "s.csv", &options)
        .unwrap()
        .report;
    assert_eq!(report.skipped.values().sum::<u64>(), 20);
    let lines: Vec<u64> = report
        .skipped_rows
        .iter()
        .map(|row| row.location.line)
        .collect();
    let expected: Vec<u64> = (0..30).filter(|i| i % 3 != 2).map(|i| i + 2).collect();
    assert_eq!(lines, expected);
    assert_eq!(
        report.skipped_rows[0].to_string(),
        "s.csv:2: column `duration`: invalid value `-5`: negative duration"
    );
}
