//! `cloudmarker __probe PATH` (internal): loads one plugin library and
//! reports whether it is a good plugin (see [`crate::plugins::probe`]).

use crate::plugins::{self, probe};
use std::path::Path;

/// Probes the library at `path`.
pub fn run(path: &Path) -> u8 {
    probe::run_probe(path, |p| {
        plugins::load_library(p)
            .map(|library| library.plugins.iter().map(probe::ProbedInfo::of).collect())
    })
}
