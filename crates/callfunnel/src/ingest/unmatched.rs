//! A request's filter values and tags that no call of its periods carries
//! (SPEC §1.2): a figure filtered by them is zero, most likely because the
//! value is not what the input holds (a rep's name given as their id, a tag
//! spelled otherwise). Standard error says so; nothing here prints.
//!
//! Only the calls dated near the request's periods are looked at (those a
//! reader keeps for one request, [`crate::engine::window`]): a reader may
//! have left the others out, so what they carry is not known.

use polars::prelude::*;

use super::IngestError;
use crate::engine::window;
use crate::exprs::{collect_streaming, dated_within};
use crate::model::column;
use crate::request::Request;

/// Users named as an id, at most, whose ids are suggested.
const IDS_SUGGESTED: usize = 3;

/// A value of a request's `user_ids`, `allo_numbers` or `tags` that no call
/// dated near the request's periods carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The request field: `user_ids`, `allo_numbers` or `tags`.
    pub field: &'static str,
    /// The value, as the request holds it.
    pub value: String,
    /// For a user id: the ids of the users of those calls whose `user_name`
    /// is this value (whatever its case), when some are: it was a name, not
    /// an id.
    pub ids_of_name: Vec<String>,
}

/// The values of `request`'s `user_ids`, `allo_numbers` and `tags` that no
/// call of `calls` dated near its periods carries, in the request's order:
/// one pass over the calls, and one more per user id unmatched, to look it
/// up as a name.
pub fn unmatched_filters(
    calls: LazyFrame,
    request: &Request,
) -> Result<Vec<Unmatched>, IngestError> {
    let calls = calls.filter(dated_within(window(request)));
    let polars_error = |source| IngestError::Polars {
        context: "matching the request's filters with the calls".into(),
        source,
    };
    let wanted: Vec<(&'static str, &String, Expr)> = request
        .user_ids
        .iter()
        .map(|id| ("user_ids", id, col(column::USER_ID).eq(lit(id.as_str()))))
        .chain(request.allo_numbers.iter().map(|number| {
            let carried = col(column::ALLO_NUMBER).eq(lit(number.as_str()));
            ("allo_numbers", number, carried)
        }))
        .chain(request.tags.iter().map(|tag| {
            let carried = col(column::TAGS).list().contains(lit(tag.as_str()), false);
            ("tags", tag, carried)
        }))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let found = collect_streaming(
        calls.clone().select(
            wanted
                .iter()
                .enumerate()
                .map(|(index, (_, _, carried))| {
                    carried
                        .clone()
                        .fill_null(lit(false))
                        .any(true)
                        .alias(format!("found{index}"))
                })
                .collect::<Vec<_>>(),
        ),
    )
    .map_err(polars_error)?;
    let mut unmatched = Vec::new();
    for (index, (field, value, _)) in wanted.into_iter().enumerate() {
        let carried = found
            .column(&format!("found{index}"))
            .and_then(|column| column.get(0).map(|value| value.extract_bool()))
            .map_err(polars_error)?;
        if carried == Some(true) {
            continue;
        }
        let ids_of_name = if field == "user_ids" {
            ids_named(calls.clone(), value).map_err(polars_error)?
        } else {
            Vec::new()
        };
        unmatched.push(Unmatched {
            field,
            value: value.clone(),
            ids_of_name,
        });
    }
    Ok(unmatched)
}

/// The ids of the users of `calls` whose `user_name` is `name` (whatever
/// its case), the first [`IDS_SUGGESTED`] in order.
fn ids_named(calls: LazyFrame, name: &str) -> PolarsResult<Vec<String>> {
    let ids = collect_streaming(
        calls
            .filter(
                col(column::USER_NAME)
                    .str()
                    .to_lowercase()
                    .eq(lit(name.to_lowercase()))
                    .and(col(column::USER_ID).is_not_null()),
            )
            .select([col(column::USER_ID)])
            .unique_stable(None, UniqueKeepStrategy::First)
            .sort([column::USER_ID], SortMultipleOptions::default())
            .limit(IDS_SUGGESTED as IdxSize),
    )?;
    Ok(ids
        .column(column::USER_ID)?
        .str()?
        .iter()
        .flatten()
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{calls_to_frame, Call};

    /// A call of `user` (named `name`) tagged `tag`, on `day` of 2024.
    fn call(id: &str, (month, day): (u32, u32), user: &str, name: &str, tag: &str) -> Call {
        let date = Utc.with_ymd_and_hms(2024, month, day, 10, 0, 0).unwrap();
        let mut call = Call::new(id.to_string(), date);
        call.user_id = Some(user.to_string());
        call.user_name = Some(name.to_string());
        call.tags = vec![tag.to_string()];
        call
    }

    #[test]
    fn only_the_calls_near_the_request_s_periods_are_looked_at() {
        let calls = calls_to_frame(vec![
            call("a", (1, 10), "usr-1", "Ann", "demo"),
            call("b", (3, 12), "usr-2", "Bob", "trial"),
        ])
        .unwrap()
        .lazy();
        let request = Request::from_json_str(
            r#"{"date": {"from": "2024-03-04", "to": "2024-03-17"},
                "tags": ["demo", "trial"], "user_ids": ["usr-1", "Bob", "usr-2"]}"#,
        )
        .unwrap();
        let unmatched = unmatched_filters(calls, &request).unwrap();
        let named: Vec<(&str, &str, Vec<String>)> = unmatched
            .iter()
            .map(|found| (found.field, found.value.as_str(), found.ids_of_name.clone()))
            .collect();
        // `usr-1` and `demo` are carried in January only.
        assert_eq!(
            named,
            [
                ("user_ids", "usr-1", vec![]),
                ("user_ids", "Bob", vec!["usr-2".to_string()]),
                ("tags", "demo", vec![]),
            ]
        );
    }
}
