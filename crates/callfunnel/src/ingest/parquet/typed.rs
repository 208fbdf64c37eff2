//! A Parquet file read field by field, by the rules of SPEC §1 (§1.1 for
//! Parquet): a typed column (a timestamp of any unit, with or without a
//! zone; any integer, float or decimal; a list of strings) by Polars
//! expressions; a text column by the CSV rules themselves
//! ([`crate::ingest::fields::read_field`]), applied to each value, so that a
//! value is accepted, normalised or refused exactly as in a CSV file (a
//! `date` as RFC 3339 text, `tags` as `;`-joined text, numbers as text,
//! enums in any case).
//!
//! Each field gives its canonical value and, per row, the reason its value is
//! refused (null when it is not). A row's reason is that of its first refused
//! field, in field order, as the row reader stops at the first bad field.
//! The file is read once, in batches of row groups, each converted (values,
//! problems and facts) on its own thread while the batch before is counted
//! and its calls go to a [`Sink`], which keeps a window's calls as the row
//! readers' do.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use chrono::DateTime;
use chrono_tz::Tz;
use polars::prelude::*;

use super::batches::read_in_batches;
use crate::exprs::collect_streaming;
use crate::ingest::error::{truncate_value, IngestError, InvalidRow, Reason};
use crate::ingest::facts::{
    DateForm, Location, ReadingFacts, RowFacts, SkippedRow, SkippedRows, EXAMPLES, SKIPPED_LISTED,
};
use crate::ingest::fields::{
    localize, push_mapped_tag, read_field, ColumnNames, FieldValue, Raw, ValueReading,
};
use crate::ingest::part::{FilePart, Window};
use crate::ingest::sink::{read_rows, LinesIds, Sink};
use crate::model::rules::{
    self, absent_value, duration_from_float, duration_from_units, is_in_api_case,
    ringing_from_number, text_value, with_default, DurationUnit, TagsForm, ValueMap,
};
use crate::model::{date_dtype, Field};

/// A Parquet file to read field by field.
pub(super) struct TypedFile<'a> {
    /// Its name in messages.
    pub name: &'a str,
    /// Its lazy scan.
    pub scan: LazyFrame,
    /// The schema of `scan`.
    pub schema: &'a Schema,
    /// The batches (first row, rows) it is read in.
    pub batches: &'a [(i64, IdxSize)],
}

/// The calls of a Parquet `file`, each field read by its plan, as `reading`
/// says; a bad row stops the read, or is skipped and counted with
/// `skip_invalid`. With a `keep_window` (see
/// [`crate::ingest::IngestOptions::keep_window`]), only the calls that
/// window needs are kept (see [`Sink`]); rows, bad rows and facts are
/// counted over every row.
pub(super) fn read(
    file: TypedFile<'_>,
    names: &ColumnNames,
    reading: &ValueReading,
    skip_invalid: bool,
    keep_window: Option<Window>,
) -> Result<FilePart, IngestError> {
    let plans = plan_fields(&file, names, reading)?;
    let problems: Vec<Expr> = plans
        .iter()
        .filter_map(|plan| plan.problem.clone())
        .collect();
    let row_problem = (!problems.is_empty()).then(|| coalesce(&problems));
    let findings = Findings::new(&plans, row_problem.as_ref());
    let mut columns: Vec<Expr> = plans
        .iter()
        .map(|plan| plan.value.clone().alias(plan.field.name()))
        .collect();
    columns.extend(findings.columns.iter().cloned());
    let converted = file.scan.clone().select(columns);
    let reader = BatchReader {
        file: &file,
        plans: &plans,
        row_problem: row_problem.as_ref(),
        checks: &findings.checks,
        reading,
        skip_invalid,
    };
    // The sink keeps the calls (and reads the file again when it asks);
    // the rows, bad rows and facts are those the batches found.
    let mut found = Found::default();
    let part = read_rows(skip_invalid, keep_window, |sink| {
        found = Found::new(findings.checks.len());
        let stopped = read_in_batches(converted.clone(), file.batches, |first_row, batch| {
            let taken = batch
                .map_err(|source| polars_error(file.name, source))
                .and_then(|batch| reader.take(batch, first_row, &mut found, sink));
            match taken {
                Ok(()) => ControlFlow::Continue(()),
                Err(error) => ControlFlow::Break(error),
            }
        });
        stopped.map_or(Ok(()), Err)
    })?;
    Ok(found.into_part(part, &findings.checks))
}

/// The plan of each field of [`Field::ALL`] in `file`, its column named as
/// `names` says; an error for a required or mapped column missing, or a
/// column of a type that cannot hold its field.
fn plan_fields(
    file: &TypedFile<'_>,
    names: &ColumnNames,
    reading: &ValueReading,
) -> Result<Vec<FieldPlan>, IngestError> {
    let mut plans: Vec<FieldPlan> = Vec::with_capacity(Field::ALL.len());
    for field in Field::ALL {
        let column = names.get(field);
        let plan = match file.schema.get(column) {
            Some(dtype) => plan_field(field, column, dtype, reading).map_err(|expected| {
                IngestError::BadColumnType {
                    file: file.name.to_string(),
                    column: column.to_string(),
                    dtype: dtype.to_string(),
                    expected,
                }
            })?,
            None if field.is_required() || names.is_mapped(field) => {
                return Err(IngestError::MissingColumn {
                    file: file.name.to_string(),
                    field: field.name().to_string(),
                    column: column.to_string(),
                });
            }
            None => FieldPlan {
                field,
                column: None,
                value: absent_value(field),
                problem: None,
                fact: None,
            },
        };
        plans.push(plan);
    }
    Ok(plans)
}

