//! Comparison presets (SPEC §8.5 `compare`): which period the current one
//! is compared with, when the request gives no `compare_date`.

use chrono::{Datelike, Days, Months};
use serde::Serialize;

use crate::model::rules::match_spelling;
use crate::request::{body_error, ApiError, DateRange, ErrorCode, Fields};

/// What the current period is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// The equally long period just before (the API's own comparison).
    PreviousPeriod,
    /// No comparison: `compare_date`, every `previous` and every `change`
    /// are `null`.
    None,
    /// The calendar month before; `date` must be one whole calendar month.
    PreviousMonth,
    /// Both bounds 364 days (52 weeks) earlier, so each day falls on the
    /// same weekday.
    SameWeekdaysLastYear,
}

impl Compare {
    /// Every preset, default first.
    pub const ALL: [Compare; 4] = [
        Compare::PreviousPeriod,
        Compare::None,
        Compare::PreviousMonth,
        Compare::SameWeekdaysLastYear,
    ];

    /// The request's spelling, e.g. `previous_month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compare::PreviousPeriod => "previous_period",
            Compare::None => "none",
            Compare::PreviousMonth => "previous_month",
            Compare::SameWeekdaysLastYear => "same_weekdays_last_year",
        }
    }

    /// The preset spelled `text`, in any case, spaces around ignored.
    pub fn parse(text: &str) -> Option<Compare> {
        match_spelling(&Compare::ALL.map(Compare::as_str), text).map(|index| Compare::ALL[index])
    }

    /// The comparison period of `date` (`None`: no comparison); `None` in
    /// the error when `date` is not one whole calendar month and the
    /// preset needs one.
    pub fn period(self, date: &DateRange) -> Result<Option<DateRange>, NotOneMonth> {
        Ok(match self {
            Compare::PreviousPeriod => Some(date.preceding()),
            Compare::None => None,
            Compare::PreviousMonth => {
                if !is_one_month(date) {
                    return Err(NotOneMonth);
                }
                let to = date.from - Days::new(1);
                let from = to.with_day(1).expect("day 1 exists");
                Some(DateRange { from, to })
            }
            Compare::SameWeekdaysLastYear => {
                let earlier = |day: chrono::NaiveDate| day - Days::new(364);
                Some(DateRange {
                    from: earlier(date.from),
                    to: earlier(date.to),
                })
            }
        })
    }
}

/// `compare: previous_month` for a period that is not one whole calendar
/// month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotOneMonth;

/// Whether `date` runs from the first to the last day of one month.
fn is_one_month(date: &DateRange) -> bool {
    date.from.day() == 1 && date.from.checked_add_months(Months::new(1)) == date.to.succ_opt()
}

/// The request's comparison period: `compare_date` when given (then
/// `compare` must be absent), else the `compare` preset's (default
/// `previous_period`).
pub(crate) fn comparison_period(
    fields: &Fields,
    date: &DateRange,
    compare_date: Option<DateRange>,
) -> Result<Option<DateRange>, ApiError> {
    let Some(text) = fields.string("compare")? else {
        return Ok(Some(compare_date.unwrap_or_else(|| date.preceding())));
    };
    let preset = Compare::parse(&text).ok_or_else(|| {
        body_error(
            "compare",
            format!(
                "compare must be previous_period, none, previous_month or same_weekdays_last_year, not `{text}`"
            ),
        )
    })?;
    if compare_date.is_some() {
        return Err(body_error(
            "compare",
            "compare cannot be combined with compare_date: give one or the other",
        ));
    }
    preset.period(date).map_err(|NotOneMonth| {
        ApiError::new(
            ErrorCode::InvalidCompare,
            Some("compare"),
            format!(
                "compare=previous_month needs date to be one whole calendar month, not {} to {}",
                date.from, date.to
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn range(from: &str, to: &str) -> DateRange {
        let day = |text| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
        DateRange {
            from: day(from),
            to: day(to),
        }
    }

    #[test]
    fn presets_parse_in_any_case() {
        assert_eq!(Compare::parse("NONE"), Some(Compare::None));
        assert_eq!(
            Compare::parse(" Same_Weekdays_Last_Year "),
            Some(Compare::SameWeekdaysLastYear)
        );
        assert_eq!(Compare::parse("last_month"), None);
    }

    #[test]
    fn previous_month_is_the_calendar_month_before() {
        let period = |from, to| Compare::PreviousMonth.period(&range(from, to));
        assert_eq!(
            period("2024-03-01", "2024-03-31"),
            Ok(Some(range("2024-02-01", "2024-02-29")))
        );
        assert_eq!(
            period("2024-01-01", "2024-01-31"),
            Ok(Some(range("2023-12-01", "2023-12-31")))
        );
        assert_eq!(period("2024-03-01", "2024-03-30"), Err(NotOneMonth));
        assert_eq!(period("2024-03-02", "2024-03-31"), Err(NotOneMonth));
        assert_eq!(period("2024-02-01", "2024-03-31"), Err(NotOneMonth));
    }

    #[test]
    fn same_weekdays_last_year_is_52_weeks_earlier() {
        let date = range("2024-03-04", "2024-03-10");
        let compared = Compare::SameWeekdaysLastYear
            .period(&date)
            .unwrap()
            .unwrap();
        assert_eq!(compared, range("2023-03-06", "2023-03-12"));
        assert_eq!(compared.from.weekday(), date.from.weekday());
        assert_eq!(Compare::None.period(&date), Ok(None));
        assert_eq!(
            Compare::PreviousPeriod.period(&date),
            Ok(Some(range("2024-02-26", "2024-03-03")))
        );
    }
}
