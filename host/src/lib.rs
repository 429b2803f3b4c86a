//! The cloudmarker host: configuration, plugin loading and the audit engine.
//!
//! `main.rs` only parses the command line and calls [`run`].

pub mod audit;
pub mod cli;
pub mod config;
pub mod findings;
pub mod history;
pub mod logging;
pub mod notify;
pub mod plugins;
pub mod record;
pub mod schedule;
pub mod service;
pub mod table;
pub mod validate;

use cli::{Cli, Command, ConfigCommand, PluginsCommand};
use config::{Config, ConfigError};
use plugins::{Registry, SearchPath};
use service::{Service, Shutdown};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit status when everything succeeded.
pub const EXIT_SUCCESS: u8 = 0;
/// Exit status when a plugin failed.
pub const EXIT_PLUGIN_FAILED: u8 = 1;
/// Exit status when the configuration is invalid.
pub const EXIT_CONFIG: u8 = 2;

/// The user's `cloudmarker` directory of one XDG kind: `$<xdg_var>/cloudmarker`
/// when that variable is an absolute path, else `$HOME/<home_default>/cloudmarker`.
pub fn user_dir(xdg_var: &str, home_default: &str) -> Option<PathBuf> {
    let xdg = std::env::var_os(xdg_var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let home = || std::env::var_os("HOME").map(|h| PathBuf::from(h).join(home_default));
    xdg.or_else(home).map(|d| d.join("cloudmarker"))
}

/// Runs cloudmarker as the command line asks.
pub fn run(cli: Cli) -> ExitCode {
    if cli.print_base_config {
        print!("{}", config::BASE_CONFIG);
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Probe { path }) = &cli.command {
        let status = plugins::probe::run_probe(path, |p| {
            plugins::load_library(p).map(|library| {
                library
                    .plugins
                    .iter()
                    .map(plugins::probe::ProbedInfo::of)
                    .collect()
            })
        });
        return ExitCode::from(status);
    }
    if let Some(Command::Plugin {
        library,
        name,
        level,
    }) = &cli.command
    {
        return ExitCode::from(plugins::isolate::run_child(library, name, *level));
    }
    match &cli.command {
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(*shell, &mut command, "cloudmarker", &mut std::io::stdout());
            return ExitCode::SUCCESS;
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            let page = clap_mangen::Man::new(Cli::command());
            return match page.render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("cloudmarker: error: cannot write the man page: {e}");
                    ExitCode::from(EXIT_PLUGIN_FAILED)
                }
            };
        }
        _ => {}
    }
    if let Some(Command::Plugins { action }) = &cli.command {
        return plugins_command(&cli, action);
    }
    if let Some(Command::Config {
        action: ConfigCommand::Show { origin },
    }) = &cli.command
    {
        return show_config(&cli, *origin);
    }
    let (mut config, loaded, files, mut warnings) = match load_config(&cli) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if cli.isolate_plugins {
        config.isolation = Some(config::Isolation::Process);
    }
    if let Some(shard) = cli.shard {
        config.shard = Some(config::ShardConfig {
            index: Some(shard.index),
            count: shard.count,
        });
    }
    if let Some(Command::History { limit }) = cli.command {
        return show_history(&config, limit);
    }
    if let Some(Command::Findings {
        status,
        severity,
        format,
        show,
    }) = &cli.command
    {
        return show_findings(&config, status, severity, *format, show.as_ref());
    }
    if let Some(Command::Validate { connect }) = cli.command {
        let (registry, warnings) = build_registry(&cli);
        for warning in warnings {
            eprintln!("cloudmarker: warning: {warning}");
        }
        let findings = validate::check(&config, &loaded, &registry);
        let valid = findings.unloadable.is_empty() && findings.problems.is_empty();
        for unloadable in &findings.unloadable {
            eprintln!("cloudmarker: error: {unloadable}");
        }
        if !findings.problems.is_empty() {
            eprintln!(
                "cloudmarker: error: {}",
                ConfigError::Invalid(findings.problems)
            );
        }
        if !valid {
            return ExitCode::from(EXIT_CONFIG);
        }
        println!(
            "The configuration is valid: {} audit(s) to run, every plugin found and its params checked.",
            config.run.len()
        );
        if !connect {
            return ExitCode::SUCCESS;
        }
        let checks = validate::connect(&config, &registry);
        print!("\n{}", validate::health_table(&checks));
        let failed = checks.iter().filter(|h| h.status == "failed").count();
        return if failed == 0 {
            ExitCode::SUCCESS
        } else {
            eprintln!("cloudmarker: error: {failed} plugin(s) failed their health check");
            ExitCode::from(EXIT_PLUGIN_FAILED)
        };
    }
    let (settings, logger_warnings) = logging::LogSettings::from_config(config.logger.as_ref());
    warnings.extend(logger_warnings);
    warnings.extend(logging::init(&settings));
    for warning in &warnings {
        log::warn!("{warning}");
    }
    log::info!("Config files merged over the base config: {files}.");
    let shutdown = Arc::new(Shutdown::default());
    if let Err(e) = service::handle_signals(Arc::clone(&shutdown), config.grace_period()) {
        log::warn!("Cannot handle SIGINT/SIGTERM, error: {e}");
    }
    let (registry, registry_warnings) = build_registry(&cli);
    for warning in registry_warnings {
        log::warn!("{warning}");
    }
    let findings = validate::check(&config, &loaded, &registry);
    if !findings.problems.is_empty() {
        for problem in &findings.problems {
            log::error!("Invalid configuration: {problem}");
        }
        eprintln!(
            "cloudmarker: error: {}",
            ConfigError::Invalid(findings.problems)
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    let shard = match config.shard.map(|shard| {
        let job_index = std::env::var(config::JOB_COMPLETION_INDEX).ok();
        shard.resolve(job_index.as_deref())
    }) {
        None => None,
        Some(Ok(shard)) => Some(shard),
        Some(Err((key, message))) => {
            eprintln!("cloudmarker: error: shard.{key}: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Checked by Config::from_loaded.
    let notifier = notify::Notifier::from_config(config.email.as_ref()).unwrap_or_else(|e| {
        log::error!("{e}");
        notify::Notifier::disabled()
    });
    notifier.log_if_disabled();
    let service = Service {
        config: &config,
        registry: &registry,
        shutdown,
        history: config.history_path(),
        notifier,
        summary: cli.now && !cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stdout()),
        shard,
    };
    let status = if cli.now {
        service.run_now()
    } else {
        match config.schedule() {
            Ok(schedule) => service.run_scheduled(&schedule, cli.once),
            Err(e) => {
                log::error!("Invalid configuration, error: {e}");
                EXIT_CONFIG
            }
        }
    };
    ExitCode::from(status)
}

/// The plugin registry of this run, probing libraries in a child process
/// and keeping what it found in the user's registry cache; returns warnings
/// about the search path to report.
fn build_registry(cli: &Cli) -> (Registry, Vec<String>) {
    let search_path = SearchPath::from_env(&cli.plugin_dirs);
    let mut warnings = search_path.ignored();
    let mut registry = Registry::new(search_path)
        .allowing_insecure_plugins(cli.allow_insecure_plugins)
        .with_cache(plugins::cache::Cache::for_user());
    match std::env::current_exe() {
        Ok(exe) => registry = registry.with_prober(exe),
        Err(e) => warnings.push(format!(
            "Cannot find the cloudmarker executable to probe plugin libraries in a child process ({e}); loading them directly."
        )),
    }
    (registry, warnings)
}

/// `cloudmarker config show [--origin]`: the merged config, secrets redacted
/// (each plugin's secret params from its schema, read by probing its library).
fn show_config(cli: &Cli, origin: bool) -> ExitCode {
    let files = match &cli.config {
        Some(files) => files.clone(),
        None => config::default_files(std::env::var_os("HOME").map(PathBuf::from).as_deref()),
    };
    let loaded = match config::load(&files, |_| {}) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let (registry, _) = build_registry(cli);
    let schema_of = |plugin: &str| -> Option<serde_json::Value> {
        let reference = plugins::PluginRef::parse(plugin, None);
        let (path, name) = registry.find("show", plugin, reference).ok()?;
        let found = registry.probed(&path).ok()?;
        let info = match name {
            Some(name) => found.into_iter().find(|p| p.name == name)?,
            None => found.into_iter().next()?,
        };
        let params: serde_json::Value = serde_json::from_str(&info.params).ok()?;
        cloudmarker_plugin_api::sdk::schema::parse(&params).1
    };
    let shown = config::show::redacted(&loaded, schema_of);
    if origin {
        print!("{}", config::show::with_origin(&loaded, &shown));
    } else {
        print!("{}", config::show::yaml(&shown));
    }
    ExitCode::SUCCESS
}

/// `cloudmarker plugins list|inspect`.
fn plugins_command(cli: &Cli, action: &PluginsCommand) -> ExitCode {
    let (registry, warnings) = build_registry(cli);
    for warning in warnings {
        eprintln!("cloudmarker: warning: {warning}");
    }
    match action {
        PluginsCommand::List { format } => {
            let entries = plugins::catalog::list(&registry);
            if format == "json" {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&entries).unwrap_or_default()
                );
            } else {
                print!("{}", plugins::catalog::table(&entries));
            }
            ExitCode::SUCCESS
        }
        PluginsCommand::Inspect { plugin } => match plugins::catalog::inspect(&registry, plugin) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cloudmarker: error: {e}");
                ExitCode::from(EXIT_PLUGIN_FAILED)
            }
        },
    }
}

