//! Parquet input: the canonical columns, scanned lazily.
//!
//! The file is checked with one aggregate query (row count and, per reason,
//! how many rows are bad); the frame handed on stays a lazy scan, so the
//! engine's filters and projections reach the file.

use std::collections::BTreeMap;
use std::path::Path;

use chrono_tz::Tz;
use polars::prelude::*;

use super::column_exprs::{absent_value, api_spellings, default_enum, empty_tags, is_one_of};
use super::error::{truncate_value, IngestError, InvalidRow, Reason};
use super::fields::{ColumnNames, Field};
use super::first_count;
use crate::convert::{STORE_MARKER_KEY, STORE_MARKER_VERSION};
use crate::model::{canonical_schema, date_dtype};

/// A scanned Parquet file and what checking it found.
pub(crate) struct ParquetPart {
    /// The canonical frame, without the skipped rows.
    pub frame: LazyFrame,
    /// Rows in the file.
    pub rows_read: u64,
    /// Rows skipped, by reason (only with `skip_invalid`).
    pub skipped: BTreeMap<String, u64>,
    /// Whether the file is a canonical store (see
    /// [`crate::convert::STORE_MARKER_KEY`]): its ids are known to be unique.
    pub unique_ids: bool,
}

/// How a field is read from the file.
struct FieldPlan {
    field: Field,
    /// The column in the file, when present.
    column: Option<String>,
    /// The canonical value.
    value: Expr,
    /// Conditions that make a row bad, in the order they are reported.
    checks: Vec<(Reason, Expr)>,
    /// For enum columns: the API-case value and whether the raw value needs it.
    normalized: Option<(Expr, Expr)>,
}

/// Scans `path` (named `file` in messages) and checks its rows.
pub(crate) fn scan_parquet(
    path: &Path,
    file: &str,
    names: &ColumnNames,
    tz: Tz,
    skip_invalid: bool,
) -> Result<ParquetPart, IngestError> {
    let polars_error = |source: PolarsError| IngestError::Polars {
        context: file.to_string(),
        source,
    };
    let source = PlRefPath::try_from_path(path).map_err(polars_error)?;
    let args = ScanArgsParquet {
        glob: false,
        ..Default::default()
    };
    let mut scan = LazyFrame::scan_parquet(source, args).map_err(polars_error)?;
    let schema = scan.collect_schema().map_err(polars_error)?;
    if !names.is_any_mapped() && *schema == canonical_schema() {
        if let Some(rows) = store_rows(path).map_err(polars_error)? {
            if let Some(error) = check_store(&scan, file).map_err(polars_error)? {
                return Err(error);
            }
            return Ok(ParquetPart {
                frame: scan,
                rows_read: rows,
                skipped: BTreeMap::new(),
                unique_ids: true,
            });
        }
    }

    let mut plans: Vec<FieldPlan> = Vec::with_capacity(Field::ALL.len());
    for field in Field::ALL {
        let column = names.get(field);
        let plan = match schema.get(column) {
            Some(dtype) => plan_field(field, column, dtype, tz).map_err(|expected| {
                IngestError::BadColumnType {
                    file: file.to_string(),
                    column: column.to_string(),
                    dtype: dtype.to_string(),
                    expected,
                }
            })?,
            None if field.is_required() || names.is_mapped(field) => {
                return Err(IngestError::MissingColumn {
                    file: file.to_string(),
                    field: field.name().to_string(),
                    column: column.to_string(),
                });
            }
            None => absent_field(field),
        };
        plans.push(plan);
    }

    // Upper-casing text is slow: only the enum columns that hold a value not
    // in API case are normalized and checked.
    let needs_upper = enum_columns_needing_upper_case(&scan, &plans).map_err(polars_error)?;
    for (plan, needs) in plans.iter_mut().zip(needs_upper) {
        if !needs && plan.normalized.is_some() {
            plan.normalized = None;
            plan.checks.clear();
        }
    }

    // One pass: the row count, and per reason the rows that are bad for it
    // and for no earlier reason.
    let checks: Vec<(Reason, Expr)> = plans
        .iter()
        .flat_map(|plan| plan.checks.iter().cloned())
        .map(|(reason, check)| (reason, check.fill_null(lit(false))))
        .collect();
    let mut summary = vec![len().alias("rows")];
    let mut earlier: Option<Expr> = None;
    for (index, (_, check)) in checks.iter().enumerate() {
        let first = match &earlier {
            None => check.clone(),
            Some(earlier) => check.clone().and(earlier.clone().not()),
        };
        summary.push(first.sum().alias(format!("check{index}")));
        earlier = Some(match earlier {
            None => check.clone(),
            Some(earlier) => earlier.or(check.clone()),
        });
    }
    let counts = scan
        .clone()
        .select(summary)
        .collect()
        .map_err(polars_error)?;
    let count = |name: &str| first_count(&counts, name).map_err(polars_error);

    let rows_read = count("rows")?;
    let mut skipped = BTreeMap::new();
    for (index, (reason, _)) in checks.iter().enumerate() {
        let bad = count(&format!("check{index}"))?;
        if bad > 0 {
            *skipped.entry(reason.as_str().to_string()).or_insert(0) += bad;
        }
    }
    if let (false, Some(any_bad)) = (skipped.is_empty(), earlier) {
        if !skip_invalid {
            return Err(first_bad_row(scan, file, &plans, &checks, any_bad).map_err(polars_error)?);
        }
        scan = scan.filter(any_bad.not());
    }

    let columns: Vec<Expr> = plans
        .into_iter()
        .map(|plan| {
            let value = match plan.normalized {
                Some((upper, _)) => default_enum(plan.field, upper),
                None => plan.value,
            };
            value.alias(plan.field.name())
        })
        .collect();
    Ok(ParquetPart {
        frame: scan.select(columns),
        rows_read,
        skipped,
        unique_ids: false,
    })
}

