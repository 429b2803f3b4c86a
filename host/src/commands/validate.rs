//! `cloudmarker validate [--connect]`: checks the configuration and every
//! plugin that `run` uses without running anything; with `--connect`, also
//! each plugin's health check.

use super::Warnings;
use crate::cli::Cli;
use crate::config::{Config, ConfigError};
use crate::plugins::Registry;
use crate::{exit, validate};

/// Validates; exit 0, 2 with every problem, or 1 when a health check fails.
pub fn run(cli: &Cli, connect: bool) -> u8 {
    let loaded = match super::load_config(cli) {
        Ok(loaded) => loaded,
        Err(status) => return status,
    };
    let registry = super::build_registry(cli, Warnings::Stderr);
    let findings = validate::check(&loaded.config, &loaded.loaded, &registry);
    for unloadable in &findings.unloadable {
        eprintln!("cloudmarker: error: {unloadable}");
    }
    let valid = findings.unloadable.is_empty() && findings.problems.is_empty();
    if !findings.problems.is_empty() {
        eprintln!(
            "cloudmarker: error: {}",
            ConfigError::Invalid(findings.problems)
        );
    }
    if !valid {
        return exit::CONFIG;
    }
    println!(
        "The configuration is valid: {} audit(s) to run, every plugin found and its params checked.",
        loaded.config.run.len()
    );
    if connect {
        health_checks(&loaded.config, &registry)
    } else {
        exit::SUCCESS
    }
}

/// Runs every plugin's health check and prints the results.
fn health_checks(config: &Config, registry: &Registry) -> u8 {
    let checks = validate::connect(config, registry);
    print!("\n{}", validate::health_table(&checks));
    let failed = checks.iter().filter(|h| h.status == "failed").count();
    if failed == 0 {
        exit::SUCCESS
    } else {
        eprintln!("cloudmarker: error: {failed} plugin(s) failed their health check");
        exit::PLUGIN_FAILED
    }
}
