//! The subcommands of `cloudmarker`, one module each (the audits
//! themselves, run without a subcommand, are [`run`]), and what several of
//! them share: the configuration with the command line's overrides, and the
//! plugin registry.
//!
//! Each command returns its exit status (see [`crate::exit`]).

pub mod base_config;
pub mod completions;
pub mod compliance;
pub mod config;
pub mod findings;
pub mod history;
pub mod man;
pub mod plugin;
pub mod plugins;
pub mod probe;
pub mod report;
pub mod rules;
pub mod run;
pub mod state;
pub mod validate;

use crate::cli::Cli;
use crate::config::{self as cfg, Config, ConfigError, LoadedConfig};
use crate::plugins::{Registry, SearchPath};
use crate::{dirs, exit};
use std::path::PathBuf;

/// The target of the commands' log lines: the crate's name, as before they
/// had modules of their own (`WARN main cloudmarker - ...`).
pub const LOG_TARGET: &str = "cloudmarker";

/// The configuration a command runs with.
pub struct Loaded {
    /// The checked configuration, with the command line's overrides.
    pub config: Config,
    /// The merged configuration it came from (for problems' files and lines).
    pub loaded: LoadedConfig,
    /// The files merged over the base config, for the log (`none` if none).
    pub files: String,
    /// Warnings to report (config files given with `-c` that do not exist).
    pub warnings: Vec<String>,
}

/// Reports a findings state that cannot be opened or read on stderr and
/// gives its exit status: [`exit::CONFIG`] for a configuration error (a
/// state newer than the binary, both `url` and `path`), else
/// [`exit::PLUGIN_FAILED`].
pub fn state_error(e: &crate::findings::state::OpenError) -> u8 {
    eprintln!("cloudmarker: error: {e}");
    if e.config {
        exit::CONFIG
    } else {
        exit::PLUGIN_FAILED
    }
}

/// Loads and checks the configuration and applies `--isolate-plugins` and
/// `--shard`; an invalid one is reported on stderr and gives
/// [`exit::CONFIG`].
pub fn load_config(cli: &Cli) -> Result<Loaded, u8> {
    let mut loaded = read_config(cli).map_err(|e| {
        eprintln!("cloudmarker: error: {e}");
        exit::CONFIG
    })?;
    if cli.isolate_plugins {
        loaded.config.isolation = Some(cfg::Isolation::Process);
    }
    if let Some(shard) = cli.shard {
        loaded.config.shard = Some(cfg::ShardConfig {
            index: Some(shard.index),
            count: shard.count,
        });
    }
    Ok(loaded)
}

/// [`load_config`] and the compliance frameworks it names; a framework
/// that cannot be read is reported on stderr and gives [`exit::CONFIG`].
pub fn load_frameworks(cli: &Cli) -> Result<(Config, ::rules::framework::Frameworks), u8> {
    let config = load_config(cli)?.config;
    let frameworks = crate::compliance::load(&config).map_err(|e| {
        eprintln!("cloudmarker: error: {e}");
        exit::CONFIG
    })?;
    Ok((config, frameworks))
}

fn read_config(cli: &Cli) -> Result<Loaded, ConfigError> {
    let mut warnings = Vec::new();
    let explicit = cli.config.is_some();
    let loaded = cfg::load(&config_files(cli), |missing| {
        if explicit {
            warnings.push(format!(
                "Config file {} does not exist; skipping it.",
                missing.display()
            ));
        }
    })?;
    let mut config = Config::from_loaded(&loaded)?;
    if let Some(dir) = rules::bundled_rules_dir(&cli.plugin_dirs) {
        let aliases = crate::plugins::aliases::bundled(&dir);
        for key in crate::plugins::aliases::expand(&mut config, &aliases) {
            log::debug!(
                target: LOG_TARGET,
                "plugins.{key}: its plugin is bundled rules now; running them with {}.",
                crate::plugins::aliases::RULES_PLUGIN
            );
        }
    }
    let files: Vec<String> = loaded
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let files = if files.is_empty() {
        "none".to_string()
    } else {
        files.join(", ")
    };
    Ok(Loaded {
        config,
        loaded,
        files,
        warnings,
    })
}

/// The config files to merge over the base config: `-c`'s, else the
/// default cascade.
pub fn config_files(cli: &Cli) -> Vec<PathBuf> {
    match &cli.config {
        Some(files) => files.clone(),
        None => cfg::default_files(dirs::home().as_deref()),
    }
}

/// How a command reports the registry's warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warnings {
    /// In the log (commands that run audits).
    Log,
    /// On stderr (commands that print for a person and set up no log).
    Stderr,
    /// Nowhere (`config show`, which only reads the plugins' schemas).
    Silent,
}

/// The plugin registry of this run, probing libraries in a child process
/// and keeping what it found in the user's registry cache. Warnings about
/// the search path are reported now, those about libraries passed over
/// when they come up, both as `warnings` says.
pub fn build_registry(cli: &Cli, warnings: Warnings) -> Registry {
    let warn: fn(&str) = match warnings {
        Warnings::Log => |warning| log::warn!(target: LOG_TARGET, "{warning}"),
        Warnings::Stderr => |warning| eprintln!("cloudmarker: warning: {warning}"),
        Warnings::Silent => |_| {},
    };
    let search_path = SearchPath::from_env(&cli.plugin_dirs);
    search_path.ignored().iter().for_each(|w| warn(w));
    let registry = Registry::new(search_path)
        .allowing_insecure_plugins(cli.allow_insecure_plugins)
        .with_cache(crate::plugins::cache::Cache::for_user())
        .reporting_warnings_to(warn);
    match std::env::current_exe() {
        Ok(exe) => registry.with_prober(exe),
        Err(e) => {
            warn(&format!(
                "Cannot find the cloudmarker executable to probe plugin libraries in a child process ({e}); loading them directly."
            ));
            registry
        }
    }
}
