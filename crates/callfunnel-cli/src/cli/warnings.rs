//! The warnings of SPEC §1.2, worded from what the library found: nothing
//! that changes a figure is silent. Each is one line, printed with
//! [`crate::messages::warn`].

use callfunnel::ingest::{IngestReport, Unmatched};
use chrono_tz::Tz;

/// The warnings of what reading found (`report`): timestamps without an
/// offset, read in `input_tz` (and, with a request in another zone while
/// the input's was left at UTC, that too), and tags cells that looked like a
/// JSON list but are not one.
pub fn reading(
    report: &IngestReport,
    input_tz: Tz,
    request_tz: Option<Tz>,
) -> impl Iterator<Item = String> {
    let facts = &report.facts;
    let dates = (facts.dates_without_offset.count > 0).then(|| {
        let mut line = format!(
            "{} read as {input_tz} time (first: {})",
            counted(
                facts.dates_without_offset.count,
                "timestamp without an offset",
                "timestamps without an offset"
            ),
            facts.dates_without_offset.first_locations()
        );
        if let Some(zone) = request_tz.filter(|zone| input_tz == Tz::UTC && *zone != Tz::UTC) {
            line.push_str(&format!(
                "; --input-tz was left at UTC while the request's timezone is {zone}: \
                 if the export was written in {zone} time, add --input-tz {zone}"
            ));
        }
        if facts.dates_in_fold.count > 0 {
            line.push_str(&format!(
                "; {} in a daylight-saving fold, read as the earlier instant (first: {})",
                facts.dates_in_fold.count,
                facts.dates_in_fold.first_locations()
            ));
        }
        line
    });
    let tags = (facts.tags_malformed_lists.count > 0).then(|| {
        format!(
            "{} looked like a JSON list but did not parse as one: read as keys separated by ; | or , (first: {})",
            counted(facts.tags_malformed_lists.count, "tags cell", "tags cells"),
            facts.tags_malformed_lists.first_locations()
        )
    });
    dates.into_iter().chain(tags)
}

/// The warning of a request filter value or tag that no call carries.
pub fn unmatched(unmatched: &Unmatched) -> String {
    let Unmatched {
        field,
        value,
        ids_of_name,
    } = unmatched;
    if ids_of_name.is_empty() {
        format!(
            "{field}: `{value}` matches no call of the request's periods, so every figure it \
             filters is 0"
        )
    } else {
        format!(
            "{field}: `{value}` matches no call's user_id in the request's periods but is the \
             user_name of {}: filter by the id (--user-ids {})",
            ids_of_name.join(", "),
            ids_of_name.join(",")
        )
    }
}

/// `count` and the noun, singular or plural.
fn counted(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}