/// Loads and checks the configuration; returns it, the files merged (for
/// the log) and warnings to log.
fn load_config(
    cli: &Cli,
) -> Result<(Config, config::LoadedConfig, String, Vec<String>), ConfigError> {
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
    Ok((config, loaded, used, warnings))
}

/// Prints the recent runs of the history as a table.
/// `cloudmarker findings`: lists the findings database, or one finding's
/// history.
fn show_findings(
    config: &Config,
    statuses: &[findings::Status],
    severities: &[cloudmarker_plugin_api::sdk::check::Severity],
    format: cli::FindingsFormat,
    show: Option<&cli::FindingsCommand>,
) -> ExitCode {
    let Some(path) = config.state.clone().unwrap_or_default().path() else {
        eprintln!("cloudmarker: error: no findings database: set state: {{path: ...}}");
        return ExitCode::from(EXIT_CONFIG);
    };
    if !path.exists() {
        println!("No findings recorded in {} yet.", path.display());
        return ExitCode::SUCCESS;
    }
    let state = match findings::state::State::open(&path) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            return ExitCode::from(EXIT_PLUGIN_FAILED);
        }
    };
    let printed = match show {
        Some(cli::FindingsCommand::Show { id }) => match findings::list::show(&state, id) {
            Ok(Some(text)) => Ok(text),
            Ok(None) => {
                eprintln!("cloudmarker: error: no finding {id} in {}", path.display());
                return ExitCode::from(EXIT_PLUGIN_FAILED);
            }
            Err(e) => Err(e),
        },
        None => findings::list::render(&state, statuses, severities, format),
    };
    match printed {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cloudmarker: error: cannot read {}: {e}", path.display());
            ExitCode::from(EXIT_PLUGIN_FAILED)
        }
    }
}

fn show_history(config: &Config, limit: usize) -> ExitCode {
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
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("No runs recorded in {} yet.", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "cloudmarker: error: cannot read the run history {}: {e}",
                path.display()
            );
            ExitCode::from(EXIT_PLUGIN_FAILED)
        }
    }
}
