//! The exit statuses of `cloudmarker` (documented in `--help`).

use std::process::ExitCode;

/// Everything succeeded (or a scheduled run was stopped while idle).
pub const SUCCESS: u8 = 0;
/// A plugin failed, or a command could not do what it was asked.
pub const PLUGIN_FAILED: u8 = 1;
/// The configuration is invalid.
pub const CONFIG: u8 = 2;

/// The status of a run interrupted by signal `signal`: 128 + its number.
pub fn interrupted(signal: i32) -> u8 {
    (128 + signal) as u8
}

/// `status` as the process's exit code.
pub fn code(status: u8) -> ExitCode {
    ExitCode::from(status)
}
