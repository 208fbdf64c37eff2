//! The files a load reads: files, folders and glob patterns expanded, in
//! order.

use std::path::{Path, PathBuf};

use super::error::IngestError;
use super::stream::{is_pipe, STDIN};
use super::Format;
use crate::store::Snapshot;

/// Whether `path` names a file of a supported format.
fn is_supported(path: &Path) -> bool {
    Format::from_path(path).is_ok()
}

/// The files named by `inputs`, in order: a file is itself; a folder gives
/// every supported file in it, sorted by name (not recursive; hidden files,
/// whose names start with a dot, are left out, and a load says so unless
/// they are a folder store's own;
/// a folder store whose append is being switched in gives its files as the
/// append leaves them, see [`crate::store::folder`]); a pattern
/// holding `*`, `?` or `[` gives its matches, sorted (folders among them
/// expand like folders; `**` walks at most [`MAX_WALK_ENTRIES`] entries and
/// enters each folder once, so a symbolic-link loop ends). A missing path,
/// an empty folder, a pattern that matches nothing, or a path that is not a
/// regular file nor a pipe (a device, a socket) is an error; [`STDIN`] is
/// itself.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, IngestError> {
    let named = expand(inputs, &mut |folder| {
        let mut files = list_folder(folder)?;
        crate::store::files_to_read(folder, &mut files)?;
        Ok(files.into_iter().map(|file| (file.clone(), file)).collect())
    })?;
    Ok(named.into_iter().map(|(shown, _)| shown).collect())
}

/// The files a load reads: those [`expand_inputs`] gives, each as it is
/// named in messages and the path to read it at (a folder store's month
/// files are read through a snapshot, see [`crate::store::view`]).
#[derive(Default)]
pub(crate) struct ToRead {
    /// `(shown, read)` of each file, in order.
    pub files: Vec<(PathBuf, PathBuf)>,
    /// The snapshots read; keep them while the files are.
    pub snapshots: Vec<Snapshot>,
    /// What the load's summary says of them.
    pub notes: Vec<String>,
}

/// The files `inputs` name, as a load reads them (see [`ToRead`]).
pub(crate) fn inputs_to_read(inputs: &[PathBuf]) -> Result<ToRead, IngestError> {
    let mut snapshots = Vec::new();
    let mut notes = Vec::new();
    let files = expand(inputs, &mut |folder| {
        let view = crate::store::view(folder, || list_folder(folder))?;
        snapshots.push(view.snapshot);
        notes.extend(view.notes);
        notes.extend(hidden_files_note(folder)?);
        Ok(view.files)
    })?;
    Ok(ToRead {
        files,
        snapshots,
        notes,
    })
}

/// The files of a folder, as `(shown, read)` paths, in order.
type FolderFiles<'a> = dyn FnMut(&Path) -> std::io::Result<Vec<(PathBuf, PathBuf)>> + 'a;

/// The files `inputs` name (see [`expand_inputs`]), a folder's through
/// `folder_files`, each as `(shown, read)` paths.
fn expand(
    inputs: &[PathBuf],
    folder_files: &mut FolderFiles<'_>,
) -> Result<Vec<(PathBuf, PathBuf)>, IngestError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.as_os_str() == STDIN {
            files.push((input.clone(), input.clone()));
            continue;
        }
        if input.exists() {
            expand_path(input, folder_files, &mut files)?;
            continue;
        }
        let pattern = input.to_string_lossy();
        if !pattern.contains(['*', '?', '[']) {
            return Err(IngestError::NotFound {
                path: input.clone(),
            });
        }
        let mut matches = glob_matches(&pattern)?;
        if matches.is_empty() {
            return Err(IngestError::NoMatch {
                pattern: pattern.to_string(),
            });
        }
        matches.sort();
        for path in &matches {
            expand_path(path, folder_files, &mut files)?;
        }
    }
    Ok(files)
}

/// Most entries a pattern with `**` may walk through (files and folders).
pub const MAX_WALK_ENTRIES: usize = 1_000_000;

