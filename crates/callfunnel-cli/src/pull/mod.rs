//! `callfunnel pull`: the calls of a period, copied from Allo's API.
//!
//! The pages of `POST /v2/api/conversations/items/search` (type `CALL`, the
//! period's dates, oldest first, 100 a page) are saved one file each in a
//! pages folder as they arrive, so an interrupted pull resumes after the last
//! saved page. The saved pages are then read like any saved search page
//! (SPEC §1.1: overlapping pages collapse by id) and written as a store.

pub mod client;

use std::fs;
use std::path::{Path, PathBuf};

use callfunnel::model::CallType;
use chrono::NaiveDate;
use serde_json::{json, Value};

use client::{ApiCallError, ApiClient};

/// The search route.
pub const SEARCH_PATH: &str = "/v2/api/conversations/items/search";

/// Calls a page asks for (the API's maximum).
pub const PAGE_SIZE: u32 = 100;

/// The manifest of a pages folder: which pull its pages belong to.
const MANIFEST: &str = "pull.json";

/// Why a pull stopped.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The API refused or could not be reached; the pages saved so far are kept.
    #[error(transparent)]
    Api(#[from] ApiCallError),
    /// A page is not a search page.
    #[error("page {page}: not a conversations search page ({reason})")]
    NotAPage {
        /// The page number.
        page: u32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The pages folder holds pages of another pull.
    #[error("{} holds the pages of another pull ({found}); give another --pages folder or empty it", folder.display())]
    OtherPull {
        /// The pages folder.
        folder: PathBuf,
        /// The other pull's period.
        found: String,
    },
    /// Reading or writing the pages folder failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The period to pull, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

/// What a pull fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pulled {
    /// Every saved page file, in page order.
    pub pages: Vec<PathBuf>,
    /// Pages fetched by this run (the rest were saved by an earlier one).
    pub fetched: u32,
    /// Items in the saved pages, before collapsing by id.
    pub items: u64,
    /// The `total_count` the API announced on the last page.
    pub announced: Option<u64>,
}

/// The body of the search for page `page` of `period`.
pub fn search_body(period: Period, page: u32) -> Value {
    json!({
        "type": CallType::Call.as_str(),
        "date": {"from": period.from.to_string(), "to": period.to.to_string()},
        "sort": "DATE_ASC",
        "page": page,
        "size": PAGE_SIZE,
    })
}

/// Fetches every page of `period` not yet in `folder`, saving each as it
/// arrives; `progress` hears the page number and the items so far.
pub fn pull_pages(
    client: &mut ApiClient,
    period: Period,
    folder: &Path,
    progress: &dyn Fn(u32, u64),
) -> Result<Pulled, PullError> {
    claim_folder(folder, period)?;
    let mut pulled = Pulled::default();
    let mut page = 1;
    loop {
        let path = page_path(folder, page);
        let answer = match read_saved_page(&path)? {
            Some(saved) => saved,
            None => {
                let answer = client.post(SEARCH_PATH, &search_body(period, page))?;
                check_page(&answer, page)?;
                write_atomically(&path, &serde_json::to_vec(&answer).unwrap_or_default())?;
                pulled.fetched += 1;
                answer
            }
        };
        let items = answer["data"].as_array().map_or(0, Vec::len) as u64;
        pulled.items += items;
        pulled.pages.push(path);
        let pagination = &answer["pagination"];
        pulled.announced = pagination["total_count"].as_u64().or(pulled.announced);
        progress(page, pulled.items);
        let has_more = pagination["has_more"].as_bool().unwrap_or(false);
        if !has_more || items == 0 {
            return Ok(pulled);
        }
        page += 1;
    }
}

/// The file of page `page`.
fn page_path(folder: &Path, page: u32) -> PathBuf {
    folder.join(format!("page-{page:06}.json"))
}

/// Creates the folder and its manifest, or checks that the manifest names
/// the same period.
fn claim_folder(folder: &Path, period: Period) -> Result<(), PullError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PullError::Io { path, source }
    };
    fs::create_dir_all(folder).map_err(io(folder))?;
    let manifest = folder.join(MANIFEST);
    let expected = json!({"route": SEARCH_PATH, "type": CallType::Call.as_str(), "from": period.from.to_string(), "to": period.to.to_string()});
    match fs::read(&manifest) {
        Ok(bytes) => {
            let found: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            if found != expected {
                return Err(PullError::OtherPull {
                    folder: folder.to_path_buf(),
                    found: format!(
                        "{} to {}",
                        found["from"].as_str().unwrap_or("?"),
                        found["to"].as_str().unwrap_or("?")
                    ),
                });
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            write_atomically(&manifest, expected.to_string().as_bytes())
        }
        Err(error) => Err(io(&manifest)(error)),
    }
}

/// A page saved by an earlier run; `None` when there is none (or it was cut
/// short, which an atomic write never leaves, but a hand copy might).
fn read_saved_page(path: &Path) -> Result<Option<Value>, PullError> {
    match fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PullError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Whether an answer is a search page: `data` a list, `pagination` an object.
fn check_page(answer: &Value, page: u32) -> Result<(), PullError> {
    if !answer["data"].is_array() {
        return Err(PullError::NotAPage {
            page,
            reason: "`data` is not a list",
        });
    }
    if !answer["pagination"].is_object() {
        return Err(PullError::NotAPage {
            page,
            reason: "no `pagination`",
        });
    }
    Ok(())
}

/// Writes `bytes` to `path` under a temporary name renamed once complete.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PullError> {
    callfunnel::scratch::write_replacing(
        path,
        |source| PullError::Io {
            path: path.to_path_buf(),
            source,
        },
        |writer| {
            std::io::Write::write_all(writer, bytes).map_err(|source| PullError::Io {
                path: path.to_path_buf(),
                source,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period() -> Period {
        Period {
            from: NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date"),
            to: NaiveDate::from_ymd_opt(2026, 3, 31).expect("a date"),
        }
    }

    #[test]
    fn the_search_asks_for_calls_oldest_first_a_full_page_at_a_time() {
        assert_eq!(
            search_body(period(), 3),
            json!({"type": "CALL", "date": {"from": "2026-01-01", "to": "2026-03-31"}, "sort": "DATE_ASC", "page": 3, "size": 100})
        );
    }

    #[test]
    fn a_pages_folder_belongs_to_one_pull() {
        let folder = tempfile::tempdir().expect("a folder");
        claim_folder(folder.path(), period()).expect("a new folder");
        claim_folder(folder.path(), period()).expect("the same pull");
        let other = Period {
            from: NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date"),
            ..period()
        };
        let error = claim_folder(folder.path(), other).expect_err("another pull");
        assert!(
            error.to_string().contains("2026-01-01 to 2026-03-31"),
            "{error}"
        );
    }

    #[test]
    fn a_page_needs_data_and_pagination() {
        assert!(check_page(&json!({"data": [], "pagination": {}}), 1).is_ok());
        assert!(check_page(&json!({"data": {}, "pagination": {}}), 1).is_err());
        assert!(check_page(&json!({"data": []}), 2).is_err());
    }
}
