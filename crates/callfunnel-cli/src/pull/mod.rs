//! `callfunnel pull`: the calls of a period, copied from Allo's API.
//!
//! The pages of `POST /v2/api/conversations/items/search` (type `CALL`, the
//! period's dates, oldest first, 100 a page) are saved one file each in a
//! pages folder as they arrive, so an interrupted pull resumes after the last
//! saved page (of the same period, server and key: the folder's manifest
//! says which). A page keeps the period's calls only. The saved pages are
//! then read like any saved search page (SPEC §1.1: overlapping pages
//! collapse by id) and written as a store.
//!
//! Paging stops with an error, the pages so far kept, when the API's
//! paging cannot be trusted to end or to be whole: a page that repeats the
//! previous one, pages that go on past the total the API announced, or an
//! empty page that says more follow.

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

/// Pages that may still say more follow past the pages the API announced
/// (calls added while paging move the total; more than this, it never ends).
const PAGES_PAST_ANNOUNCED: u64 = 2;

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
        /// How the other pull differs: its period, server or key.
        found: String,
    },
    /// The API's paging cannot be trusted to end, or to be whole; the pages
    /// saved so far are kept.
    #[error("page {page}: {reason}; the {saved} pages before it are kept in {}", folder.display())]
    Paging {
        /// The page number.
        page: u32,
        /// What is wrong.
        reason: String,
        /// Pages saved before it.
        saved: u32,
        /// Where they are.
        folder: PathBuf,
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
    /// Items the API answered that are dated outside the period, left out.
    pub outside: u64,
}

/// Which pull a pages folder belongs to: the search, its period, the server
/// and a hash of the key (never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullIdentity {
    /// The period.
    pub period: Period,
    /// The API's address, without a trailing `/`.
    pub base_url: String,
    /// [`key_hash`] of the API key.
    pub key_hash: String,
}

/// The hash of an API key a pages folder records: xxh3-64 in hex.
pub fn key_hash(api_key: &str) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(api_key.as_bytes()))
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

/// Fetches every page of the pull not yet in `folder`, saving each as it
/// arrives (the period's calls only); `progress` hears the page number and
/// the items so far.
pub fn pull_pages(
    client: &mut ApiClient,
    pull: &PullIdentity,
    folder: &Path,
    progress: &dyn Fn(u32, u64),
) -> Result<Pulled, PullError> {
    claim_folder(folder, pull)?;
    let mut pulled = Pulled::default();
    let mut previous_ids = Vec::new();
    for page in 1.. {
        let path = page_path(folder, page);
        let stop = |reason: String| PullError::Paging {
            page,
            reason,
            saved: page - 1,
            folder: folder.to_path_buf(),
        };
        let (answer, ids) = match read_saved_page(&path)? {
            Some(saved) => {
                let ids = item_ids(&saved);
                (saved, ids)
            }
            None => {
                let mut answer = client.post(SEARCH_PATH, &search_body(pull.period, page))?;
                check_page(&answer, page)?;
                let ids = item_ids(&answer);
                check_paging(&answer, page, &ids, &previous_ids).map_err(stop)?;
                pulled.outside += keep_period(&mut answer, pull.period);
                write_atomically(&path, &serde_json::to_vec(&answer).unwrap_or_default())?;
                pulled.fetched += 1;
                (answer, ids)
            }
        };
        let items = answer["data"].as_array().map_or(0, Vec::len) as u64;
        pulled.items += items;
        pulled.pages.push(path);
        let pagination = &answer["pagination"];
        pulled.announced = pagination["total_count"].as_u64().or(pulled.announced);
        progress(page, pulled.items);
        if !pagination["has_more"].as_bool().unwrap_or(false) {
            break;
        }
        previous_ids = ids;
    }
    Ok(pulled)
}

