//! `cloudmarker --print-base-config`: the built-in base config.

use crate::{config, exit};

/// Prints the base config.
pub fn run() -> u8 {
    print!("{}", config::BASE_CONFIG);
    exit::SUCCESS
}
