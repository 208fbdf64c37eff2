//! `check` (SPEC §8.6): every finding on a file made for it, counts and
//! examples exact (worked out by hand from the rows below).

use callfunnel::check::{check, talk_outliers, CheckOptions, Finding, Findings, Severity};
use callfunnel::ingest::{load_str, Format, IngestOptions, SkipCeiling};
use callfunnel::Request;
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

/// The header of every file below.
const HEADER: &str =
    "id,date,direction,type,user_id,contact_number,result,duration,ringing_seconds,tags";

/// The moment of every check below.
fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap()
}

/// Checks the CSV `rows` (after [`HEADER`]), skipping unreadable rows.
fn check_rows(rows: &[&str]) -> Findings {
    check_rows_in(rows, Tz::UTC)
}

/// Checks the CSV `rows` (after [`HEADER`]) read with `input_tz`, skipping
/// unreadable rows.
fn check_rows_in(rows: &[&str], input_tz: Tz) -> Findings {
    let csv = format!("{HEADER}\n{}\n", rows.join("\n"));
    let options = IngestOptions {
        input_tz,
        skip_invalid: true,
        max_invalid: SkipCeiling::Rows(u64::MAX),
        ..IngestOptions::default()
    };
    let ingested = load_str(&csv, Format::Csv, "calls.csv", &options).unwrap();
    let check_options = CheckOptions {
        input_tz,
        ..CheckOptions::at(now())
    };
    check(ingested.frame, &ingested.report, &check_options).unwrap()
}

/// The finding `code`, or a panic listing what was found.
fn finding<'a>(findings: &'a Findings, code: &str) -> &'a Finding {
    findings
        .get(code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", findings.findings))
}

/// Asserts the count, severity and examples of `code`.
fn assert_finding(
    findings: &Findings,
    code: &str,
    severity: Severity,
    count: u64,
    examples: &[&str],
) {
    let found = finding(findings, code);
    let found_examples: Vec<&str> = found.examples.iter().map(String::as_str).collect();
    assert_eq!(
        (found.severity, found.count, found_examples.as_slice()),
        (severity, count, examples),
        "{code}"
    );
}

/// A clean row: outbound call, with user and contact, answered for 90 s.
fn clean(id: &str, day: u32) -> String {
    format!("{id},2024-03-{day:02}T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,")
}

