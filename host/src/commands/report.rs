//! `cloudmarker report [-o FILE] [--framework ID...] [--since DATE]`: the
//! HTML report (see [`crate::report`]).

use crate::cli::Cli;
use crate::exit;
use crate::report::{self, gather};
use chrono::{Duration, Utc};
use std::path::Path;

/// The default period of `--since`: the last week.
const DEFAULT_SINCE_DAYS: i64 = 7;

/// Writes the report to `output`.
pub fn run(cli: &Cli, output: &Path, frameworks: &[String], since: Option<&str>) -> u8 {
    let now = Utc::now();
    let since = match since.map(report::parse_since) {
        None => now - Duration::days(DEFAULT_SINCE_DAYS),
        Some(Ok(since)) => since,
        Some(Err(e)) => {
            eprintln!("cloudmarker: error: --since: {e}");
            return exit::CONFIG;
        }
    };
    let (config, known) = match super::load_frameworks(cli) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let which = if frameworks.is_empty() {
        gather::Which::Seen
    } else {
        gather::Which::Ids(frameworks)
    };
    let input = match gather::gather(&config, &known, which, now, since) {
        Ok(input) => input,
        Err(e) if e.starts_with("no framework") => {
            eprintln!("cloudmarker: error: {e}");
            return exit::CONFIG;
        }
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            return exit::PLUGIN_FAILED;
        }
    };
    let page = report::page(&input);
    if let Err(e) = report::write_file(output, page.as_bytes()) {
        eprintln!("cloudmarker: error: cannot write {}: {e}", output.display());
        return exit::PLUGIN_FAILED;
    }
    println!("Wrote {} ({} bytes).", output.display(), page.len());
    exit::SUCCESS
}
