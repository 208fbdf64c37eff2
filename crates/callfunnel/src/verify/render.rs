//! The report for people (a table) and for machines (JSON).

use serde_json::{json, Value};

use super::{explained_count, Difference, DifferenceKind, Reading, VerifyReport};

impl VerifyReport {
    /// Whether every checked figure agrees (exit status 0).
    pub fn agrees(&self) -> bool {
        self.differences.is_empty()
    }

    /// `all N figures agree` or `K of N figures differ`.
    pub fn summary(&self) -> String {
        if self.agrees() {
            format!("all {} figures agree", self.figures_checked)
        } else {
            format!(
                "{} of {} figures differ",
                self.differences.len(),
                self.figures_checked
            )
        }
    }

    /// The human-readable report: a table of every difference (path, API
    /// value, recomputed value, readings that explain it) with the calls
    /// involved under each row, the figures not checkable, the likely reason,
    /// and the summary as the last line. Ends with a newline.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        if !self.differences.is_empty() {
            let rows: Vec<[String; 4]> = self
                .differences
                .iter()
                .map(|difference| {
                    let explained = if difference.explained_by.is_empty() {
                        "-".to_string()
                    } else {
                        let names: Vec<&str> =
                            difference.explained_by.iter().map(|r| r.as_str()).collect();
                        names.join(", ")
                    };
                    [
                        difference.path.clone(),
                        shortened(api_text(difference)),
                        shortened(recomputed_text(difference)),
                        explained,
                    ]
                })
                .collect();
            let header = ["PATH", "API", "RECOMPUTED", "EXPLAINED BY"].map(String::from);
            let mut widths = header.clone().map(|cell| cell.chars().count());
            for row in &rows {
                for (width, cell) in widths.iter_mut().zip(row) {
                    *width = (*width).max(cell.chars().count());
                }
            }
            let line = |cells: &[String; 4]| {
                let text = format!(
                    "{:<w0$}  {:>w1$}  {:>w2$}  {}",
                    cells[0],
                    cells[1],
                    cells[2],
                    cells[3],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                );
                format!("{}\n", text.trim_end())
            };
            out.push_str(&line(&header));
            for (row, difference) in rows.iter().zip(&self.differences) {
                out.push_str(&line(row));
                if difference.calls_total > 0 {
                    let mut listed = difference.calls.join(", ");
                    let more = difference
                        .calls_total
                        .saturating_sub(difference.calls.len());
                    if more > 0 {
                        listed.push_str(&format!(" +{more} more"));
                    }
                    out.push_str(&format!("    calls: {listed}\n"));
                }
            }
            out.push('\n');
        }
        if !self.not_checkable.is_empty() {
            out.push_str(&format!(
                "not checkable (no input call has a known ringing time): {}\n",
                self.not_checkable.join(", ")
            ));
        }
        if !self.differences.is_empty() {
            match self.likely_reason {
                Some(reading) => out.push_str(&format!(
                    "most likely reason: {} ({}; explains {} of {} differences)\n",
                    reading.as_str(),
                    reading.description(),
                    explained_count(&self.differences, reading),
                    self.differences.len()
                )),
                None => out.push_str(
                    "most likely reason: none of the documented readings explains a difference\n",
                ),
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The report for machines:
    /// `{"agrees", "summary", "figures_checked", "differing", "differences":
    /// [{"path", "kind", "api", "recomputed", "calls", "calls_total",
    /// "explained_by"}], "not_checkable", "readings": [{"reading",
    /// "description", "explains"}], "likely_reason"}`.
    pub fn to_json(&self) -> Value {
        let differences: Vec<Value> = self
            .differences
            .iter()
            .map(|difference| {
                json!({
                    "path": difference.path,
                    "kind": difference.kind.as_str(),
                    "api": difference.api,
                    "recomputed": difference.recomputed,
                    "calls": difference.calls,
                    "calls_total": difference.calls_total,
                    "explained_by": difference
                        .explained_by
                        .iter()
                        .map(|reading| reading.as_str())
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let readings: Vec<Value> = Reading::ALL
            .into_iter()
            .map(|reading| {
                json!({
                    "reading": reading.as_str(),
                    "description": reading.description(),
                    "explains": explained_count(&self.differences, reading),
                })
            })
            .collect();
        json!({
            "agrees": self.agrees(),
            "summary": self.summary(),
            "figures_checked": self.figures_checked,
            "differing": self.differences.len(),
            "differences": differences,
            "not_checkable": self.not_checkable,
            "readings": readings,
            "likely_reason": self.likely_reason.map(|reading| json!({
                "reading": reading.as_str(),
                "description": reading.description(),
                "explains": explained_count(&self.differences, reading),
            })),
        })
    }
}

/// Widest value shown in the table (longer ones, e.g. a drilldown `user`, are cut).
const MAX_VALUE_WIDTH: usize = 40;

/// `text`, cut to [`MAX_VALUE_WIDTH`] characters with a trailing `…`.
fn shortened(text: String) -> String {
    if text.chars().count() <= MAX_VALUE_WIDTH {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_VALUE_WIDTH - 1).collect();
    cut.push('…');
    cut
}

/// The API's figure as printed in the table.
fn api_text(difference: &Difference) -> String {
    match difference.kind {
        DifferenceKind::Missing => "(missing)".into(),
        DifferenceKind::AbsentCell => "(absent) 0".into(),
        DifferenceKind::Value | DifferenceKind::Extra => difference.api.to_string(),
    }
}

/// The recomputed figure as printed in the table: at most 6 decimals.
fn recomputed_text(difference: &Difference) -> String {
    match (&difference.kind, &difference.recomputed) {
        (DifferenceKind::Extra, _) => "(none)".into(),
        (_, Value::Number(number)) if number.is_f64() => {
            let text = format!("{:.6}", number.as_f64().unwrap_or_default());
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        (_, value) => value.to_string(),
    }
}
