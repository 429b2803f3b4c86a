//! `cloudmarker history`: the most recent runs, from the findings state's
//! run history, or from the history file when `history.path` is set.

use crate::cli::Cli;
use crate::{exit, history};

/// Prints the last `limit` runs as a table.
pub fn run(cli: &Cli, limit: usize) -> u8 {
    let config = match super::load_config(cli) {
        Ok(loaded) => loaded.config,
        Err(status) => return status,
    };
    let state = config.state.clone().unwrap_or_default();
    // An explicit history.path is read as before; otherwise the state's
    // history (the whole estate's, when the state is shared).
    let file_given = config.history.as_ref().is_some_and(|h| h.path.is_some());
    if !file_given && state.enabled() && state.may_exist() {
        return from_state(&state, limit);
    }
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

/// Prints the last `limit` runs that the findings state keeps (of every
/// shard, when the state is shared).
fn from_state(state: &crate::findings::StateConfig, limit: usize) -> u8 {
    let place = state.describe();
    let lines = match state.open() {
        Ok(mut opened) => opened.recent_runs(limit),
        Err(e) => return super::state_error(&e),
    };
    let lines = match lines {
        Ok(lines) => lines,
        Err(e) => {
            eprintln!("cloudmarker: error: cannot read the run history in {place}: {e}");
            return exit::PLUGIN_FAILED;
        }
    };
    let mut unreadable = 0;
    let runs: Vec<history::RunRecord> = lines
        .iter()
        .filter_map(|line| serde_json::from_str(line).map_err(|_| unreadable += 1).ok())
        .collect();
    if runs.is_empty() {
        println!("No runs recorded in {place} yet.");
    } else {
        print!("{}", history::table(&runs));
    }
    if unreadable > 0 {
        eprintln!("cloudmarker: warning: skipped {unreadable} unreadable run(s) in {place}");
    }
    exit::SUCCESS
}
