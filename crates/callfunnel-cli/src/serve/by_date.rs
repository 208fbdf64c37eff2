//! The loaded calls sorted by date, so that the calls an analytics request
//! can count are found by two binary searches and handed to the engine as a
//! slice (no copy), rather than filtered out of every loaded call on every
//! request.

use callfunnel::engine::window;
use callfunnel::model::{column, DATE_UNIT};
use callfunnel::Request;
use chrono::{DateTime, Utc};
use polars::prelude::*;

// The dates are compared as the column's integers: microseconds.
const _: () = assert!(matches!(DATE_UNIT, TimeUnit::Microseconds));

/// The canonical call frame sorted by date (calls without a date, if any,
/// last), with the dates of its dated calls beside it: 8 bytes a call.
pub struct CallsByDate {
    frame: DataFrame,
    /// The dates of the first `dates.len()` rows of `frame`, ascending.
    dates: Vec<i64>,
}

impl CallsByDate {
    /// `frame` sorted by date (kept as it is when it already is, as a
    /// store's calls are).
    pub fn new(frame: DataFrame) -> PolarsResult<Self> {
        let frame = if is_sorted_by_date(&frame)? {
            frame
        } else {
            frame.sort(
                [column::DATE],
                SortMultipleOptions::default()
                    .with_nulls_last(true)
                    .with_maintain_order(true),
            )?
        };
        let micros = frame.column(column::DATE)?.datetime()?.physical();
        let dates = micros.iter().map_while(|date| date).collect();
        Ok(CallsByDate { frame, dates })
    }

    /// The calls that can change the answer to `request`: those dated in its
    /// [`window`] and those dated the latest date of all (for
    /// `last_updated`), as a store read for `request` keeps them
    /// ([`callfunnel::ingest::IngestOptions::keep_window`]).
    pub fn for_request(&self, request: &Request) -> PolarsResult<DataFrame> {
        let (from, to) = window(request);
        let (start, end) = (self.first_at(from), self.first_at(to));
        let dated = self.dates.len();
        let latest = self.dates.last().map_or(dated, |&last| {
            self.dates.partition_point(|&date| date < last)
        });
        if latest <= end {
            // The calls of the latest date follow the window's, or are among them.
            let first = start.min(latest);
            Ok(self.frame.slice(first as i64, dated - first))
        } else {
            let mut calls = self.frame.slice(start as i64, end - start);
            calls.vstack_mut(&self.frame.slice(latest as i64, dated - latest))?;
            Ok(calls)
        }
    }

    /// The row of the first call dated at or after `instant`.
    fn first_at(&self, instant: DateTime<Utc>) -> usize {
        let micros = instant.timestamp_micros();
        self.dates.partition_point(|&date| date < micros)
    }
}

/// Whether every call of `frame` has a date, each at or after the one before.
fn is_sorted_by_date(frame: &DataFrame) -> PolarsResult<bool> {
    let micros = frame.column(column::DATE)?.datetime()?.physical();
    let mut previous = i64::MIN;
    Ok(micros.iter().all(|date| {
        date.is_some_and(|date| {
            let in_order = previous <= date;
            previous = date;
            in_order
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use callfunnel::compute;
    use callfunnel::model::{calls_to_frame, Call};
    use chrono::TimeZone;

    /// Calls on every day of March and April 2024 and one in June (the
    /// latest), shuffled: their ids say their day.
    fn calls() -> DataFrame {
        let mut calls: Vec<Call> = (0..61)
            .map(|day| {
                let date =
                    Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap() + chrono::Days::new(day);
                Call::new(format!("cll-{day:03}"), date)
            })
            .collect();
        calls.push(Call::new(
            "cll-june",
            Utc.with_ymd_and_hms(2024, 6, 30, 9, 0, 0).unwrap(),
        ));
        calls.reverse();
        calls.swap(3, 40);
        calls_to_frame(calls).unwrap()
    }

    fn request(body: &str) -> Request {
        Request::from_json_str(body).unwrap()
    }

    fn ids(frame: &DataFrame) -> Vec<String> {
        let ids = frame.column(column::ID).unwrap().str().unwrap();
        ids.iter().map(|id| id.unwrap().to_string()).collect()
    }

    #[test]
    fn a_request_gets_its_window_and_the_latest_call() {
        let calls = CallsByDate::new(calls()).unwrap();
        // 2024-03-18..24, compared with 03-11..17: the window is 03-09..03-26.
        let week = request(r#"{"date": {"from": "2024-03-18", "to": "2024-03-24"}}"#);
        let kept = ids(&calls.for_request(&week).unwrap());
        let mut expected: Vec<String> = (8..26).map(|day| format!("cll-{day:03}")).collect();
        expected.push("cll-june".into());
        assert_eq!(kept, expected);
    }

    #[test]
    fn a_window_reaching_the_latest_call_is_one_slice() {
        let calls = CallsByDate::new(calls()).unwrap();
        // 2024-06-15..30, compared with 05-30..06-14: the window is 05-28..07-03.
        let june = request(r#"{"date": {"from": "2024-06-15", "to": "2024-06-30"}}"#);
        assert_eq!(ids(&calls.for_request(&june).unwrap()), ["cll-june"]);
        let later = request(r#"{"date": {"from": "2025-01-01", "to": "2025-01-31"}}"#);
        assert_eq!(ids(&calls.for_request(&later).unwrap()), ["cll-june"]);
        let earlier = request(r#"{"date": {"from": "2023-01-01", "to": "2023-01-31"}}"#);
        assert_eq!(ids(&calls.for_request(&earlier).unwrap()), ["cll-june"]);
    }

    #[test]
    fn no_calls_give_no_calls() {
        let calls = CallsByDate::new(calls_to_frame(Vec::new()).unwrap()).unwrap();
        let week = request(r#"{"date": {"from": "2024-03-18", "to": "2024-03-24"}}"#);
        assert_eq!(calls.for_request(&week).unwrap().height(), 0);
    }

    #[test]
    fn the_answer_from_the_slice_is_the_answer_from_every_call() {
        let by_date = CallsByDate::new(calls()).unwrap();
        for body in [
            r#"{"date": {"from": "2024-03-18", "to": "2024-03-24"}, "timezone": "Pacific/Kiritimati"}"#,
            r#"{"date": {"from": "2024-04-01", "to": "2024-04-30"}, "granularity": "WEEK", "timezone": "Pacific/Pago_Pago"}"#,
            r#"{"date": {"from": "2024-06-30", "to": "2024-06-30"}, "extend": "items", "stage": "DIAL"}"#,
        ] {
            let request = request(body);
            let sliced = compute(by_date.for_request(&request).unwrap().lazy(), &request).unwrap();
            let whole = compute(calls().lazy(), &request).unwrap();
            assert_eq!(sliced.to_json_pretty(), whole.to_json_pretty(), "{body}");
        }
    }
}
