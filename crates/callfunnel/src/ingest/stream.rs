//! Inputs that can be read only once: standard input (`-`) and a pipe (a
//! FIFO, or a process substitution such as `<(zcat export.csv.gz)`). Each
//! is copied once, as it streams (memory does not grow with it), into a
//! temporary file (see [`crate::scratch`]: removed when the calls read from
//! it are dropped, or by a signal's clean-up), then read as any file.

use std::io::{BufWriter, Read, Write};
use std::path::Path;

use super::error::IngestError;
use super::Format;
use crate::scratch::{SpillFile, TemporaryWriteError};

/// The input name that stands for standard input.
pub const STDIN: &str = "-";

/// How standard input is named in messages.
pub(super) const STDIN_NAME: &str = "standard input";

/// Bytes looked at to tell a pipe's format (see [`sniff`]).
const HEAD_BYTES: usize = 64;

/// Whether `path` is standard input or a pipe: read once.
pub(super) fn is_stream(path: &Path) -> bool {
    path.as_os_str() == STDIN || is_pipe(path)
}

/// Whether `path` is a pipe (a FIFO, a process substitution).
#[cfg(unix)]
pub(super) fn is_pipe(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|metadata| metadata.file_type().is_fifo())
}

/// Whether `path` is a pipe (never, here).
#[cfg(not(unix))]
pub(super) fn is_pipe(_path: &Path) -> bool {
    false
}

/// Copies the stream `path` (standard input for [`STDIN`]) into a temporary
/// file; that file and the stream's format: `format` when given, else (a
/// pipe) the extension of its name, else told from its first bytes
/// ([`sniff`]). Standard input without `format` is refused.
pub(super) fn buffer(
    path: &Path,
    file: &str,
    format: Option<Format>,
) -> Result<(SpillFile, Format), IngestError> {
    let unreadable = |source| IngestError::Unreadable {
        file: file.to_string(),
        source,
    };
    let stdin = path.as_os_str() == STDIN;
    let named = format.or_else(|| (!stdin).then(|| Format::from_path(path).ok()).flatten());
    if stdin && named.is_none() {
        return Err(IngestError::StdinFormat);
    }
    let mut source: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(unreadable)?)
    };
    let head = read_head(&mut source).map_err(unreadable)?;
    let format = named.unwrap_or_else(|| sniff(&head));
    let (spill, writer) = SpillFile::create(extension(format)).map_err(|source| {
        let path = std::env::temp_dir();
        unreadable(std::io::Error::new(
            source.kind(),
            TemporaryWriteError { path, source },
        ))
    })?;
    let mut out = BufWriter::with_capacity(1 << 20, writer);
    out.write_all(&head).map_err(unreadable)?;
    std::io::copy(&mut source, &mut out).map_err(unreadable)?;
    out.flush().map_err(unreadable)?;
    Ok((spill, format))
}

/// The first [`HEAD_BYTES`] of `source` (fewer when it ends first).
fn read_head(source: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    source.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// The format that a stream starting with `head` is written in: Parquet by
/// its magic bytes, JSON when its first character (after a byte-order mark
/// and white space) opens an array or an object, CSV otherwise.
pub(super) fn sniff(head: &[u8]) -> Format {
    if head.starts_with(b"PAR1") {
        return Format::Parquet;
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    match text.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'[' | b'{') => Format::Json,
        _ => Format::Csv,
    }
}

/// The extension a temporary file of `format` is named with.
fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Json => "json",
        Format::Parquet => "parquet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streams_format_is_told_from_its_first_bytes() {
        assert_eq!(sniff(b"PAR1\x15\x04"), Format::Parquet);
        assert_eq!(sniff(b"\xEF\xBB\xBF  [{\"id\":1}]"), Format::Json);
        assert_eq!(sniff(b"\n{\"id\":\"a\"}\n{\"id\":\"b\"}"), Format::Json);
        assert_eq!(sniff(b"id,date\ncll-1,2024-03-04"), Format::Csv);
        assert_eq!(sniff(b""), Format::Csv);
    }
}
