//! Paging through a list (SPEC §2 `page` and `size`, §4 `pagination`): the
//! page-number and page-size rules, where a page starts, and the
//! `pagination` object that comes with a page.
//!
//! The drilldown pages its calls this way, and `callfunnel serve`'s
//! conversation search pages its items the same way, as the real API does:
//! one rule, so the two cannot drift apart. A number sent is taken exactly
//! (as an `i128`, wide enough for any JSON integer the parsers read): one
//! out of range is refused with the value sent, never clamped.

use serde::Serialize;

/// Page size when the request names none.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Largest page number: a page's number is a `u32`.
pub const MAX_PAGE: u32 = u32::MAX;

/// A requested page size outside `1..=MAX_PAGE_SIZE` (the API's
/// `INVALID_PAGE_SIZE`); it holds the size sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("size must be between 1 and {MAX_PAGE_SIZE}, not {0}")]
pub struct PageSizeOutOfRange(pub i128);

/// The page size of a request: [`DEFAULT_PAGE_SIZE`] when none is given,
/// else the one given if it lies in `1..=MAX_PAGE_SIZE`.
pub fn page_size(requested: Option<i128>) -> Result<u32, PageSizeOutOfRange> {
    size_within(requested, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).map_err(PageSizeOutOfRange)
}

/// A page size under another list's rule: `default` when none is given,
/// else the one given if it lies in `1..=max`; the size asked for when not.
pub fn size_within(requested: Option<i128>, default: u32, max: u32) -> Result<u32, i128> {
    match requested {
        None => Ok(default),
        Some(size) => u32::try_from(size)
            .ok()
            .filter(|size| (1..=max).contains(size))
            .ok_or(size),
    }
}

/// A requested page number that no page can have; it holds the number sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageOutOfRange {
    /// Below the first page, 1.
    #[error("page must be at least 1, not {0}")]
    BeforeFirst(i128),
    /// Beyond the largest page number, [`MAX_PAGE`].
    #[error("page must be at most {MAX_PAGE}, not {0}")]
    BeyondLast(i128),
}

/// The page number of a request, counted from 1: 1 when none is given, else
/// the one given if it lies in `1..=MAX_PAGE`.
pub fn page_number(requested: Option<i128>) -> Result<u32, PageOutOfRange> {
    match requested {
        None => Ok(1),
        Some(page) if page < 1 => Err(PageOutOfRange::BeforeFirst(page)),
        Some(page) => u32::try_from(page).map_err(|_| PageOutOfRange::BeyondLast(page)),
    }
}

/// How many items come before page `page` (counted from 1) of `size` items.
pub fn items_before(page: u32, size: u32) -> u64 {
    u64::from(page.saturating_sub(1)) * u64::from(size)
}

/// Where a page sits in the list: `{"page", "size", "total_count",
/// "total_pages", "has_more"}`, in the API's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pagination {
    /// Requested page, from 1.
    pub page: u32,
    /// Requested size.
    pub size: u32,
    /// Items in the whole list.
    pub total_count: u64,
    /// `ceil(total_count ÷ size)`.
    pub total_pages: u64,
    /// `page < total_pages`: a later page holds items.
    pub has_more: bool,
}

impl Pagination {
    /// The pagination of page `page` of `size` items in a list of
    /// `total_count` items.
    pub fn new(page: u32, size: u32, total_count: u64) -> Pagination {
        let total_pages = total_count.div_ceil(u64::from(size));
        Pagination {
            page,
            size,
            total_count,
            total_pages,
            has_more: u64::from(page) < total_pages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_default_to_twenty_and_lie_in_one_to_a_hundred() {
        assert_eq!(page_size(None), Ok(20));
        assert_eq!(page_size(Some(1)), Ok(1));
        assert_eq!(page_size(Some(100)), Ok(100));
        for size in [
            0,
            -1,
            101,
            i128::from(u32::MAX) + 1,
            i128::from(i64::MIN),
            i128::from(u64::MAX),
        ] {
            assert_eq!(page_size(Some(size)), Err(PageSizeOutOfRange(size)));
        }
        assert_eq!(
            PageSizeOutOfRange(101).to_string(),
            "size must be between 1 and 100, not 101"
        );
    }

    #[test]
    fn pages_start_at_one_and_end_at_the_largest_u32() {
        assert_eq!(page_number(None), Ok(1));
        assert_eq!(page_number(Some(1)), Ok(1));
        assert_eq!(page_number(Some(i128::from(u32::MAX))), Ok(u32::MAX));
        for page in [0, -1, i128::from(i64::MIN)] {
            assert_eq!(
                page_number(Some(page)),
                Err(PageOutOfRange::BeforeFirst(page))
            );
        }
        for page in [i128::from(u32::MAX) + 1, i128::from(u64::MAX)] {
            assert_eq!(
                page_number(Some(page)),
                Err(PageOutOfRange::BeyondLast(page))
            );
        }
        assert_eq!(
            PageOutOfRange::BeforeFirst(0).to_string(),
            "page must be at least 1, not 0"
        );
        assert_eq!(
            PageOutOfRange::BeyondLast(4_294_967_296).to_string(),
            "page must be at most 4294967295, not 4294967296"
        );
    }

    #[test]
    fn pages_count_up_and_say_whether_more_follow() {
        assert_eq!(items_before(1, 7), 0);
        assert_eq!(items_before(3, 7), 14);
        assert_eq!(items_before(u32::MAX, 100), 429_496_729_400);
        let page = |page, total| {
            let pagination = Pagination::new(page, 7, total);
            (pagination.total_pages, pagination.has_more)
        };
        assert_eq!(page(1, 0), (0, false));
        assert_eq!(page(1, 7), (1, false));
        assert_eq!(page(1, 8), (2, true));
        assert_eq!(page(2, 8), (2, false));
        assert_eq!(page(3, 8), (2, false));
    }
}