/// A Polars error reading the file named `file`.
fn polars_error(file: &str, source: PolarsError) -> IngestError {
    IngestError::Polars {
        context: file.to_string(),
        source,
    }
}

/// How a field is read from the file.
struct FieldPlan {
    field: Field,
    /// The column in the file, when present.
    column: Option<String>,
    /// The canonical value.
    value: Expr,
    /// Per row, the [`Reason::code`] of the reason the value is refused;
    /// null when it is not. `None` when no value can be refused.
    problem: Option<Expr>,
    /// Per row, how the value was written, as the code of a [`DateForm`]
    /// (for `date`) or a [`TagsForm`] (for `tags`); null when absent.
    /// `None` when every value is written one way.
    fact: Option<Expr>,
}

/// Name of the column of row numbers used to locate a row.
const ROW_NUMBER: &str = "__row";
/// Name of the column of each row's first problem.
const ROW_PROBLEM: &str = "__problem";

/// The rows of a file that show one fact of [`ReadingFacts`]: those whose
/// fact column (a field's [`FieldPlan::fact`]) holds `code`, and that gave
/// a call (`kept`) or not.
struct FactCheck {
    column: String,
    code: i32,
    facts: RowFacts,
    kept: bool,
}

impl FactCheck {
    /// The rows of `batch` (a converted batch whose first row is the file's
    /// `first_row`, 0-based) that show it, added to `shown` (its rows, and
    /// the first [`EXAMPLES`] of them in `file`).
    fn tally(
        &self,
        batch: &DataFrame,
        first_row: i64,
        file: &str,
        shown: &mut (u64, Vec<Location>),
    ) -> PolarsResult<()> {
        let facts = batch.column(&self.column)?.i32()?;
        let problems = batch.column(ROW_PROBLEM)?.i32()?;
        for (index, (fact, problem)) in facts.iter().zip(problems.iter()).enumerate() {
            if fact != Some(self.code) || problem.is_none() != self.kept {
                continue;
            }
            shown.0 += 1;
            if shown.1.len() < EXAMPLES {
                shown.1.push(Location {
                    file: file.to_string(),
                    line: (first_row + index as i64 + 1) as u64,
                });
            }
        }
        Ok(())
    }
}

/// The problems and facts of a file's rows, each computed once per row as a
/// column of the converted batches.
struct Findings {
    /// The row problem and the fact columns.
    columns: Vec<Expr>,
    /// The facts they may show.
    checks: Vec<FactCheck>,
}

impl Findings {
    /// The findings of `plans`, whose first problem per row is `row_problem`.
    fn new(plans: &[FieldPlan], row_problem: Option<&Expr>) -> Findings {
        let no_problem = || lit(NULL).cast(DataType::Int32);
        let mut columns = vec![row_problem
            .cloned()
            .unwrap_or_else(no_problem)
            .alias(ROW_PROBLEM)];
        let mut checks = Vec::new();
        for (index, plan) in plans.iter().enumerate() {
            let Some(fact) = &plan.fact else { continue };
            let column = format!("__fact{index}");
            columns.push(fact.clone().alias(column.as_str()));
            let found = |code: u8, facts: RowFacts, kept: bool| FactCheck {
                column: column.clone(),
                code: i32::from(code),
                facts,
                kept,
            };
            match plan.field {
                Field::Date => checks.extend(DateForm::ALL[1..].iter().map(|form| {
                    let facts = RowFacts {
                        date: *form,
                        ..RowFacts::default()
                    };
                    found(*form as u8, facts, *form != DateForm::InGap)
                })),
                _ => checks.extend(TagsForm::ALL[1..].iter().map(|form| {
                    let facts = RowFacts {
                        tags: *form,
                        ..RowFacts::default()
                    };
                    found(*form as u8, facts, true)
                })),
            }
        }
        Findings { columns, checks }
    }
}

/// What the batches of a file found so far: its rows, its bad rows by
/// reason and the first of them, the rows showing each of the
/// [`Findings::checks`].
#[derive(Default)]
struct Found {
    rows: u64,
    skipped: BTreeMap<String, u64>,
    /// The first [`SKIPPED_LISTED`] bad rows of each reason.
    listed: Vec<InvalidRow>,
    /// For each check, its rows and the first [`EXAMPLES`] of them.
    shown: Vec<(u64, Vec<Location>)>,
}

impl Found {
    /// Nothing found yet, by `checks` checks of facts.
    fn new(checks: usize) -> Found {
        Found {
            shown: vec![(0, Vec::new()); checks],
            ..Found::default()
        }
    }

    /// The bad rows of `reason` listed so far.
    fn listed(&self, reason: Reason) -> usize {
        self.listed
            .iter()
            .filter(|row| row.reason == reason)
            .count()
    }

    /// `part` (the calls kept) with what the batches found, by `checks`.
    fn into_part(mut self, part: FilePart, checks: &[FactCheck]) -> FilePart {
        let mut facts = ReadingFacts::default();
        for (check, (rows, first)) in checks.iter().zip(&self.shown) {
            if *rows > 0 {
                facts.record_rows(check.facts, check.kept, *rows, first);
            }
        }
        let mut skipped_rows = SkippedRows::default();
        self.listed.sort_by_key(|row| row.line);
        for row in &self.listed {
            skipped_rows.add(row.reason, || SkippedRow::of(row));
        }
        FilePart {
            rows_read: self.rows,
            skipped: self.skipped,
            skipped_rows,
            facts,
            ..part
        }
    }
}

/// What takes the converted batches of a file.
struct BatchReader<'a> {
    file: &'a TypedFile<'a>,
    plans: &'a [FieldPlan],
    /// Each row's first problem, when a value can be refused.
    row_problem: Option<&'a Expr>,
    checks: &'a [FactCheck],
    reading: &'a ValueReading,
    skip_invalid: bool,
}