/// The paths `pattern` matches. A pattern with `**` is walked here, each
/// folder entered once (a symbolic link back to a folder already entered,
/// a loop, is not followed again) and at most [`MAX_WALK_ENTRIES`] entries
/// in all; others are expanded by `glob`, whose depth the pattern bounds.
fn glob_matches(pattern: &str) -> Result<Vec<PathBuf>, IngestError> {
    let bad_pattern = |message: String| IngestError::BadPattern {
        pattern: pattern.to_string(),
        message,
    };
    if !pattern.contains("**") {
        return glob::glob(pattern)
            .map_err(|err| bad_pattern(err.to_string()))?
            .collect::<Result<Vec<PathBuf>, _>>()
            .map_err(|err| bad_pattern(err.to_string()));
    }
    let compiled = glob::Pattern::new(pattern).map_err(|err| bad_pattern(err.to_string()))?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    // The folder before the first component with a wildcard.
    let first_wildcard = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    let base = match pattern[..first_wildcard].rfind('/') {
        Some(0) => "/",
        Some(slash) => &pattern[..slash],
        None => "",
    };
    let mut entered = std::collections::HashSet::new();
    let mut pending = vec![PathBuf::from(base)];
    let mut matches = Vec::new();
    let mut walked = 0usize;
    while let Some(folder) = pending.pop() {
        let shown = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder.as_path()
        };
        let Ok(identity) = std::fs::canonicalize(shown) else {
            continue;
        };
        if !entered.insert(identity) {
            continue;
        }
        let unreadable = |source| IngestError::Unreadable {
            file: shown.display().to_string(),
            source,
        };
        for entry in std::fs::read_dir(shown).map_err(unreadable)? {
            walked += 1;
            if walked > MAX_WALK_ENTRIES {
                return Err(bad_pattern(format!(
                    "walked more than {MAX_WALK_ENTRIES} files and folders; give a narrower pattern"
                )));
            }
            let path = folder.join(entry.map_err(unreadable)?.file_name());
            if compiled.matches_path_with(&path, options) {
                matches.push(path.clone());
            }
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    Ok(matches)
}

/// Adds an existing file, or the supported files of a folder (through
/// `folder_files`), to `files`. Regular files and pipes are read (a pipe
/// once, see [`super::stream`]): a socket or device is refused, as it might
/// never end.
fn expand_path(
    path: &Path,
    folder_files: &mut FolderFiles<'_>,
    files: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), IngestError> {
    if !path.is_dir() {
        if !path.is_file() && !is_pipe(path) {
            return Err(IngestError::NotRegularFile {
                path: path.to_path_buf(),
            });
        }
        files.push((path.to_path_buf(), path.to_path_buf()));
        return Ok(());
    }
    let found = folder_files(path).map_err(|source| IngestError::Unreadable {
        file: path.display().to_string(),
        source,
    })?;
    if found.is_empty() {
        return Err(IngestError::EmptyFolder {
            path: path.to_path_buf(),
        });
    }
    files.extend(found);
    Ok(())
}

/// The supported files of `folder` that are not hidden, sorted by name.
fn list_folder(folder: &Path) -> std::io::Result<Vec<PathBuf>> {
    supported_files(folder, false)
}

/// The supported files of `folder` that are hidden (`hidden`) or not,
/// sorted by name.
fn supported_files(folder: &Path, hidden: bool) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry_path = entry?.path();
        if is_hidden(&entry_path) == hidden && entry_path.is_file() && is_supported(&entry_path) {
            found.push(entry_path);
        }
    }
    found.sort();
    Ok(found)
}

/// Whether the name of `path` starts with a dot.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.as_encoded_bytes().starts_with(b"."))
}

/// What the summary says of the hidden files of `folder` that a load
/// leaves out although their format is supported (an append's own files
/// in a folder store aside): they may be calls, so leaving them out is
/// said, never silent.
fn hidden_files_note(folder: &Path) -> std::io::Result<Option<String>> {
    let mut hidden = supported_files(folder, true)?;
    hidden.retain(|file| {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        !crate::store::is_append_file(&name)
    });
    let Some(first) = hidden.first() else {
        return Ok(None);
    };
    let more = match hidden.len() {
        1 => String::new(),
        many => format!(" and {} more", many - 1),
    };
    Ok(Some(format!(
        "left out {} hidden file{} of {} (a name starting with a dot): {}{more}",
        hidden.len(),
        if hidden.len() == 1 { "" } else { "s" },
        folder.display(),
        first.display()
    )))
}