/// The number of rows of `path` when it is a canonical store (its metadata
/// carries the store marker), `None` otherwise.
fn store_rows(path: &Path) -> PolarsResult<Option<u64>> {
    let file = std::fs::File::open(path)?;
    let mut reader = ParquetReader::new(file);
    let metadata = reader.get_metadata()?;
    let marked = metadata.key_value_metadata().iter().flatten().any(|entry| {
        entry.key == STORE_MARKER_KEY && entry.value.as_deref() == Some(STORE_MARKER_VERSION)
    });
    Ok(marked.then_some(metadata.num_rows as u64))
}

/// First instant of year 0000 and first instant of year 10000, in
/// microseconds since the epoch: a date outside is refused, as in CSV.
const FIRST_MICROS: i64 = -62_167_219_200_000_000;
const END_MICROS: i64 = 253_402_300_800_000_000;

/// The rules a store's values keep, checked on every read (a damaged file
/// may decode to any value), in the order they are reported.
fn store_rules() -> [(Reason, &'static str, Expr); 10] {
    use crate::model::column;
    let micros = col(column::DATE).cast(DataType::Int64);
    let ringing = col(column::RINGING_SECONDS);
    let unknown = |field: Field| {
        let spellings = Series::new("spellings".into(), api_spellings(field));
        col(field.name()).is_not_null().and(
            col(field.name())
                .is_in(lit(spellings).implode(false), false)
                .not(),
        )
    };
    [
        (
            Reason::UnknownDirection,
            column::DIRECTION,
            unknown(Field::Direction),
        ),
        (Reason::UnknownType, column::TYPE, unknown(Field::Type)),
        (
            Reason::UnknownResult,
            column::RESULT,
            unknown(Field::Result),
        ),
        (
            Reason::MissingId,
            column::ID,
            col(column::ID).is_null().or(col(column::ID).eq(lit(""))),
        ),
        (Reason::MissingDate, column::DATE, micros.clone().is_null()),
        (
            Reason::BadTimestamp,
            column::DATE,
            micros
                .clone()
                .lt(lit(FIRST_MICROS))
                .or(micros.gt_eq(lit(END_MICROS))),
        ),
        (
            Reason::NegativeDuration,
            column::DURATION,
            col(column::DURATION).lt(lit(0i64)),
        ),
        (
            Reason::NonNumericRingingSeconds,
            column::RINGING_SECONDS,
            ringing.clone().is_nan(),
        ),
        (
            Reason::NegativeRingingSeconds,
            column::RINGING_SECONDS,
            ringing.clone().lt(lit(0.0)),
        ),
        (
            Reason::RingingSecondsTooLarge,
            column::RINGING_SECONDS,
            ringing.gt(lit(crate::engine::MAX_RINGING_SECONDS)),
        ),
    ]
}

/// The columns the store rules read, shown in the error.
const SHOWN: [&str; 7] = [
    crate::model::column::DIRECTION,
    crate::model::column::TYPE,
    crate::model::column::RESULT,
    crate::model::column::ID,
    crate::model::column::DATE,
    crate::model::column::DURATION,
    crate::model::column::RINGING_SECONDS,
];

/// Checks the values of a store (one pass over the few columns the rules
/// read); `Some` error locating the first row that breaks a rule. A store
/// damaged on disk then stops the load instead of giving wrong figures.
fn check_store(scan: &LazyFrame, file: &str) -> PolarsResult<Option<IngestError>> {
    let rules = store_rules();
    let broken = rules
        .iter()
        .map(|(_, _, rule)| rule.clone().fill_null(lit(false)))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false));
    let flagged = scan
        .clone()
        .with_row_index("__row", None)
        .filter(broken)
        .limit(1)
        .select(
            [col("__row")]
                .into_iter()
                .chain(rules.iter().enumerate().map(|(index, (_, _, rule))| {
                    rule.clone()
                        .fill_null(lit(false))
                        .alias(format!("rule{index}"))
                }))
                .chain(SHOWN.map(|name| {
                    col(name)
                        .cast(DataType::String)
                        .alias(format!("shown_{name}"))
                }))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    if flagged.height() == 0 {
        return Ok(None);
    }
    let row = flagged
        .column("__row")?
        .get(0)?
        .extract::<u64>()
        .unwrap_or(0)
        + 1;
    for (index, (reason, column, _)) in rules.iter().enumerate() {
        if flagged.column(&format!("rule{index}"))?.get(0)? != AnyValue::Boolean(true) {
            continue;
        }
        let shown = flagged.column(&format!("shown_{column}"))?.get(0)?;
        let detail = match reason {
            Reason::BadTimestamp => Some("outside years 0000–9999: is the store damaged?".into()),
            _ => Some("is the store damaged?".into()),
        };
        return Ok(Some(IngestError::InvalidParquetRow(Box::new(InvalidRow {
            file: file.to_string(),
            line: row,
            column: (*column).to_string(),
            value: truncate_value(shown.get_str().unwrap_or_default()),
            reason: *reason,
            detail,
        }))));
    }
    Ok(None)
}

