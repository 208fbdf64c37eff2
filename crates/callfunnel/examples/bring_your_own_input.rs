//! Embeds the engine behind an input of your own: calls held by your program
//! (from a database, a queue, another API) become the canonical frame, and the
//! engine answers any request on it.
//!
//! ```sh
//! cargo run -p callfunnel --example bring_your_own_input
//! ```

use std::error::Error;

use callfunnel::model::{calls_to_frame, Call, CallResult};
use callfunnel::{compute, Request};
use chrono::{TimeZone, Utc};
use polars::prelude::IntoLazy;

/// A call as some other system of yours keeps it.
struct CrmCall {
    id: u32,
    rep: &'static str,
    minute_of_march_4: u32,
    picked_up: bool,
    talk_seconds: i64,
    outcome_tag: Option<&'static str>,
}

/// The calls of your system, in the library's record type.
fn to_calls(rows: &[CrmCall]) -> Vec<Call> {
    rows.iter()
        .map(|row| {
            let dialled = Utc.with_ymd_and_hms(2024, 3, 4, 9, 0, 0).unwrap()
                + chrono::Duration::minutes(i64::from(row.minute_of_march_4));
            let mut call = Call::new(format!("crm-{}", row.id), dialled);
            call.user_id = Some(row.rep.to_owned());
            call.result = Some(if row.picked_up {
                CallResult::Answered
            } else {
                CallResult::NoAnswer
            });
            call.duration = row.talk_seconds;
            call.tags = row.outcome_tag.map(str::to_owned).into_iter().collect();
            call
        })
        .collect()
}

fn main() -> Result<(), Box<dyn Error>> {
    let rows = [
        CrmCall {
            id: 1,
            rep: "ana",
            minute_of_march_4: 0,
            picked_up: true,
            talk_seconds: 300,
            outcome_tag: Some("demo_booked"),
        },
        CrmCall {
            id: 2,
            rep: "ana",
            minute_of_march_4: 20,
            picked_up: false,
            talk_seconds: 0,
            outcome_tag: None,
        },
        CrmCall {
            id: 3,
            rep: "bo",
            minute_of_march_4: 95,
            picked_up: true,
            talk_seconds: 45,
            outcome_tag: None,
        },
    ];
    let calls = calls_to_frame(to_calls(&rows))?.lazy();
    let request = Request::from_json_str(
        r#"{"date": {"from": "2024-03-04", "to": "2024-03-10"}, "tags": ["demo_booked"]}"#,
    )?;
    let response = compute(calls, &request)?;
    let funnel = &response.data.funnel;
    println!(
        "dials {}, connected {}, conversations {}, conversions {}",
        funnel.dials.count.value,
        funnel.connected.count.value,
        funnel.conversations.count.value,
        funnel.conversions.count.value
    );
    Ok(())
}
