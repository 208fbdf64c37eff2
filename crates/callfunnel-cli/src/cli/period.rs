//! Periods as people say them (SPEC §6): `--month 2026-03`, `--week
//! 2026-W10` (an ISO week, Monday to Sunday) and `--quarter 2026-Q1`, each
//! read into the request's `date`.
//!
//! Each parser is a clap value parser: a value that names no period (a
//! 13th month, the 53rd week of a year that has 52) is a usage error (exit
//! status 2) that says why.

use chrono::{Datelike, Months, NaiveDate, Weekday};

use callfunnel::request::DateRange;

/// `YYYY-MM`: that calendar month, first to last day.
pub fn parse_month(text: &str) -> Result<DateRange, String> {
    let wrong = || format!("`{text}` is not a month: expected YYYY-MM, e.g. 2026-03");
    let (year, month) = year_and_number(text, "-", 2).ok_or_else(wrong)?;
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|first| months_from(first, 1))
        .ok_or_else(wrong)
}

/// `YYYY-Www`: that ISO 8601 week, Monday to Sunday. Week 1 is the week of
/// the year's first Thursday, so a week may start in December of the year
/// before (2026-W01 starts on 2025-12-29) or end in January of the next; a
/// year has 52 or 53 weeks.
pub fn parse_week(text: &str) -> Result<DateRange, String> {
    let wrong = || format!("`{text}` is not a week: expected YYYY-Www, e.g. 2026-W10");
    let (year, week) = year_and_number(text, "-W", 2).ok_or_else(wrong)?;
    let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(|| {
        let weeks = NaiveDate::from_ymd_opt(year, 12, 28).map(|day| day.iso_week().week());
        match weeks {
            Some(weeks) => format!("`{text}` is not a week: {year} has ISO weeks 01 to {weeks}"),
            None => wrong(),
        }
    })?;
    let sunday = monday
        .checked_add_days(chrono::Days::new(6))
        .ok_or_else(wrong)?;
    Ok(DateRange {
        from: monday,
        to: sunday,
    })
}

/// `YYYY-Qn`: that calendar quarter (Q1 is January to March).
pub fn parse_quarter(text: &str) -> Result<DateRange, String> {
    let wrong =
        || format!("`{text}` is not a quarter: expected YYYY-Qn with n from 1 to 4, e.g. 2026-Q1");
    let (year, quarter) = year_and_number(text, "-Q", 1)
        .filter(|(_, quarter)| (1..=4).contains(quarter))
        .ok_or_else(wrong)?;
    NaiveDate::from_ymd_opt(year, 3 * quarter - 2, 1)
        .and_then(|first| months_from(first, 3))
        .ok_or_else(wrong)
}

/// `count` whole months from `first` (a month's first day).
fn months_from(first: NaiveDate, count: u32) -> Option<DateRange> {
    let next = first.checked_add_months(Months::new(count))?;
    Some(DateRange {
        from: first,
        to: next.pred_opt()?,
    })
}

/// The year and the number of `YYYY{separator}N…`: four digits, the
/// separator (in any case), then exactly `digits` digits.
fn year_and_number(text: &str, separator: &str, digits: usize) -> Option<(i32, u32)> {
    let upper = text.to_ascii_uppercase();
    let (year, number) = upper.split_once(separator)?;
    let all_digits = |part: &str, length: usize| {
        part.len() == length && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    if !(all_digits(year, 4) && all_digits(number, digits)) {
        return None;
    }
    Some((year.parse().ok()?, number.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: &str, to: &str) -> DateRange {
        DateRange {
            from: from.parse().unwrap(),
            to: to.parse().unwrap(),
        }
    }

    #[test]
    fn months_run_from_the_first_to_the_last_day() {
        assert_eq!(
            parse_month("2026-03"),
            Ok(range("2026-03-01", "2026-03-31"))
        );
        assert_eq!(
            parse_month("2024-02"),
            Ok(range("2024-02-01", "2024-02-29"))
        );
        assert_eq!(
            parse_month("2025-12"),
            Ok(range("2025-12-01", "2025-12-31"))
        );
        for wrong in [
            "2026-13",
            "2026-00",
            "2026-3",
            "26-03",
            "2026/03",
            "2026-03-01",
            "",
        ] {
            assert!(parse_month(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn weeks_are_iso_weeks_across_years() {
        assert_eq!(
            parse_week("2026-W10"),
            Ok(range("2026-03-02", "2026-03-08"))
        );
        assert_eq!(
            parse_week("2026-w01"),
            Ok(range("2025-12-29", "2026-01-04"))
        );
        // 2020 and 2026 start on a Thursday: they have 53 weeks.
        assert_eq!(
            parse_week("2020-W53"),
            Ok(range("2020-12-28", "2021-01-03"))
        );
        assert_eq!(
            parse_week("2026-W53"),
            Ok(range("2026-12-28", "2027-01-03"))
        );
        assert_eq!(
            parse_week("2021-W01"),
            Ok(range("2021-01-04", "2021-01-10"))
        );
        assert_eq!(
            parse_week("2025-W53"),
            Err("`2025-W53` is not a week: 2025 has ISO weeks 01 to 52".into())
        );
        for wrong in ["2026-W00", "2026-W1", "2026W10", "2026-10", "2026-W54"] {
            assert!(parse_week(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn quarters_hold_three_months() {
        assert_eq!(
            parse_quarter("2026-Q1"),
            Ok(range("2026-01-01", "2026-03-31"))
        );
        assert_eq!(
            parse_quarter("2024-q1"),
            Ok(range("2024-01-01", "2024-03-31"))
        );
        assert_eq!(
            parse_quarter("2026-Q4"),
            Ok(range("2026-10-01", "2026-12-31"))
        );
        for wrong in ["2026-Q0", "2026-Q5", "2026-Q", "2026Q1", "2026-Q10"] {
            assert!(parse_quarter(wrong).is_err(), "{wrong}");
        }
    }
}
