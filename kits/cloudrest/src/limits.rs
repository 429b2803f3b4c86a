//! Bounds on the work one listing may cause: pages per listing, bytes per
//! answer. A server that loops (`nextLink` back to an earlier page, the same
//! `nextPageToken` again), never ends, or answers with hundreds of megabytes
//! is cut off with a message instead of running for hours or exhausting
//! memory.

use crate::HttpError;
use reqwest::blocking::Response;
use std::collections::HashSet;
use std::io::Read;

/// The default of `max_pages`: generous (10,000 pages of 1,000 items is
/// ten million resources of one type) but finite.
pub const DEFAULT_MAX_PAGES: usize = 10_000;

/// The default of `max_response_bytes`: 64 MiB per answer.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// How much of an error answer is read to describe it.
pub const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// The limits a client applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Pages one listing may have.
    pub max_pages: usize,
    /// Bytes one answer may have.
    pub max_response_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pages: DEFAULT_MAX_PAGES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Follows one listing's pages: refuses a link or token seen before and
/// more than `max_pages` pages.
pub struct Pager<'a> {
    what: &'a str,
    max_pages: usize,
    pages: usize,
    seen: HashSet<String>,
}

impl<'a> Pager<'a> {
    /// A listing named `what` (for messages) starting at `first` (its URL,
    /// or `""` when pages are named by tokens).
    pub fn new(what: &'a str, max_pages: usize, first: &str) -> Self {
        Self {
            what,
            max_pages: max_pages.max(1),
            pages: 1,
            seen: HashSet::from([first.to_string()]),
        }
    }

    /// Accepts `next` (a link or a page token) as the next page to fetch.
    pub fn next(&mut self, next: &str) -> Result<(), HttpError> {
        let what = self.what;
        if !self.seen.insert(next.to_string()) {
            return Err(HttpError::Transport(format!(
                "{what}: stopped after {} page(s): the server sent a page link or token it had sent before (a paging loop)",
                self.pages
            )));
        }
        if self.pages >= self.max_pages {
            return Err(HttpError::Transport(format!(
                "{what}: stopped after {} page(s), the limit (max_pages); the list is longer",
                self.pages
            )));
        }
        self.pages += 1;
        Ok(())
    }
}

/// The body of `response`, at most `max` bytes: a longer answer (by its
/// `Content-Length`, or while reading one without) is an error that names
/// the limit and the param that sets it.
pub fn read_limited(response: Response, what: &str, max: u64) -> Result<Vec<u8>, String> {
    let too_large = || {
        format!(
            "{what}: the answer is larger than {max} bytes (max_response_bytes); it was not read"
        )
    };
    if response.content_length().is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    response
        .take(max.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| format!("{what}: cannot read the answer: {e}"))?;
    if body.len() as u64 > max {
        return Err(too_large());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_link_is_a_loop() {
        let mut pager = Pager::new("listing x", 100, "p0");
        pager.next("p1").unwrap();
        pager.next("p2").unwrap();
        let err = pager.next("p1").unwrap_err().to_string();
        assert!(
            err.starts_with("listing x: stopped after 3 page(s): the server sent a page link or token it had sent before"),
            "{err}"
        );
        let mut pager = Pager::new("listing y", 100, "p0");
        assert!(pager.next("p0").is_err(), "a link to the first page");
    }

    #[test]
    fn pages_are_capped() {
        let mut pager = Pager::new("listing z", 3, "");
        pager.next("a").unwrap();
        pager.next("b").unwrap();
        let err = pager.next("c").unwrap_err().to_string();
        assert_eq!(
            err,
            "listing z: stopped after 3 page(s), the limit (max_pages); the list is longer"
        );
    }
}