impl BatchReader<'_> {
    /// Takes a converted `batch` whose first row is the file's `first_row`
    /// (0-based): counts its rows, bad rows and facts in `found`, stops at
    /// its first bad row (without `skip_invalid`), and gives its calls to
    /// `sink`.
    fn take(
        &self,
        batch: DataFrame,
        first_row: i64,
        found: &mut Found,
        sink: &mut Sink,
    ) -> Result<(), IngestError> {
        let error = |source| polars_error(self.file.name, source);
        found.rows += batch.height() as u64;
        for (check, shown) in self.checks.iter().zip(&mut found.shown) {
            check
                .tally(&batch, first_row, self.file.name, shown)
                .map_err(error)?;
        }
        let problems = batch.column(ROW_PROBLEM).map_err(error)?;
        let calls = match self.row_problem {
            Some(row_problem) if problems.null_count() < problems.len() => {
                self.count_bad_rows(&batch, first_row, row_problem, found)?;
                let valid = batch.lazy().filter(col(ROW_PROBLEM).is_null());
                valid.collect().map_err(error)?
            }
            _ => batch,
        };
        let calls = calls.select(Field::ALL.map(Field::name)).map_err(error)?;
        let ids = rows_ids(&calls).map_err(error)?;
        sink.keep_counted(calls, ids)
    }

    /// Counts the bad rows of `batch` (whose first row is the file's
    /// `first_row`; `row_problem` each row's first problem) by reason in
    /// `found`, with the first of each reason; without `skip_invalid`, the
    /// error of the first.
    fn count_bad_rows(
        &self,
        batch: &DataFrame,
        first_row: i64,
        row_problem: &Expr,
        found: &mut Found,
    ) -> Result<(), IngestError> {
        let error = |source| polars_error(self.file.name, source);
        let rows = batch.height();
        if !self.skip_invalid {
            let first = self.bad_rows(first_row, rows, row_problem, None, 1);
            let first = first.map_err(error)?.into_iter().next();
            let first = first.ok_or_else(|| error(no_bad_row()))?;
            return Err(IngestError::InvalidParquetRow(Box::new(first)));
        }
        let mut by_code = BTreeMap::new();
        let problems = batch
            .column(ROW_PROBLEM)
            .and_then(|column| column.i32())
            .map_err(error)?;
        for code in problems.iter().flatten() {
            *by_code.entry(code).or_insert(0u64) += 1;
        }
        for (code, bad) in by_code {
            let reason = u8::try_from(code).ok().and_then(Reason::from_code);
            let reason = reason.ok_or_else(|| error(no_bad_row()))?;
            *found
                .skipped
                .entry(reason.as_str().to_string())
                .or_default() += bad;
            let listed = found.listed(reason);
            if listed < SKIPPED_LISTED {
                let limit = SKIPPED_LISTED - listed;
                let first = self.bad_rows(first_row, rows, row_problem, Some(reason), limit);
                found.listed.extend(first.map_err(error)?);
            }
        }
        Ok(())
    }

    /// The first `limit` bad rows (those bad for `only`, when given) of the
    /// `rows` rows of the file from `first_row` (0-based; `row_problem` each
    /// row's first problem), in order: each its 1-based number, and its
    /// first refused field's column, value, reason and (as the CSV rules
    /// give it) detail.
    fn bad_rows(
        &self,
        first_row: i64,
        rows: usize,
        row_problem: &Expr,
        only: Option<Reason>,
        limit: usize,
    ) -> PolarsResult<Vec<InvalidRow>> {
        let mut select = vec![col(ROW_NUMBER)];
        for (index, plan) in self.plans.iter().enumerate() {
            if let (Some(problem), Some(column)) = (&plan.problem, &plan.column) {
                select.push(problem.clone().alias(format!("problem{index}")));
                select.push(
                    col(column.as_str())
                        .cast(DataType::String)
                        .alias(format!("shown{index}")),
                );
            }
        }
        let bad = match only {
            Some(reason) => row_problem.clone().eq(code_literal(reason)),
            None => row_problem.clone().is_not_null(),
        };
        let first_number = IdxSize::try_from(first_row).map_err(
            |_| polars_err!(ComputeError: "row {first_row} is beyond Polars' row numbers"),
        )?;
        let as_idx = |count: usize| IdxSize::try_from(count).unwrap_or(IdxSize::MAX);
        let found = self
            .file
            .scan
            .clone()
            .slice(first_row, as_idx(rows))
            .with_row_index(ROW_NUMBER, Some(first_number))
            .filter(bad.fill_null(lit(false)))
            .select(select)
            .limit(as_idx(limit));
        let found = collect_streaming(found)?;
        (0..found.height())
            .map(|row| bad_row(&found, row, self.file.name, self.plans, self.reading))
            .collect()
    }
}

/// The ids of `calls` (the valid calls of a batch, each with an id), in
/// row order, none left out.
fn rows_ids(calls: &DataFrame) -> PolarsResult<LinesIds> {
    let mut ids = LinesIds::default();
    let column = calls.column(crate::model::column::ID)?;
    for id in column.str()?.iter().flatten() {
        ids.in_order.push(id.as_bytes());
    }
    Ok(ids)
}

/// A reason's code as a literal of the problem columns' type.
fn code_literal(reason: Reason) -> Expr {
    lit(i32::from(reason.code()))
}

/// The error of a file whose bad rows cannot be found again.
fn no_bad_row() -> PolarsError {
    PolarsError::ComputeError("no bad row found".into())
}