#[test]
fn clean_calls_have_no_finding() {
    let rows = [clean("a", 1), clean("b", 2)];
    let findings = check_rows(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(findings.findings, []);
    assert!(!findings.has_error_or_warning());
    assert_eq!((findings.rows_read, findings.calls), (2, 2));
}

#[test]
fn unreadable_rows_are_errors_by_reason() {
    let findings = check_rows(&[
        "a,yesterday,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
        "b,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,-5,5,",
        "c,,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
        "d,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,-1,5,",
        "e,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
    ]);
    let unreadable: Vec<(u64, &str)> = findings
        .findings
        .iter()
        .filter(|finding| finding.code == "unreadable")
        .map(|finding| (finding.count, finding.explanation.as_str()))
        .collect();
    assert_eq!(
        unreadable,
        [
            (
                1,
                "rows that cannot be read (bad timestamp): skipped, in no figure"
            ),
            (
                1,
                "rows that cannot be read (missing date): skipped, in no figure"
            ),
            (
                2,
                "rows that cannot be read (negative duration): skipped, in no figure"
            ),
        ]
    );
    assert!(findings
        .findings
        .iter()
        .all(|finding| finding.severity == Severity::Error));
    assert!(findings.has_error_or_warning());
    assert_eq!((findings.rows_read, findings.calls), (5, 1));
}

#[test]
fn unreadable_rows_show_the_first_rows_skipped_for_their_reason() {
    // Lines 3 and 7 have a bad timestamp, lines 2, 4, 5, 6, 8, 9 and 10 a
    // negative duration; line 11 is read.
    let mut rows: Vec<String> = (0..9)
        .map(|index| match index % 4 {
            1 => format!("t{index},soon,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,"),
            _ => format!("n{index},2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,-1,5,"),
        })
        .collect();
    rows.push(clean("ok", 1));
    let findings = check_rows(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    let unreadable: Vec<(u64, Vec<&str>)> = findings
        .findings
        .iter()
        .filter(|finding| finding.code == "unreadable")
        .map(|finding| {
            let examples = finding.examples.iter().map(String::as_str).collect();
            (finding.count, examples)
        })
        .collect();
    assert_eq!(
        unreadable,
        [
            (2, vec!["calls.csv:3", "calls.csv:7"]),
            (
                7,
                vec![
                    "calls.csv:2",
                    "calls.csv:4",
                    "calls.csv:5",
                    "calls.csv:6",
                    "calls.csv:8"
                ]
            ),
        ]
    );
}

#[test]
fn dates_without_offset_name_the_zone_and_the_folds_and_gaps_met() {
    let findings = check_rows_in(
        &[
            "utc,2024-03-04T09:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
            "naive,2024-03-04 09:00,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
            "fold1,2024-10-27T02:30:00,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
            "gap,2024-03-31T02:30:00,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
            "offset,2024-03-05T10:00:00+01:00,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
            "naive2,2024-03-05T10:00:00,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
            "fold2,2024-10-27T02:15:00,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
        ],
        chrono_tz::Europe::Paris,
    );
    assert_finding(
        &findings,
        "date_without_offset",
        Severity::Warning,
        4,
        &["calls.csv:3", "calls.csv:4", "calls.csv:7", "calls.csv:8"],
    );
    assert_eq!(
        finding(&findings, "date_without_offset").explanation,
        "calls whose date has no offset: read as Europe/Paris time (--input-tz); \
         2 in a daylight-saving fold, read as the earlier instant (first: calls.csv:4, calls.csv:8); \
         and 1 row at a time the clocks skip there (a daylight-saving gap): unreadable (first: calls.csv:5)"
    );
    assert_finding(
        &findings,
        "unreadable",
        Severity::Error,
        1,
        &["calls.csv:5"],
    );
    let in_utc = check_rows(&[
        &clean("a", 1),
        "naive,2024-03-04 09:00,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
    ]);
    assert_finding(
        &in_utc,
        "date_without_offset",
        Severity::Warning,
        1,
        &["calls.csv:3"],
    );
    assert_eq!(
        finding(&in_utc, "date_without_offset").explanation,
        "calls whose date has no offset: read as UTC time (--input-tz)"
    );
}

#[test]
fn tags_cells_in_other_list_forms_are_notes_and_malformed_lists_warnings() {
    let findings = check_rows(&[
        "pipes,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,a|b",
        "commas,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,\"a, b\"",
        "json,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,\"[\"\"a\"\",\"\"b\"\"]\"",
        "broken,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,[a|b",
        "semicolons,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,a;b",
        "json2,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,\"[\"\"b\"\"]\"",
    ]);
    assert_finding(
        &findings,
        "tags_other_separators",
        Severity::Note,
        2,
        &["calls.csv:2", "calls.csv:3"],
    );
    assert_finding(
        &findings,
        "tags_json_list",
        Severity::Note,
        2,
        &["calls.csv:4", "calls.csv:7"],
    );
    assert_finding(
        &findings,
        "tags_malformed_list",
        Severity::Warning,
        1,
        &["calls.csv:5"],
    );
    assert_eq!(
        finding(&findings, "tags_malformed_list").explanation,
        "calls whose tags cell looks like a JSON list but does not parse as one: \
         read as keys separated by `;`, `|` or `,`, brackets and quotes stripped"
    );
    let tags: Vec<(Option<&str>, u64)> = findings
        .tags
        .iter()
        .map(|count| (count.value.as_deref(), count.calls))
        .collect();
    assert_eq!(tags, [(Some("b"), 6), (Some("a"), 5)]);
}

#[test]
fn duplicate_ids_say_how_many_differ_between_copies() {
    let findings = check_rows(&[
        &clean("a", 1),
        &clean("b", 2),
        "a,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,95,5,",
        &clean("b", 2),
        &clean("b", 2),
        &clean("c", 3),
    ]);
    assert_finding(
        &findings,
        "duplicate_ids",
        Severity::Warning,
        3,
        &["a (2 copies, differ)", "b (3 copies, identical)"],
    );
    assert_eq!(
        finding(&findings, "duplicate_ids").explanation,
        "rows dropped as earlier copies of 2 repeated ids (1 of them differ between copies); the copy read last is kept"
    );
    let identical = check_rows(&[&clean("a", 1), &clean("a", 1)]);
    assert_finding(
        &identical,
        "duplicate_ids",
        Severity::Note,
        1,
        &["a (2 copies, identical)"],
    );
}

#[test]
fn talk_over_max_says_the_share_of_talk_time_it_carries() {
    let findings = check_rows(&[
        "long,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,50400,5,",
        "short,2024-03-01T11:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,100,5,",
        "just_over,2024-03-01T12:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,14401,5,",
        "at_max,2024-03-01T13:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,14400,5,",
    ]);
    assert_finding(
        &findings,
        "talk_over_max",
        Severity::Warning,
        2,
        &["long (14 h 0 min)", "just_over (4 h 0 min)"],
    );
    // (50400 + 14401) / (50400 + 100 + 14401 + 14400) = 81.7 %.
    assert_eq!(
        finding(&findings, "talk_over_max").explanation,
        "calls with talk time over 4 h 0 min (--max-talk): they carry 81.7 % of all talk time, the longest 14 h 0 min"
    );
}

#[test]
fn huge_talk_times_are_summed_exactly() {
    // 2 × 2⁶² s: one more than the largest signed 64-bit integer.
    let findings = check_rows(&[
        "a,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,4611686018427387904,5,",
        "b,2024-03-01T11:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,4611686018427387904,5,",
    ]);
    assert_eq!(
        finding(&findings, "talk_over_max").explanation,
        "calls with talk time over 4 h 0 min (--max-talk): they carry 100.0 % of all talk time, the longest 1281023894007607 h 45 min"
    );
}

#[test]
fn connected_calls_without_talk_and_talk_on_unconnected_calls_voicemail_aside() {
    let findings = check_rows(&[
        "a0,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,0,5,",
        "t0,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,TRANSFERRED_AI,0,5,",
        "v0,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,VOICEMAIL,0,5,",
        "a5,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,5,5,",
        "v30,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,VOICEMAIL,30,5,",
        "b30,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,BUSY,30,5,",
        "n12,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,,12,5,",
    ]);
    assert_finding(
        &findings,
        "connected_without_talk",
        Severity::Warning,
        2,
        &["a0", "t0"],
    );
    assert_finding(
        &findings,
        "talk_not_connected",
        Severity::Warning,
        2,
        &["b30 (30 s)", "n12 (12 s)"],
    );
}

#[test]
fn ringing_over_ten_minutes_is_a_note() {
    let findings = check_rows(&[
        "r1,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,NO_ANSWER,0,601,",
        "r2,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,NO_ANSWER,0,600,",
        "r3,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,NO_ANSWER,0,900.5,",
        "r4,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,NO_ANSWER,0,,",
    ]);
    assert_finding(
        &findings,
        "long_ringing",
        Severity::Note,
        2,
        &["r1 (601 s ringing)", "r3 (900.5 s ringing)"],
    );
}

#[test]
fn future_and_lone_far_off_dates() {
    let findings = check_rows(&[
        &clean("a", 1),
        &clean("b", 2),
        "far,2024-05-01T00:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
    ]);
    assert_finding(
        &findings,
        "future_date",
        Severity::Warning,
        1,
        &["far (2024-05-01T00:00:00Z)"],
    );
    assert_finding(
        &findings,
        "lone_far_off_date",
        Severity::Warning,
        1,
        &["far (2024-05-01T00:00:00Z)"],
    );
    // 2024-03-02T10:00 to 2024-05-01T00:00: 59 whole days.
    assert_eq!(
        finding(&findings, "lone_far_off_date").explanation,
        "a call dated 59 days after every other call (over 30): it stretches the input's last date"
    );
    let two_far = check_rows(&[
        &clean("a", 1),
        "far1,2025-05-01T00:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
        "far2,2025-05-02T00:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,",
    ]);
    assert_finding(
        &two_far,
        "future_date",
        Severity::Warning,
        2,
        &["far1 (2025-05-01T00:00:00Z)", "far2 (2025-05-02T00:00:00Z)"],
    );
    assert!(two_far.get("lone_far_off_date").is_none());
}

#[test]
fn calls_without_user_or_contact_and_calls_not_counted_are_notes() {
    let findings = check_rows(&[
        "nu,2024-03-01T10:00:00Z,OUTBOUND,CALL,,+331,ANSWERED,90,5,",
        "nc,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,,ANSWERED,90,5,",
        "in,2024-03-01T10:00:00Z,INBOUND,CALL,u1,+331,ANSWERED,90,5,",
        "sms,2024-03-01T10:00:00Z,OUTBOUND,SMS,u1,+331,,0,,",
        "both,2024-03-01T10:00:00Z,INBOUND,SMS,,,,0,,",
    ]);
    assert_finding(&findings, "no_user", Severity::Note, 2, &["nu", "both"]);
    assert_finding(&findings, "no_contact", Severity::Note, 2, &["nc", "both"]);
    assert_finding(&findings, "inbound", Severity::Note, 2, &["in", "both"]);
    assert_finding(&findings, "sms", Severity::Note, 2, &["sms", "both"]);
    assert!(!findings.has_error_or_warning());
}

#[test]
fn results_and_tags_by_count_and_likely_tag_typos() {
    let mut rows: Vec<String> = (0..20)
        .map(|index| {
            let tags = if index < 3 {
                "meeting_booked;demo"
            } else {
                "meeting_booked"
            };
            format!("m{index},2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,90,5,{tags}")
        })
        .collect();
    rows.push("t1,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,VOICEMAIL,0,5,meetign_booked".into());
    rows.push(
        "t2,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,,0,5,meetng_boked;MEETNG_BOKED".into(),
    );
    rows.push("t3,2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,VOICEMAIL,0,5,dem".into());
    let findings = check_rows(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    assert_finding(
        &findings,
        "tag_typo",
        Severity::Warning,
        2,
        &[
            "meetign_booked ×1 ~ meeting_booked ×20 (1 edit)",
            "meetng_boked ×1 ~ meeting_booked ×20 (2 edits)",
        ],
    );
    let counts = |values: &[callfunnel::check::ValueCount]| -> Vec<(Option<String>, u64)> {
        values
            .iter()
            .map(|count| (count.value.clone(), count.calls))
            .collect()
    };
    let some = |value: &str, calls| (Some(value.to_string()), calls);
    assert_eq!(
        counts(&findings.results),
        [some("ANSWERED", 20), some("VOICEMAIL", 2), (None, 1)]
    );
    assert_eq!(
        counts(&findings.tags),
        [
            some("meeting_booked", 20),
            some("demo", 3),
            some("dem", 1),
            some("meetign_booked", 1),
            some("meetng_boked", 1),
        ]
    );
}

#[test]
fn examples_are_the_first_in_the_input_across_many_batches() {
    let rows: Vec<String> = (0..300_000)
        .map(|index| {
            let duration = if index % 40_000 == 7 { 20_000 } else { 60 };
            format!("c{index},2024-03-01T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,{duration},5,")
        })
        .collect();
    let findings = check_rows(&rows.iter().map(String::as_str).collect::<Vec<_>>());
    assert_finding(
        &findings,
        "talk_over_max",
        Severity::Warning,
        8,
        &[
            "c7 (5 h 33 min)",
            "c40007 (5 h 33 min)",
            "c80007 (5 h 33 min)",
            "c120007 (5 h 33 min)",
            "c160007 (5 h 33 min)",
        ],
    );
    // 8 × 20,000 s of 8 × 20,000 + 299,992 × 60 s.
    assert_eq!(
        finding(&findings, "talk_over_max").explanation,
        "calls with talk time over 4 h 0 min (--max-talk): they carry 0.9 % of all talk time, the longest 5 h 33 min"
    );
}

#[test]
fn talk_outliers_are_those_of_the_periods_dials() {
    let csv = format!(
        "{HEADER}\n{}\n{}\n{}\n{}\n{}\n",
        "in_period,2024-03-05T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,50400,5,",
        "short,2024-03-06T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,229600,5,",
        "inbound,2024-03-05T10:00:00Z,INBOUND,CALL,u1,+331,ANSWERED,50400,5,",
        "other_user,2024-03-05T10:00:00Z,OUTBOUND,CALL,u2,+331,ANSWERED,50400,5,",
        "before,2024-02-05T10:00:00Z,OUTBOUND,CALL,u1,+331,ANSWERED,50400,5,",
    );
    let ingested = load_str(&csv, Format::Csv, "calls.csv", &IngestOptions::default()).unwrap();
    let request = Request::from_json_str(
        r#"{"date": {"from": "2024-03-01", "to": "2024-03-31"}, "user_ids": ["u1"]}"#,
    )
    .unwrap();
    let outliers = talk_outliers(ingested.frame, &request, 14_400).unwrap();
    assert_eq!(
        (
            outliers.calls,
            outliers.seconds,
            outliers.longest_seconds,
            outliers.period_seconds
        ),
        (2, 280_000, 229_600, 280_000)
    );
    assert_eq!(outliers.share(), 1.0);
    assert!(outliers.moves_figures());
}