/// The ids of a page's items, in order.
fn item_ids(answer: &Value) -> Vec<String> {
    answer["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item["id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Why page `page` (its items' `ids`) shows the paging cannot be trusted:
/// an empty page that says more follow (the pull would be incomplete), the
/// previous page's calls again (it would never end), or more pages than the
/// API announced, by more than [`PAGES_PAST_ANNOUNCED`].
fn check_paging(
    answer: &Value,
    page: u32,
    ids: &[String],
    previous: &[String],
) -> Result<(), String> {
    let pagination = &answer["pagination"];
    if !pagination["has_more"].as_bool().unwrap_or(false) {
        return Ok(());
    }
    if ids.is_empty() {
        return Err("the page is empty but says more follow: the API stopped before the end, so the pull is incomplete; run it again to resume".into());
    }
    if ids == previous {
        return Err(format!(
            "the page holds the same {} calls as page {}: the API's paging does not move on",
            ids.len(),
            page - 1
        ));
    }
    let announced_pages = [
        pagination["total_pages"].as_u64(),
        pagination["total_count"]
            .as_u64()
            .map(|count| count.div_ceil(u64::from(PAGE_SIZE))),
    ]
    .into_iter()
    .flatten()
    .max();
    match announced_pages {
        Some(announced) if u64::from(page) > announced + PAGES_PAST_ANNOUNCED => Err(format!(
            "the API announced {announced} pages ({} calls) and page {page} still says more follow: its paging does not end",
            pagination["total_count"]
                .as_u64()
                .map_or("an unknown number of".to_string(), |count| count.to_string())
        )),
        _ => Ok(()),
    }
}

/// Leaves out of `answer` the items dated outside `period` (UTC days, as
/// the search reads them); returns how many. An item without a readable
/// date is kept, for the store's reading to refuse with its place.
fn keep_period(answer: &mut Value, period: Period) -> u64 {
    let Some(items) = answer["data"].as_array_mut() else {
        return 0;
    };
    let before = items.len();
    items.retain(|item| {
        item["date"]
            .as_str()
            .and_then(|date| chrono::DateTime::parse_from_rfc3339(date).ok())
            .map_or(true, |date| {
                let day = date.naive_utc().date();
                period.from <= day && day <= period.to
            })
    });
    (before - items.len()) as u64
}

/// The file of page `page`.
fn page_path(folder: &Path, page: u32) -> PathBuf {
    folder.join(format!("page-{page:06}.json"))
}

/// Creates the folder and its manifest, or checks that the manifest names
/// the same pull: period, server and key. A folder without a saved page
/// (a pull refused at its first page) has nothing to mix: it is claimed
/// afresh.
fn claim_folder(folder: &Path, pull: &PullIdentity) -> Result<(), PullError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PullError::Io { path, source }
    };
    fs::create_dir_all(folder).map_err(io(folder))?;
    let manifest = folder.join(MANIFEST);
    let expected = json!({
        "route": SEARCH_PATH,
        "type": CallType::Call.as_str(),
        "from": pull.period.from.to_string(),
        "to": pull.period.to.to_string(),
        "base_url": pull.base_url,
        "key_xxh3": pull.key_hash,
    });
    match fs::read(&manifest) {
        Ok(bytes) => {
            let found: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            match difference(&found, &expected) {
                None => Ok(()),
                Some(_) if !page_path(folder, 1).exists() => {
                    write_atomically(&manifest, expected.to_string().as_bytes())
                }
                Some(found) => Err(PullError::OtherPull {
                    folder: folder.to_path_buf(),
                    found,
                }),
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            write_atomically(&manifest, expected.to_string().as_bytes())
        }
        Err(error) => Err(io(&manifest)(error)),
    }
}

/// How the manifest `found` differs from `expected`, in words; `None` when
/// it is the same pull.
fn difference(found: &Value, expected: &Value) -> Option<String> {
    if found == expected {
        return None;
    }
    let text = |field: &str| found[field].as_str().unwrap_or("none recorded").to_string();
    Some(
        if found["from"] != expected["from"] || found["to"] != expected["to"] {
            format!("{} to {}", text("from"), text("to"))
        } else if found["base_url"] != expected["base_url"] {
            format!("from the server {}", text("base_url"))
        } else if found["key_xxh3"] != expected["key_xxh3"] {
            "with another API key".to_string()
        } else {
            "another search".to_string()
        },
    )
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

    fn pull() -> PullIdentity {
        PullIdentity {
            period: period(),
            base_url: "https://api.withallo.com".into(),
            key_hash: key_hash("key"),
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
        claim_folder(folder.path(), &pull()).expect("a new folder");
        claim_folder(folder.path(), &pull()).expect("the same pull");
        fs::write(page_path(folder.path(), 1), "{}").expect("a saved page");
        let other = PullIdentity {
            period: Period {
                from: NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date"),
                ..period()
            },
            ..pull()
        };
        let error = claim_folder(folder.path(), &other).expect_err("another pull");
        assert!(
            error.to_string().contains("(2026-01-01 to 2026-03-31)"),
            "{error}"
        );
        let server = PullIdentity {
            base_url: "http://127.0.0.1:8080".into(),
            ..pull()
        };
        let error = claim_folder(folder.path(), &server).expect_err("another server");
        assert!(
            error
                .to_string()
                .contains("(from the server https://api.withallo.com)"),
            "{error}"
        );
        let key = PullIdentity {
            key_hash: key_hash("another key"),
            ..pull()
        };
        let error = claim_folder(folder.path(), &key).expect_err("another key");
        assert!(
            error.to_string().contains("(with another API key)"),
            "{error}"
        );
        let manifest = fs::read_to_string(folder.path().join(MANIFEST)).expect("a manifest");
        assert!(!manifest.contains("\"key\""), "{manifest}");

        // Without a saved page, there is nothing to mix: claimed afresh.
        fs::remove_file(page_path(folder.path(), 1)).expect("the page removed");
        claim_folder(folder.path(), &key).expect("an empty folder");
        claim_folder(folder.path(), &key).expect("now this pull's");
        assert!(claim_folder(folder.path(), &pull()).is_ok());
    }

    #[test]
    fn paging_that_would_not_end_or_be_whole_is_refused() {
        let page = |ids: &[&str], has_more: bool, total_count: u64| {
            json!({
                "data": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
                "pagination": {"has_more": has_more, "total_count": total_count, "total_pages": total_count.div_ceil(100)},
            })
        };
        let ids = |answer: &Value| item_ids(answer);
        let first = page(&["a", "b"], true, 250);
        assert_eq!(check_paging(&first, 1, &ids(&first), &[]), Ok(()));
        let empty = page(&[], true, 250);
        assert!(check_paging(&empty, 2, &[], &ids(&first))
            .unwrap_err()
            .contains("the pull is incomplete"));
        assert!(check_paging(&first, 2, &ids(&first), &ids(&first))
            .unwrap_err()
            .contains("the same 2 calls as page 1"));
        let later = page(&["c"], true, 250);
        assert_eq!(check_paging(&later, 5, &ids(&later), &[]), Ok(()));
        assert!(check_paging(&later, 6, &ids(&later), &[])
            .unwrap_err()
            .contains("the API announced 3 pages (250 calls) and page 6 still says more follow"));
        let last = page(&[], false, 250);
        assert_eq!(check_paging(&last, 9, &[], &[]), Ok(()));
    }

    #[test]
    fn a_page_keeps_the_period_s_calls_only() {
        let mut answer = json!({"data": [
            {"id": "before", "date": "2025-12-31T23:59:59Z"},
            {"id": "first", "date": "2026-01-01T00:00:00Z"},
            {"id": "offset", "date": "2026-04-01T01:00:00+02:00"},
            {"id": "after", "date": "2026-04-01T00:00:00Z"},
            {"id": "undated"},
        ]});
        assert_eq!(keep_period(&mut answer, period()), 2);
        assert_eq!(item_ids(&answer), ["first", "offset", "undated"]);
    }

    #[test]
    fn a_page_needs_data_and_pagination() {
        assert!(check_page(&json!({"data": [], "pagination": {}}), 1).is_ok());
        assert!(check_page(&json!({"data": {}, "pagination": {}}), 1).is_err());
        assert!(check_page(&json!({"data": []}), 2).is_err());
    }
}
