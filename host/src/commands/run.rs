//! `cloudmarker [-n | --once]`, no subcommand: runs the audits now, or on
//! the schedule until a signal stops it.

use super::{Loaded, Warnings, LOG_TARGET};
use crate::cli::Cli;
use crate::config::{self, Config, ConfigError, LoadedConfig};
use crate::plugins::Registry;
use crate::service::{self, Service, Shutdown};
use crate::{exit, logging, notify, validate};
use cloudmarker_plugin_api::sdk::shard::Shard;
use std::sync::Arc;

/// Runs the audits as the command line asks.
pub fn run(cli: &Cli) -> u8 {
    let Loaded {
        config,
        loaded,
        files,
        warnings,
    } = match super::load_config(cli) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    start_logging(&config, warnings, &files);
    let shutdown = handle_signals(&config);
    let registry = super::build_registry(cli, Warnings::Log);
    if let Err(status) = check_params(&config, &loaded, &registry) {
        return status;
    }
    let shard = match resolve_shard(&config) {
        Ok(shard) => shard,
        Err(status) => return status,
    };
    if let Err(status) = check_state(&config) {
        return status;
    }
    let service = Service {
        config: &config,
        registry: &registry,
        shutdown,
        history: config.history_path(),
        notifier: notifier(&config),
        summary: cli.now && !cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stdout()),
        shard,
    };
    if cli.now {
        service.run_now()
    } else {
        match config.schedule() {
            Ok(schedule) => service.run_scheduled(&schedule, cli.once),
            Err(e) => {
                log::error!(target: LOG_TARGET, "Invalid configuration, error: {e}");
                exit::CONFIG
            }
        }
    }
}

/// Sets up the log as the config says, then logs the warnings so far and
/// the config files used.
fn start_logging(config: &Config, mut warnings: Vec<String>, files: &str) {
    let (settings, logger_warnings) = logging::LogSettings::from_config(config.logger.as_ref());
    warnings.extend(logger_warnings);
    warnings.extend(logging::init(&settings));
    for warning in &warnings {
        log::warn!(target: LOG_TARGET, "{warning}");
    }
    log::info!(target: LOG_TARGET, "Config files merged over the base config: {files}.");
}

/// The shutdown state that SIGINT and SIGTERM set.
fn handle_signals(config: &Config) -> Arc<Shutdown> {
    let shutdown = Arc::new(Shutdown::default());
    if let Err(e) = service::handle_signals(Arc::clone(&shutdown), config.grace_period()) {
        log::warn!(target: LOG_TARGET, "Cannot handle SIGINT/SIGTERM, error: {e}");
    }
    shutdown
}

/// Checks every plugin's params against its schema; a problem is a
/// configuration error and nothing runs.
fn check_params(config: &Config, loaded: &LoadedConfig, registry: &Registry) -> Result<(), u8> {
    let findings = validate::check(config, loaded, registry);
    if findings.problems.is_empty() {
        return Ok(());
    }
    for problem in &findings.problems {
        log::error!(target: LOG_TARGET, "Invalid configuration: {problem}");
    }
    eprintln!(
        "cloudmarker: error: {}",
        ConfigError::Invalid(findings.problems)
    );
    Err(exit::CONFIG)
}

/// This process's shard, if the run is sharded (its index from the config,
/// `--shard` or the Kubernetes job's completion index).
fn resolve_shard(config: &Config) -> Result<Option<Shard>, u8> {
    let Some(shard) = config.shard else {
        return Ok(None);
    };
    let job_index = std::env::var(config::JOB_COMPLETION_INDEX).ok();
    shard
        .resolve(job_index.as_deref())
        .map(Some)
        .map_err(|(key, message)| {
            eprintln!("cloudmarker: error: shard.{key}: {message}");
            exit::CONFIG
        })
}

/// Opens the findings state once before any audit runs, which brings its
/// schema up to this version's: a state this binary cannot use (a newer
/// schema) is a configuration error and nothing runs. Other failures are
/// left to each audit (logged, and the run fails).
fn check_state(config: &Config) -> Result<(), u8> {
    let state = config.state.clone().unwrap_or_default();
    if !state.enabled() {
        return Ok(());
    }
    match state.open() {
        Err(e) if e.config => {
            log::error!(target: LOG_TARGET, "{e}");
            eprintln!("cloudmarker: error: {e}");
            Err(exit::CONFIG)
        }
        _ => Ok(()),
    }
}

/// The audit notification emails (checked by `Config::from_loaded`).
fn notifier(config: &Config) -> notify::Notifier {
    let notifier = notify::Notifier::from_config(config.email.as_ref()).unwrap_or_else(|e| {
        log::error!(target: LOG_TARGET, "{e}");
        notify::Notifier::disabled()
    });
    notifier.log_if_disabled();
    notifier
}
