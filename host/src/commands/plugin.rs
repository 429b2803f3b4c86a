//! `cloudmarker __plugin LIBRARY NAME LEVEL` (internal): runs one plugin in
//! this process for a host that isolates it (see [`crate::plugins::isolate`]).

use std::path::Path;

/// Runs plugin `name` of `library`, sending log lines up to `level`.
pub fn run(library: &Path, name: &str, level: u8) -> u8 {
    crate::plugins::isolate::run_child(library, name, level)
}