/// The bad row at `row` of the frame of [`BatchReader::bad_rows`].
fn bad_row(
    rows: &DataFrame,
    row: usize,
    file: &str,
    plans: &[FieldPlan],
    reading: &ValueReading,
) -> PolarsResult<InvalidRow> {
    let number = rows
        .column(ROW_NUMBER)?
        .get(row)?
        .extract::<u64>()
        .unwrap_or(0)
        + 1;
    for (index, plan) in plans.iter().enumerate() {
        let (Some(_), Some(column)) = (&plan.problem, &plan.column) else {
            continue;
        };
        let code = rows.column(&format!("problem{index}"))?.get(row)?;
        let Some(reason) = code.extract::<u8>().and_then(Reason::from_code) else {
            continue;
        };
        let shown = rows.column(&format!("shown{index}"))?.get(row)?;
        let value = shown.get_str().map(str::to_string);
        // The CSV rules, given the value as text, explain the refusal.
        let cell = value
            .as_deref()
            .map(|text| (Raw::Bytes(text.as_bytes()), column.as_str()));
        let mut facts = RowFacts::default();
        let detail = match read_field(plan.field, cell, column, reading, &mut facts) {
            Err(error) if error.reason == reason => error.detail,
            _ => None,
        };
        return Ok(InvalidRow {
            file: file.to_string(),
            line: number,
            column: column.clone(),
            value: truncate_value(value.as_deref().unwrap_or_default()),
            reason,
            detail,
        });
    }
    Err(no_bad_row())
}

/// Whether a column of type `dtype` holds text.
fn is_textual(dtype: &DataType) -> bool {
    dtype.is_string() || dtype.is_categorical() || dtype.is_enum()
}

/// Whether a column of type `dtype` holds numbers (integers, floats, decimals).
fn is_numeric(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() || dtype.is_decimal()
}

/// How to read `field` from `column` of type `dtype`, as `reading` says;
/// the error names the types that can hold the field.
fn plan_field(
    field: Field,
    column: &str,
    dtype: &DataType,
    reading: &ValueReading,
) -> Result<FieldPlan, &'static str> {
    let raw = col(column);
    let plain = |(value, problem): (Expr, Option<Expr>)| (value, problem, None);
    let (value, problem, fact) = if dtype.is_null() {
        // A column of nulls only: the field is absent on every row.
        let value = absent_value(field);
        let problem = field
            .is_required()
            .then(|| first_problem(vec![rules::missing(field, value.clone())]))
            .flatten();
        (value, problem, None)
    } else {
        match field {
            Field::Id if dtype.is_integer() => {
                let value = raw.cast(DataType::String);
                let problem = first_problem(vec![rules::missing(field, value.clone())]);
                (value, problem, None)
            }
            Field::Id => plain(text_field(field, column, dtype, "text or an integer")?),
            Field::Date => match dtype {
                DataType::Datetime(_, zone) => typed_date(raw, zone.is_some(), reading.tz),
                _ if is_textual(dtype) => by_csv_rules(field, column, reading),
                _ => return Err("a timestamp or text"),
            },
            Field::Direction | Field::Type | Field::Result if is_textual(dtype) => {
                let (value, problem, fact) = by_csv_rules(field, column, reading);
                (with_default(field, value), problem, fact)
            }
            Field::Direction | Field::Type | Field::Result => return Err("text"),
            Field::Duration if is_numeric(dtype) => {
                plain(typed_duration(raw, dtype, reading.duration_unit))
            }
            Field::RingingSeconds if is_numeric(dtype) => plain(typed_ringing(raw)),
            Field::Duration | Field::RingingSeconds if is_textual(dtype) => {
                by_csv_rules(field, column, reading)
            }
            Field::Duration | Field::RingingSeconds => return Err("a number or text"),
            Field::Tags => match dtype {
                DataType::List(inner) if is_textual(inner) || inner.is_null() => (
                    normalized_tag_lists(raw, reading.values.clone()),
                    None,
                    None,
                ),
                _ if is_textual(dtype) => by_csv_rules(field, column, reading),
                _ => return Err("a list of strings or text"),
            },
            _ => plain(text_field(field, column, dtype, "text or a number")?),
        }
    };
    Ok(FieldPlan {
        field,
        column: Some(column.to_string()),
        value,
        problem,
        fact,
    })
}

/// A text field (id, user, numbers, label) from a text column by the CSV
/// rule ([`text_value`]: trimmed, empty is absent; an id is required), or
/// from a number column as its text.
fn text_field(
    field: Field,
    column: &str,
    dtype: &DataType,
    expected: &'static str,
) -> Result<(Expr, Option<Expr>), &'static str> {
    if is_textual(dtype) {
        let value = col(column).cast(DataType::String).map(
            |column| {
                let texts = column.str()?;
                // Most exports' texts are already values (nothing to trim,
                // not empty): the column is then kept as it is.
                if every_text(texts, is_own_value) {
                    return Ok(column);
                }
                let values = texts.iter().map(|text| text.and_then(text_value));
                Ok(StringChunked::from_iter_options(column.name().clone(), values).into_column())
            },
            |_, field| Ok(field.clone()),
        );
        let problem = (field == Field::Id)
            .then(|| first_problem(vec![rules::missing(field, value.clone())]))
            .flatten();
        Ok((value, problem))
    } else if is_numeric(dtype) && field != Field::Id {
        Ok((col(column).cast(DataType::String), None))
    } else {
        Err(expected)
    }
}