/// For each plan, whether it is an enum column with a value not in API case
/// (one pass of plain comparisons).
fn enum_columns_needing_upper_case(
    scan: &LazyFrame,
    plans: &[FieldPlan],
) -> PolarsResult<Vec<bool>> {
    let needed: Vec<Expr> = plans
        .iter()
        .enumerate()
        .filter_map(|(index, plan)| {
            let (_, needed) = plan.normalized.as_ref()?;
            Some(
                needed
                    .clone()
                    .fill_null(lit(false))
                    .any(true)
                    .alias(format!("upper{index}")),
            )
        })
        .collect();
    if needed.is_empty() {
        return Ok(vec![false; plans.len()]);
    }
    let found = scan.clone().select(needed).collect()?;
    plans
        .iter()
        .enumerate()
        .map(|(index, plan)| match plan.normalized {
            Some(_) => {
                Ok(found.column(&format!("upper{index}"))?.get(0)? == AnyValue::Boolean(true))
            }
            None => Ok(false),
        })
        .collect()
}

/// The error for the first bad row of the file.
fn first_bad_row(
    scan: LazyFrame,
    file: &str,
    plans: &[FieldPlan],
    checks: &[(Reason, Expr)],
    any_bad: Expr,
) -> PolarsResult<IngestError> {
    let mut select = vec![col("__row")];
    for (index, (_, check)) in checks.iter().enumerate() {
        select.push(check.clone().alias(format!("check{index}")));
    }
    for plan in plans.iter().filter(|plan| !plan.checks.is_empty()) {
        if let Some(column) = &plan.column {
            select.push(
                col(column.as_str())
                    .cast(DataType::String)
                    .alias(format!("shown_{column}")),
            );
        }
    }
    let row = scan
        .with_row_index("__row", None)
        .filter(any_bad)
        .select(select)
        .limit(1)
        .collect()?;
    let number = row.column("__row")?.get(0)?.extract::<u64>().unwrap_or(0) + 1;
    for (index, (reason, _)) in checks.iter().enumerate() {
        if row.column(&format!("check{index}"))?.get(0)? != AnyValue::Boolean(true) {
            continue;
        }
        let plan = plans
            .iter()
            .find(|plan| plan.checks.iter().any(|(r, _)| r == reason));
        let column = plan
            .and_then(|plan| plan.column.clone())
            .unwrap_or_default();
        let shown = row.column(&format!("shown_{column}"))?.get(0)?;
        let value = shown.get_str().unwrap_or_default();
        return Ok(IngestError::InvalidParquetRow(Box::new(InvalidRow {
            file: file.to_string(),
            line: number,
            column,
            value: truncate_value(value),
            reason: *reason,
            detail: None,
        })));
    }
    Err(PolarsError::ComputeError("no bad row found".into()))
}

