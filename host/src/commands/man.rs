//! `cloudmarker man`: the man page (roff).

use crate::cli::Cli;
use crate::exit;
use clap::CommandFactory;

/// Prints the man page.
pub fn run() -> u8 {
    match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
        Ok(()) => exit::SUCCESS,
        Err(e) => {
            eprintln!("cloudmarker: error: cannot write the man page: {e}");
            exit::PLUGIN_FAILED
        }
    }
}