/// Whether `test` holds for every text of `texts` (nulls aside); texts
/// without nulls are read array by array, without their validity.
fn every_text(texts: &StringChunked, test: impl Fn(&str) -> bool) -> bool {
    if texts.null_count() == 0 {
        let mut arrays = texts.downcast_iter();
        arrays.all(|array| array.values_iter().all(&test))
    } else {
        texts.iter().all(|text| text.map_or(true, &test))
    }
}

/// Whether `text` is its own value by the CSV rule ([`text_value`]): not
/// empty, nothing to trim. Most texts start and end with a visible ASCII
/// character, which says so at once.
fn is_own_value(text: &str) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => true,
        _ => text_value(text).is_some_and(|value| value.len() == text.len()),
    }
}

/// The first of `checks` that holds, as a [`Reason::code`]; null when none
/// does. `None` without checks.
fn first_problem(checks: Vec<(Reason, Expr)>) -> Option<Expr> {
    let none = lit(NULL).cast(DataType::Int32);
    let mut checks = checks.into_iter().rev().peekable();
    checks.peek()?;
    Some(checks.fold(none, |later, (reason, check)| {
        when(check.fill_null(lit(false)))
            .then(code_literal(reason))
            .otherwise(later)
    }))
}

/// A typed `date`: an instant (with a zone) as it is; a wall-clock time
/// (without one) read in `tz` by the rule of CSV's timestamps without offset
/// ([`localize`]), its [`DateForm`] as the fact.
fn typed_date(raw: Expr, zoned: bool, tz: Tz) -> (Expr, Option<Expr>, Option<Expr>) {
    let missing = rules::missing(Field::Date, raw.clone());
    if zoned {
        let value = raw.dt().convert_time_zone(TimeZone::UTC).cast(date_dtype());
        return (value, first_problem(vec![missing]), None);
    }
    let wall_clock = raw
        .cast(DataType::Datetime(TimeUnit::Microseconds, None))
        .cast(DataType::Int64);
    let local = |micros: i64| DateTime::from_timestamp_micros(micros).map(|at| at.naive_utc());
    let read = move |micros: i64| {
        let local = local(micros).ok_or(Reason::BadTimestamp)?;
        let (instant, _) = localize(local, tz).map_err(|_| Reason::BadTimestamp)?;
        Ok(instant.timestamp_micros())
    };
    let form = move |micros: i64| {
        let form = match localize(local(micros)?, tz) {
            Ok((_, form)) => form,
            Err(error) => error.form,
        };
        Some(i32::from(form as u8))
    };
    let (value, refused) = by_rule::<Int64Type, Int64Type>(wall_clock.clone(), read);
    (
        value.cast(date_dtype()),
        first_problem_or(vec![missing], refused),
        Some(codes_by::<Int64Type>(wall_clock, form)),
    )
}

/// A typed `duration`, a number of `unit`s, by the rule of CSV's durations:
/// whole seconds, at least 0 ([`duration_from_units`],
/// [`duration_from_float`]); absent is 0.
fn typed_duration(raw: Expr, dtype: &DataType, unit: DurationUnit) -> (Expr, Option<Expr>) {
    let (value, problem) = if dtype.is_integer() {
        let whole = raw.clone().cast(DataType::Int64);
        // An unsigned integer beyond `i64` does not fit the canonical integer.
        let too_large = (
            Reason::NonNumericDuration,
            raw.is_not_null().and(whole.clone().is_null()),
        );
        let rule = move |units| duration_from_units(units, unit);
        let (value, refused) = by_rule::<Int64Type, Int64Type>(whole, rule);
        (value, first_problem_or(vec![too_large], refused))
    } else {
        let number = raw.cast(DataType::Float64);
        let rule = move |units| duration_from_float(units, unit);
        let (value, refused) = by_rule::<Float64Type, Int64Type>(number, rule);
        (value, Some(refused))
    };
    (with_default(Field::Duration, value), problem)
}

/// A typed `ringing_seconds` by the rule of CSV's
/// ([`ringing_from_number`]); absent stays unknown.
fn typed_ringing(raw: Expr) -> (Expr, Option<Expr>) {
    let number = raw.cast(DataType::Float64);
    let (value, refused) = by_rule::<Float64Type, Float64Type>(number, ringing_from_number);
    (value, Some(refused))
}

/// `input` read value by value by a SPEC §1 `rule` of [`super::fields`]:
/// the values (null where refused or absent) and, per row, the
/// [`Reason::code`] of a refusal (null when there is none).
fn by_rule<I, O>(
    input: Expr,
    rule: impl Fn(I::Native) -> Result<O::Native, Reason> + Clone + Send + Sync + 'static,
) -> (Expr, Expr)
where
    I: PolarsNumericType,
    O: PolarsNumericType,
{
    let values = {
        let rule = rule.clone();
        move |column: Column| -> PolarsResult<Column> {
            let input = column.as_materialized_series().unpack::<I>()?;
            let values = input
                .iter()
                .map(|value| value.and_then(|value| rule(value).ok()));
            Ok(ChunkedArray::<O>::from_iter_options(column.name().clone(), values).into_column())
        }
    };
    let codes = move |value| rule(value).err().map(|reason| i32::from(reason.code()));
    (
        input.clone().map(values, typed_as(O::get_static_dtype())),
        codes_by::<I>(input, codes),
    )
}

/// The first of `checks` that holds, else the reason code `otherwise`.
fn first_problem_or(checks: Vec<(Reason, Expr)>, otherwise: Expr) -> Option<Expr> {
    let checked = first_problem(checks)?;
    Some(coalesce(&[checked, otherwise]))
}

