//! `cloudmarker completions SHELL`: shell completions.

use crate::cli::Cli;
use crate::exit;
use clap::CommandFactory;

/// Prints the completions for `shell`.
pub fn run(shell: clap_complete::Shell) -> u8 {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "cloudmarker", &mut std::io::stdout());
    exit::SUCCESS
}
