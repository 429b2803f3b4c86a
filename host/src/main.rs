//! The `cloudmarker` command.

use clap::Parser;

fn main() -> std::process::ExitCode {
    cloudmarker::run(cloudmarker::cli::Cli::parse())
}
