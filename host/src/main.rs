//! The `cloudmarker` command.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cloudmarker::cli::hoist_plugin_dirs(std::env::args_os());
    cloudmarker::run(cloudmarker::cli::Cli::parse_from(args))
}
