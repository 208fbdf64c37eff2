//! The request fields of SPEC §8 and their validation, with the API's error
//! envelope (SPEC §2.1): `group_by`, `group_sort`, `group_page`,
//! `group_size`, `connect_rules`, `reach` and `intervals` (`compare` is read
//! with the comparison period, in `compare`). Enum values are read in any
//! case.

use super::breakdown::{BreakdownRequest, GroupBy, GroupSort, DEFAULT_GROUP_SIZE, MAX_GROUP_SIZE};
use crate::pagination::{page_number, size_within};
use crate::request::{body_error, ApiError, ErrorCode, Fields};

/// What of SPEC §8 a request asks for (`Default`: nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnalysisRequest {
    /// The breakdown, with `group_by` (§8.1).
    pub breakdown: Option<BreakdownRequest>,
    /// `connect_rules: true` (§8.2).
    pub connect_rules: bool,
    /// `reach: true` (§8.3).
    pub reach: bool,
    /// `intervals: true` (§8.4).
    pub intervals: bool,
}

impl AnalysisRequest {
    /// Whether nothing of SPEC §8 is asked for (the response then has no
    /// `analysis`).
    pub fn is_empty(&self) -> bool {
        *self == AnalysisRequest::default()
    }

    /// Reads and validates the §8 fields of a request body. `group_sort`,
    /// `group_page` and `group_size` are checked even without `group_by`.
    pub(crate) fn from_fields(fields: &Fields) -> Result<AnalysisRequest, ApiError> {
        let group_by = match fields.string("group_by")? {
            None => None,
            Some(text) => Some(GroupBy::parse(&text).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidGroupBy,
                    Some("group_by"),
                    format!(
                        "group_by must be one of {}, not `{text}`",
                        spellings(GroupBy::ALL.map(GroupBy::as_str))
                    ),
                )
            })?),
        };
        let sort = match fields.string("group_sort")? {
            None => GroupSort::Dials,
            Some(text) => GroupSort::parse(&text).ok_or_else(|| {
                body_error(
                    "group_sort",
                    format!(
                        "group_sort must be one of {}, not `{text}`",
                        spellings(GroupSort::ALL.map(GroupSort::as_str))
                    ),
                )
            })?,
        };
        let page = page_number(fields.integer("group_page")?)
            .map_err(|error| body_error("group_page", format!("group_{error}")))?;
        let size = size_within(
            fields.integer("group_size")?,
            DEFAULT_GROUP_SIZE,
            MAX_GROUP_SIZE,
        )
        .map_err(|size| {
            ApiError::new(
                ErrorCode::InvalidPageSize,
                Some("group_size"),
                format!("group_size must be between 1 and {MAX_GROUP_SIZE}, not {size}"),
            )
        })?;
        Ok(AnalysisRequest {
            breakdown: group_by.map(|group_by| BreakdownRequest {
                group_by,
                sort,
                page,
                size,
            }),
            connect_rules: fields.boolean("connect_rules")?,
            reach: fields.boolean("reach")?,
            intervals: fields.boolean("intervals")?,
        })
    }
}

/// `A, B, … or Z`.
fn spellings<const N: usize>(values: [&str; N]) -> String {
    match values.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, others)) => format!("{} or {last}", others.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::request::{ErrorCode, Request};

    fn error(body: &str) -> (ErrorCode, Option<String>, String) {
        let text = format!(r#"{{"date": {{"from": "2024-03-01", "to": "2024-03-31"}}, {body}}}"#);
        let error = Request::from_json_str(&text).unwrap_err();
        (error.code, error.param, error.message)
    }

    #[test]
    fn bad_fields_name_their_param() {
        let (code, param, message) = error(r#""group_by": "TEAM""#);
        assert_eq!(
            (code, param.as_deref()),
            (ErrorCode::InvalidGroupBy, Some("group_by"))
        );
        assert_eq!(
            message,
            "group_by must be one of USER, ALLO_NUMBER, TAG, CONTACT_NUMBER, RESULT, WEEKDAY or HOUR, not `TEAM`"
        );
        let cases = [
            (
                r#""group_sort": "name""#,
                ErrorCode::InvalidRequestBody,
                "group_sort",
            ),
            (
                r#""group_page": 0"#,
                ErrorCode::InvalidRequestBody,
                "group_page",
            ),
            (
                r#""group_page": "2""#,
                ErrorCode::InvalidRequestBody,
                "group_page",
            ),
            (
                r#""group_size": 0"#,
                ErrorCode::InvalidPageSize,
                "group_size",
            ),
            (
                r#""group_size": 1001"#,
                ErrorCode::InvalidPageSize,
                "group_size",
            ),
            (r#""reach": "yes""#, ErrorCode::InvalidRequestBody, "reach"),
            (
                r#""intervals": 1"#,
                ErrorCode::InvalidRequestBody,
                "intervals",
            ),
            (
                r#""connect_rules": []"#,
                ErrorCode::InvalidRequestBody,
                "connect_rules",
            ),
            (
                r#""compare": "last_year""#,
                ErrorCode::InvalidRequestBody,
                "compare",
            ),
            (r#""compare": 3"#, ErrorCode::InvalidRequestBody, "compare"),
            (
                r#""compare": "none", "compare_date": {"from": "2024-01-01", "to": "2024-01-31"}"#,
                ErrorCode::InvalidRequestBody,
                "compare",
            ),
        ];
        for (body, code, param) in cases {
            let (actual, actual_param, _) = error(body);
            assert_eq!(
                (actual, actual_param.as_deref()),
                (code, Some(param)),
                "{body}"
            );
        }
    }

    #[test]
    fn previous_month_needs_one_whole_month() {
        let text =
            r#"{"date": {"from": "2024-03-01", "to": "2024-03-30"}, "compare": "previous_month"}"#;
        let error = Request::from_json_str(text).unwrap_err();
        assert_eq!(
            (error.code, error.param.as_deref()),
            (ErrorCode::InvalidCompare, Some("compare"))
        );
        assert_eq!(error.to_string(), "compare=previous_month needs date to be one whole calendar month, not 2024-03-01 to 2024-03-30 (InvalidCompare, param Some(\"compare\"))");
    }

    #[test]
    fn values_are_read_in_any_case_and_default_sensibly() {
        let text = r#"{"date": {"from": "2024-03-01", "to": "2024-03-31"}, "group_by": "allo_number", "group_sort": "Connect_Rate", "compare": "PREVIOUS_MONTH", "reach": true}"#;
        let request = Request::from_json_str(text).unwrap();
        let breakdown = request.analysis.breakdown.unwrap();
        assert_eq!(breakdown.group_by, super::GroupBy::AlloNumber);
        assert_eq!(breakdown.sort, super::GroupSort::ConnectRate);
        assert_eq!((breakdown.page, breakdown.size), (1, 100));
        assert!(request.analysis.reach && !request.analysis.intervals);
        let compare = request.compare_date.unwrap();
        assert_eq!(compare.from.to_string(), "2024-02-01");
        assert_eq!(compare.to.to_string(), "2024-02-29");

        let none = r#"{"date": {"from": "2024-03-01", "to": "2024-03-31"}, "compare": "none"}"#;
        let request = Request::from_json_str(none).unwrap();
        assert_eq!(request.compare_date, None);
        assert!(request.analysis.is_empty());
    }
}