/// Tag lists normalised as every reader does (`fields::push_mapped_tag`:
/// mapped by `values`, trimmed, lower case, empty and null tags dropped); a
/// null list is empty.
fn normalized_tag_lists(raw: Expr, values: ValueMap) -> Expr {
    let lists = raw.cast(DataType::List(Box::new(DataType::String))).map(
        move |column| {
            let lists = column.list()?.rechunk();
            let mut builder =
                ListStringChunkedBuilder::new(column.name().clone(), lists.len(), lists.len());
            let mut tags = Vec::new();
            for list in lists.amortized_iter() {
                tags.clear();
                if let Some(list) = list {
                    for tag in list.as_ref().str()?.iter().flatten() {
                        push_mapped_tag(&mut tags, tag, &values);
                    }
                }
                builder.append_values_iter(tags.iter().map(String::as_str));
            }
            Ok(builder.finish().into_column())
        },
        |_, field| Ok(field.clone()),
    );
    with_default(Field::Tags, lists)
}

/// The canonical type a text column of `field` is read into by the CSV rules
/// (`date` as microseconds, cast afterwards).
fn read_dtype(field: Field) -> DataType {
    match field {
        Field::Date | Field::Duration => DataType::Int64,
        Field::RingingSeconds => DataType::Float64,
        Field::Tags => DataType::List(Box::new(DataType::String)),
        _ => DataType::String,
    }
}

/// A text column read value by value by the CSV rules of `field`
/// ([`read_field`], as `reading` says): the canonical value (null where
/// refused), the reason of each refusal and, for `date` and `tags`, how
/// each value was written (the code of its [`DateForm`] or [`TagsForm`]).
fn by_csv_rules(
    field: Field,
    column: &str,
    reading: &ValueReading,
) -> (Expr, Option<Expr>, Option<Expr>) {
    let text = col(column).cast(DataType::String);
    // Each output reads the column by the rules again: one closure per
    // output, each owning what it reads with.
    let reader = |column: &str| {
        let (name, reading) = (column.to_string(), reading.clone());
        move |text: Option<&str>| {
            let cell = text.map(|text| (Raw::Bytes(text.as_bytes()), name.as_str()));
            let mut facts = RowFacts::default();
            let read = read_field(field, cell, &name, &reading, &mut facts);
            (read, facts)
        }
    };
    // An enum column written as the API writes it (and no value mapped)
    // reads as it is, with no problem.
    let as_written = matches!(field, Field::Direction | Field::Type | Field::Result)
        && reading.values.is_empty();
    let in_api_case = move |input: &StringChunked| {
        as_written && every_text(input, |text| is_in_api_case(field, text.as_bytes()))
    };
    // Enums and tags hold few distinct texts: each is read once a batch.
    let remembers = matches!(
        field,
        Field::Direction | Field::Type | Field::Result | Field::Tags
    );
    let read = reader(column);
    let read_values = move |input: Column| -> PolarsResult<Column> {
        if in_api_case(input.str()?) {
            return Ok(input);
        }
        let values = read_each(input.str()?, remembers, |text| read(text).0.ok());
        Ok(canonical_column(field, input.name().clone(), values))
    };
    let value = text.clone().map(read_values, typed_as(read_dtype(field)));
    let value = match field {
        Field::Date => value.cast(date_dtype()),
        _ => value,
    };

    let read = reader(column);
    let read_problems = move |input: Column| -> PolarsResult<Column> {
        if in_api_case(input.str()?) {
            let none = Int32Chunked::full_null(input.name().clone(), input.len());
            return Ok(none.into_column());
        }
        let codes = read_each(input.str()?, remembers, |text| {
            let reason = read(text).0.err()?.reason;
            Some(i32::from(reason.code()))
        });
        Ok(Int32Chunked::from_iter_options(input.name().clone(), codes).into_column())
    };
    let problem = text.clone().map(read_problems, typed_as(DataType::Int32));

    let fact = matches!(field, Field::Date | Field::Tags).then(|| {
        let read = reader(column);
        text.map(
            move |input: Column| {
                let codes = read_each(input.str()?, remembers, |text| {
                    let facts = read(Some(text?)).1;
                    let code = match field {
                        Field::Date => facts.date as u8,
                        _ => facts.tags as u8,
                    };
                    Some(i32::from(code))
                });
                Ok(Int32Chunked::from_iter_options(input.name().clone(), codes).into_column())
            },
            typed_as(DataType::Int32),
        )
    });
    (value, Some(problem), fact)
}

/// Most distinct texts [`read_each`] remembers what it read of.
const REMEMBERED_TEXTS: usize = 1024;

