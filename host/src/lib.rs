//! The cloudmarker host: configuration, plugin loading and the audit engine.
//!
//! `main.rs` only parses the command line and calls [`run`], which hands it
//! to the command asked for (see [`commands`]).

pub mod audit;
pub mod cli;
pub mod commands;
pub mod compliance;
pub mod config;
pub mod dirs;
pub mod exit;
pub mod findings;
pub mod history;
pub mod logging;
pub mod notify;
pub mod plugins;
pub mod record;
pub mod report;
pub mod schedule;
pub mod service;
pub mod table;
pub mod validate;

use cli::{Cli, Command};
use commands::findings::Query;
use std::process::ExitCode;

/// Runs cloudmarker as the command line asks.
pub fn run(cli: Cli) -> ExitCode {
    if cli.print_base_config {
        return exit::code(commands::base_config::run());
    }
    let status = match &cli.command {
        None => commands::run::run(&cli),
        Some(Command::Validate { connect }) => commands::validate::run(&cli, *connect),
        Some(Command::History { limit }) => commands::history::run(&cli, *limit),
        Some(Command::Findings {
            status,
            severity,
            format,
            show,
        }) => commands::findings::run(
            &cli,
            Query {
                statuses: status,
                severities: severity,
                format: *format,
                show: show.as_ref(),
            },
        ),
        Some(Command::Config { action }) => commands::config::run(&cli, action),
        Some(Command::Compliance {
            framework,
            format,
            audit,
        }) => commands::compliance::run(&cli, framework.as_deref(), *format, audit.as_deref()),
        Some(Command::Report {
            output,
            framework,
            since,
        }) => commands::report::run(&cli, output, framework, since.as_deref()),
        Some(Command::Rules { action }) => commands::rules::run(&cli, action),
        Some(Command::Plugins { action }) => commands::plugins::run(&cli, action),
        Some(Command::State { action }) => commands::state::run(&cli, action),
        Some(Command::Completions { shell }) => commands::completions::run(*shell),
        Some(Command::Man) => commands::man::run(),
        Some(Command::Probe { path }) => commands::probe::run(path),
        Some(Command::Plugin {
            library,
            name,
            level,
        }) => commands::plugin::run(library, name, *level),
    };
    exit::code(status)
}
