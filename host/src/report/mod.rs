//! `cloudmarker report`: one self-contained HTML page with the posture
//! (open findings by severity, what changed), the trend over the last runs,
//! compliance per framework, the worst scopes and services, the findings
//! table and what was not evaluated.
//!
//! - [`gather`]: reads the findings database, the run history, the mutes
//!   and the compliance reports;
//! - [`store`]: the read-only queries the findings database's public
//!   functions do not answer (status changes, each finding's check and
//!   scope);
//! - [`model`]: the numbers the page shows (also its JSON island);
//! - [`html`] and [`chart`]: the page and its SVG charts.

pub mod beside;
pub mod chart;
pub mod gather;
pub mod html;
pub mod model;
pub mod store;

use chrono::{DateTime, NaiveDate, Utc};

/// The start of the `--since` period: a date (`YYYY-MM-DD`, midnight UTC)
/// or an RFC 3339 time.
pub fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

/// The page of `input`.
pub fn page(input: &gather::Input) -> String {
    html::render(&model::build(input))
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`: a reader never sees half a page.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
