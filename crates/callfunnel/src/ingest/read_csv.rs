//! CSV input: a header row naming the columns, one call per record.

use std::io::Read;

use chrono_tz::Tz;
use csv::{ByteRecord, ReaderBuilder};

use super::error::IngestError;
use super::fields::{build_call, Cell, ColumnNames, Field, Raw, Sink};

/// Reads every record of a CSV stream into `sink`.
///
/// Columns are found by name once, from the header; `file` names the input in
/// messages.
pub(crate) fn read_csv<R: Read>(
    input: R,
    file: &str,
    names: &ColumnNames,
    tz: Tz,
    sink: &mut Sink,
) -> Result<(), IngestError> {
    let mut reader = ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(input);
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|err| csv_error(file, err))?
        .iter()
        .map(|name| {
            String::from_utf8_lossy(name)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_string()
        })
        .collect();
    if header.iter().all(String::is_empty) {
        // An empty file: no header, no rows.
        return Ok(());
    }

    let mut positions = [None; Field::ALL.len()];
    for field in Field::ALL {
        let column = names.get(field);
        positions[field as usize] = header.iter().position(|name| name == column);
        if positions[field as usize].is_none() && (field.is_required() || names.is_mapped(field)) {
            return Err(IngestError::MissingColumn {
                file: file.to_string(),
                field: field.name().to_string(),
                column: column.to_string(),
            });
        }
    }

    let mut record = ByteRecord::new();
    while reader
        .read_byte_record(&mut record)
        .map_err(|err| csv_error(file, err))?
    {
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |field: Field| -> Cell<'_> {
            let index = positions[field as usize]?;
            let bytes = record.get(index)?;
            Some((Raw::Bytes(bytes), header[index].as_str()))
        };
        let row = build_call(cell, names, tz);
        sink.accept(file, line, row)?;
    }
    Ok(())
}

/// A CSV reading error: an I/O failure, or malformed input at a line.
fn csv_error(file: &str, err: csv::Error) -> IngestError {
    let line = err.position().map_or(0, csv::Position::line);
    let message = format!("malformed CSV: {err}");
    match err.into_kind() {
        csv::ErrorKind::Io(source) => IngestError::Unreadable {
            file: file.to_string(),
            source,
        },
        _ => IngestError::Malformed {
            file: file.to_string(),
            line,
            message,
        },
    }
}