/// The plan of a field the file does not have.
fn absent_field(field: Field) -> FieldPlan {
    FieldPlan {
        field,
        column: None,
        value: absent_value(field),
        checks: Vec::new(),
        normalized: None,
    }
}

/// How to read `field` from `column` of type `dtype`; the error names the
/// type expected.
fn plan_field(
    field: Field,
    column: &str,
    dtype: &DataType,
    tz: Tz,
) -> Result<FieldPlan, &'static str> {
    let raw = col(column);
    let textual = dtype.is_string() || dtype.is_categorical() || dtype.is_enum() || dtype.is_null();
    let mut checks = Vec::new();
    let mut normalized = None;
    let value = match field {
        Field::Id => {
            if !(textual || dtype.is_integer()) {
                return Err("text");
            }
            let value = raw.cast(DataType::String);
            checks.push((
                Reason::MissingId,
                value.clone().is_null().or(value.clone().eq(lit(""))),
            ));
            value
        }
        Field::Date => {
            let value = match dtype {
                DataType::Datetime(_, Some(_)) => raw.clone().dt().convert_time_zone(TimeZone::UTC),
                DataType::Datetime(_, None) => raw
                    .clone()
                    .dt()
                    .replace_time_zone(
                        Some(TimeZone::from_chrono(&tz)),
                        lit("earliest"),
                        NonExistent::Null,
                    )
                    .dt()
                    .convert_time_zone(TimeZone::UTC),
                DataType::Null => raw.clone(),
                _ => return Err("a datetime"),
            }
            .cast(date_dtype());
            checks.push((Reason::MissingDate, raw.clone().is_null()));
            checks.push((
                Reason::BadTimestamp,
                raw.is_not_null().and(value.clone().is_null()),
            ));
            value
        }
        Field::Direction | Field::Type | Field::Result => {
            if !textual {
                return Err("text");
            }
            let text = raw.cast(DataType::String);
            let upper = text
                .clone()
                .str()
                .strip_chars(lit(NULL))
                .str()
                .to_uppercase();
            let upper = when(upper.clone().eq(lit("")))
                .then(lit(NULL))
                .otherwise(upper);
            let allowed = api_spellings(field);
            let reason = match field {
                Field::Direction => Reason::UnknownDirection,
                Field::Type => Reason::UnknownType,
                _ => Reason::UnknownResult,
            };
            checks.push((
                reason,
                upper
                    .clone()
                    .is_not_null()
                    .and(is_one_of(upper.clone(), allowed).not()),
            ));
            let needed = text
                .clone()
                .is_not_null()
                .and(is_one_of(text.clone(), allowed).not());
            normalized = Some((upper, needed));
            default_enum(field, text)
        }
        Field::Duration => {
            let value = if dtype.is_integer() || dtype.is_null() {
                raw.clone().cast(DataType::Int64)
            } else if dtype.is_float() {
                let whole = raw.clone().cast(DataType::Int64);
                checks.push((
                    Reason::NonIntegerDuration,
                    raw.clone()
                        .gt_eq(lit(0.0))
                        .and(raw.clone().neq(whole.clone().cast(DataType::Float64))),
                ));
                whole
            } else {
                return Err("an integer");
            };
            checks.push((Reason::NegativeDuration, raw.lt(lit(0))));
            value.fill_null(lit(0i64))
        }
        Field::RingingSeconds => {
            if !(dtype.is_primitive_numeric() || dtype.is_null()) {
                return Err("a number");
            }
            let value = raw.cast(DataType::Float64);
            checks.push((Reason::NonNumericRingingSeconds, value.clone().is_nan()));
            checks.push((Reason::NegativeRingingSeconds, value.clone().lt(lit(0.0))));
            value
        }
        Field::Tags => match dtype {
            DataType::List(inner) if inner.is_string() || inner.is_null() => raw
                .cast(DataType::List(Box::new(DataType::String)))
                .fill_null(empty_tags()),
            DataType::Null => empty_tags(),
            _ => return Err("a list of strings"),
        },
        _ => {
            if !(textual || dtype.is_primitive_numeric()) {
                return Err("text");
            }
            raw.cast(DataType::String)
        }
    };
    Ok(FieldPlan {
        field,
        column: Some(column.to_string()),
        value,
        checks,
        normalized,
    })
}
