//! The cloudmarker host: configuration, plugin loading and the audit engine.
//!
//! `main.rs` only parses the command line and calls [`run`].

pub mod audit;
pub mod cli;
pub mod config;
pub mod logging;
pub mod plugins;
pub mod record;
pub mod schedule;

use audit::EngineOptions;
use cli::Cli;
use config::{Config, ConfigError};
use plugins::{Registry, SearchPath};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status when a plugin failed.
pub const EXIT_PLUGIN_FAILED: u8 = 1;
/// Exit status when the configuration is invalid.
pub const EXIT_CONFIG: u8 = 2;

/// Runs cloudmarker as the command line asks.
pub fn run(cli: Cli) -> ExitCode {
    if cli.print_base_config {
        print!("{}", config::BASE_CONFIG);
        return ExitCode::SUCCESS;
    }
    let (config, files, mut warnings) = match load_config(&cli) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let (settings, logger_warnings) = logging::LogSettings::from_config(config.logger.as_ref());
    warnings.extend(logger_warnings);
    warnings.extend(logging::init(&settings));
    for warning in &warnings {
        log::warn!("{warning}");
    }
    log::info!("Config files merged over the base config: {files}.");
    let registry = Registry::new(SearchPath::from_env(&cli.plugin_dirs));
    if cli.now {
        return exit_code(run_once(&config, &registry));
    }
    run_on_schedule(&config, &registry)
}

/// Loads and checks the configuration; returns it, the files merged (for
/// the log) and warnings to log.
fn load_config(cli: &Cli) -> Result<(Config, String, Vec<String>), ConfigError> {
    let mut warnings = Vec::new();
    let files = match &cli.config {
        Some(files) => files.clone(),
        None => config::default_files(std::env::var_os("HOME").map(PathBuf::from).as_deref()),
    };
    let explicit = cli.config.is_some();
    let loaded = config::load(&files, |missing| {
        if explicit {
            warnings.push(format!(
                "Config file {} does not exist; skipping it.",
                missing.display()
            ));
        }
    })?;
    let config = Config::from_loaded(&loaded)?;
    let used: Vec<String> = loaded
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let used = if used.is_empty() {
        "none".to_string()
    } else {
        used.join(", ")
    };
    Ok((config, used, warnings))
}

/// Runs the audits once; true when everything succeeded.
pub fn run_once(config: &Config, registry: &Registry) -> bool {
    if config.run.is_empty() {
        log::warn!("The run list is empty; there is nothing to do.");
        return true;
    }
    audit::run_audits(config, registry, EngineOptions::default()).succeeded()
}

fn run_on_schedule(config: &Config, registry: &Registry) -> ExitCode {
    let value = config.schedule.as_deref().unwrap_or("00:00");
    let daily = match schedule::Daily::parse(value) {
        Ok(daily) => daily,
        Err(e) => {
            log::error!("Invalid configuration, error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    loop {
        let next = daily.next_after(&chrono::Local::now());
        log::info!("Next run at {}.", next.format("%Y-%m-%d %H:%M:%S %z"));
        daily.wait_for_next();
        run_once(config, registry);
    }
}

fn exit_code(succeeded: bool) -> ExitCode {
    if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PLUGIN_FAILED)
    }
}
