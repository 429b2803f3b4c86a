//! `cloudmarker history`: the most recent runs from the run history.

use crate::cli::Cli;
use crate::{exit, history};

/// Prints the last `limit` runs as a table.
pub fn run(cli: &Cli, limit: usize) -> u8 {
    let config = match super::load_config(cli) {
        Ok(loaded) => loaded.config,
        Err(status) => return status,
    };
    let path = config.history_path();
    match history::read_recent(&path, limit) {
        Ok((runs, unreadable)) => {
            if runs.is_empty() {
                println!("No runs recorded in {} yet.", path.display());
            } else {
                print!("{}", history::table(&runs));
            }
            if unreadable > 0 {
                eprintln!(
                    "cloudmarker: warning: skipped {unreadable} unreadable line(s) in {}",
                    path.display()
                );
            }
            exit::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("No runs recorded in {} yet.", path.display());
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "cloudmarker: error: cannot read the run history {}: {e}",
                path.display()
            );
            exit::PLUGIN_FAILED
        }
    }
}