/// What `read` gives for each text of `texts`, in order; when `remembers`,
/// each distinct text (the first [`REMEMBERED_TEXTS`] of them) is read once
/// and what it gave is repeated.
fn read_each<'a, T: Clone + 'a>(
    texts: &'a StringChunked,
    remembers: bool,
    read: impl Fn(Option<&'a str>) -> T + 'a,
) -> impl Iterator<Item = T> + 'a {
    let mut known: PlHashMap<Option<&'a str>, T> = PlHashMap::new();
    let mut last: Option<(Option<&'a str>, T)> = None;
    texts.iter().map(move |text| {
        if !remembers {
            return read(text);
        }
        // A text is often the one before (nulls come in runs).
        if let Some((_, value)) = last.as_ref().filter(|(before, _)| *before == text) {
            return value.clone();
        }
        let value = match known.get(&text) {
            Some(value) => value.clone(),
            None => {
                let value = read(text);
                if known.len() < REMEMBERED_TEXTS {
                    known.insert(text, value.clone());
                }
                value
            }
        };
        last = Some((text, value.clone()));
        value
    })
}

/// The output type of a map whose output column is of `dtype`, named as its
/// input.
fn typed_as(
    dtype: DataType,
) -> impl Fn(&Schema, &polars::prelude::Field) -> PolarsResult<polars::prelude::Field> + Clone {
    move |_, input| {
        Ok(polars::prelude::Field::new(
            input.name().clone(),
            dtype.clone(),
        ))
    }
}

/// `input` mapped value by value to an `i32` code by `code` (null where the
/// value is null or `code` gives none).
fn codes_by<I: PolarsNumericType>(
    input: Expr,
    code: impl Fn(I::Native) -> Option<i32> + Send + Sync + 'static,
) -> Expr {
    input.map(
        move |column: Column| {
            let input = column.as_materialized_series().unpack::<I>()?;
            let codes = input.iter().map(|value| code(value?));
            Ok(Int32Chunked::from_iter_options(column.name().clone(), codes).into_column())
        },
        typed_as(DataType::Int32),
    )
}

/// A column of [`read_dtype`] from the values read (`None` where refused).
fn canonical_column(
    field: Field,
    name: PlSmallStr,
    values: impl Iterator<Item = Option<FieldValue>>,
) -> Column {
    match field {
        Field::Date | Field::Duration => {
            let numbers = values.map(|value| match value? {
                FieldValue::Date(date) => Some(date.timestamp_micros()),
                FieldValue::Duration(seconds) => Some(seconds),
                _ => None,
            });
            Int64Chunked::from_iter_options(name, numbers).into_column()
        }
        Field::RingingSeconds => {
            let numbers = values.map(|value| match value? {
                FieldValue::Ringing(seconds) => seconds,
                _ => None,
            });
            Float64Chunked::from_iter_options(name, numbers).into_column()
        }
        Field::Tags => {
            let values: Vec<Option<FieldValue>> = values.collect();
            let mut builder = ListStringChunkedBuilder::new(name, values.len(), values.len());
            for value in &values {
                match value {
                    Some(FieldValue::Tags(tags)) => {
                        builder.append_values_iter(tags.iter().map(String::as_str));
                    }
                    _ => builder.append_values_iter(std::iter::empty()),
                }
            }
            builder.finish().into_column()
        }
        _ => {
            let texts: Vec<Option<FieldValue>> = values.collect();
            StringChunked::from_iter_options(
                name,
                texts
                    .iter()
                    .map(|value| value.as_ref().and_then(FieldValue::as_text)),
            )
            .into_column()
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime};

    use super::*;
    use crate::engine::{compute, window};
    use crate::ingest::part::Ids;
    use crate::request::Request;

    /// Three weeks of March by week, every call dialled, tagged `won`.
    fn request() -> Request {
        Request::from_json_str(
            r#"{"date":{"from":"2024-03-01","to":"2024-03-21"},"tags":["won"],
                "granularity":"WEEK","timezone":"America/New_York",
                "extend":"items","stage":"DIAL","page":1,"size":10}"#,
        )
        .unwrap()
    }

    /// A call of a typed file: its id, its wall-clock date (naive, read in
    /// New York), its duration.
    type Row = (String, NaiveDateTime, i64);

    /// 600 calls, one every 1,000 minutes from 2024-01-01, their ids in no
    /// order.
    fn rows() -> Vec<Row> {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        (0..600)
            .map(|row: i64| {
                let id = format!("cll-{:05}", row * 7919 % 1000);
                let date = start + chrono::Duration::minutes(1_000 * row);
                (id, date, 30 + row % 200)
            })
            .collect()
    }

    /// `rows` written as DuckDB writes an export: the date a timestamp
    /// without zone, the duration an integer, the result and the tags text.
    fn write(dir: &std::path::Path, rows: &[Row]) -> std::path::PathBuf {
        let micros: Vec<i64> = rows
            .iter()
            .map(|(_, date, _)| date.and_utc().timestamp_micros())
            .collect();
        let dates = Int64Chunked::from_vec("date".into(), micros)
            .into_datetime(TimeUnit::Microseconds, None)
            .into_column();
        let n = rows.len();
        let column = |name: &str, values: Vec<Option<&str>>| Column::new(name.into(), values);
        let mut frame = DataFrame::new(
            n,
            vec![
                Column::new(
                    "id".into(),
                    rows.iter().map(|row| row.0.as_str()).collect::<Vec<_>>(),
                ),
                dates,
                column(
                    "result",
                    (0..n)
                        .map(|row| Some(["ANSWERED", "NO_ANSWER"][row % 2]))
                        .collect(),
                ),
                Column::new(
                    "duration".into(),
                    rows.iter().map(|row| row.2).collect::<Vec<_>>(),
                ),
                column(
                    "tags",
                    (0..n)
                        .map(|row| (row % 3 == 0).then_some("demo_booked;Won"))
                        .collect(),
                ),
            ],
        )
        .unwrap();
        let path = dir.join("typed.parquet");
        let file = std::fs::File::create(&path).unwrap();
        ParquetWriter::new(file).finish(&mut frame).unwrap();
        path
    }

    /// The file at `path` read by the typed reader in batches of
    /// `batch_rows` rows, keeping `window`'s calls when given.
    fn read_typed(
        path: &std::path::Path,
        batch_rows: usize,
        window: Option<Window>,
        skip_invalid: bool,
    ) -> Result<FilePart, IngestError> {
        let source = PlRefPath::try_from_path(path).unwrap();
        let mut scan = LazyFrame::scan_parquet(source, ScanArgsParquet::default()).unwrap();
        let schema = scan.collect_schema().unwrap();
        let rows = scan.clone().collect().unwrap().height();
        let batches: Vec<(i64, IdxSize)> = (0..rows)
            .step_by(batch_rows)
            .map(|start| (start as i64, batch_rows.min(rows - start) as IdxSize))
            .collect();
        let file = TypedFile {
            name: "typed.parquet",
            scan,
            schema: &schema,
            batches: &batches,
        };
        let names = ColumnNames::new(&[]).unwrap();
        let reading = ValueReading::in_zone(chrono_tz::America::New_York);
        read(file, &names, &reading, skip_invalid, window)
    }

    fn height(part: &FilePart) -> usize {
        part.frame.clone().collect().unwrap().height()
    }

    /// Asserts that `part` found what `every` (read whole, every call kept)
    /// found, and gives the same answer.
    fn assert_same_reading(part: &FilePart, every: &FilePart) {
        assert_eq!(part.rows_read, every.rows_read);
        assert_eq!(part.skipped, every.skipped);
        assert_eq!(part.skipped_rows, every.skipped_rows);
        assert_eq!(part.facts, every.facts);
        let answer = compute(part.frame.clone(), &request()).unwrap();
        assert_eq!(answer, compute(every.frame.clone(), &request()).unwrap());
    }

    #[test]
    fn a_window_read_in_batches_keeps_few_calls_with_ids_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &rows());
        let every = read_typed(&path, 600, None, false).unwrap();
        assert_eq!((every.rows_read, height(&every)), (600, 600));
        // Dates without offset: counted, the first five rows named.
        assert_eq!(every.facts.dates_without_offset.count, 600);
        assert_eq!(every.facts.dates_without_offset.first.len(), EXAMPLES);
        let part = read_typed(&path, 50, Some(window(&request())), false).unwrap();
        assert_same_reading(&part, &every);
        // No id repeats (every id hashed): distinct, no duplicate pass.
        assert!(part.ids == Ids::Unique && every.ids == Ids::Unique);
        let kept = height(&part);
        assert!(kept < 100, "{kept} of 600 calls kept");
    }

    #[test]
    fn repeated_ids_after_calls_were_left_out_keep_their_copies() {
        let mut rows = rows();
        let march = |day, hour| {
            NaiveDate::from_ymd_opt(2024, 3, day)
                .unwrap()
                .and_hms_opt(hour, 0, 0)
                .unwrap()
        };
        // A call of January gets a copy in the window (a call more), a call
        // of the window one in June (a call less), the latest call one in
        // January (`last_updated` moves).
        let copy = |row: usize, date: NaiveDateTime| (rows[row].0.clone(), date, 7);
        let copies = [
            copy(3, march(5, 10)),
            copy(
                first_in_window(&rows),
                march(30, 10) + chrono::Duration::days(70),
            ),
            copy(599, march(1, 10) - chrono::Duration::days(50)),
        ];
        rows.extend(copies);
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &rows);
        let every = read_typed(&path, rows.len(), None, false).unwrap();
        let part = read_typed(&path, 50, Some(window(&request())), false).unwrap();
        assert_same_reading(&part, &every);
        assert!(part.ids != Ids::Unique);
        let kept = height(&part);
        assert!(kept < 110, "{kept} of 603 calls kept");
        // Loaded (the earlier copies dropped), with the window or without:
        // one report, one answer, not that of the calls without copies.
        let answer = |path: &std::path::Path, keep_window| {
            let options = crate::ingest::IngestOptions {
                keep_window,
                input_tz: chrono_tz::America::New_York,
                ..Default::default()
            };
            let loaded = crate::ingest::load(&[path.to_path_buf()], &options).unwrap();
            let answer = compute(loaded.frame, &request()).unwrap();
            (loaded.report, answer)
        };
        let (report, expected) = answer(&path, None);
        assert_eq!(report.duplicates, 3);
        assert_eq!(
            answer(&path, Some(window(&request()))),
            (report, expected.clone())
        );
        let other = tempfile::tempdir().unwrap();
        let without_copies = answer(&write(other.path(), &rows[..600]), None).1;
        assert_ne!(without_copies, expected);
    }

    /// The row of the first call dated in the window of [`request`].
    fn first_in_window(rows: &[Row]) -> usize {
        let (from, to) = window(&request());
        rows.iter()
            .position(|(_, date, _)| {
                let at = date.and_utc();
                at >= from && at < to
            })
            .unwrap()
    }

    #[test]
    fn bad_rows_in_batches_are_found_counted_and_listed_as_in_one_read() {
        let mut rows = rows();
        // Negative durations in several batches, more than are listed; a
        // wall-clock time New York skips (refused, counted as a fact).
        for row in [7, 60, 61, 130, 200, 260, 333, 340, 410, 470, 520, 571] {
            rows[row].2 = -4;
        }
        rows[90].1 = NaiveDate::from_ymd_opt(2024, 3, 10)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &rows);
        let refused = |batch_rows, window| {
            let error = read_typed(&path, batch_rows, window, false).err().unwrap();
            error.to_string()
        };
        let message =
            "typed.parquet: row 8: column `duration`: invalid value `-4`: negative duration";
        assert_eq!(refused(600, None), message);
        assert_eq!(refused(50, Some(window(&request()))), message);
        assert_eq!(refused(5, None), message);

        let every = read_typed(&path, 600, None, true).unwrap();
        assert_eq!(every.rows_read, 600);
        assert_eq!(
            every.skipped,
            [
                ("negative duration".to_string(), 12),
                ("bad timestamp".to_string(), 1)
            ]
            .into()
        );
        assert_eq!(every.facts.dates_in_gap.count, 1);
        assert_eq!(every.facts.dates_in_gap.first[0].line, 91);
        assert_eq!(height(&every), 587);
        for (batch_rows, window) in [(50, None), (7, Some(window(&request())))] {
            let part = read_typed(&path, batch_rows, window, true).unwrap();
            assert_same_reading(&part, &every);
        }
    }
}
