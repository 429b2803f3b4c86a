//! `cloudmarker config show [--origin]`: the merged config, secrets
//! redacted (each plugin's secret params from its schema, read by probing
//! its library).

use super::Warnings;
use crate::cli::{Cli, ConfigCommand};
use crate::plugins::{PluginRef, Registry};
use crate::{config, exit};

/// Runs `config <action>`.
pub fn run(cli: &Cli, action: &ConfigCommand) -> u8 {
    match action {
        ConfigCommand::Show { origin } => show(cli, *origin),
    }
}

/// Prints the merged config; with `origin`, one line per value with the
/// file and line that set it.
fn show(cli: &Cli, origin: bool) -> u8 {
    let loaded = match config::load(&super::config_files(cli), |_| {}) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            return exit::CONFIG;
        }
    };
    let registry = super::build_registry(cli, Warnings::Silent);
    let shown = config::show::redacted(&loaded, |plugin| param_schema(&registry, plugin));
    if origin {
        print!("{}", config::show::with_origin(&loaded, &shown));
    } else {
        print!("{}", config::show::yaml(&shown));
    }
    exit::SUCCESS
}

/// The param schema of the plugin a `plugin:` value names, if it can be
/// found and probed.
fn param_schema(registry: &Registry, plugin: &str) -> Option<serde_json::Value> {
    let reference = PluginRef::parse(plugin, None);
    let (path, name) = registry.find("show", plugin, reference).ok()?;
    let found = registry.probed(&path).ok()?;
    let info = match name {
        Some(name) => found.into_iter().find(|p| p.name == name)?,
        None => found.into_iter().next()?,
    };
    let params: serde_json::Value = serde_json::from_str(&info.params).ok()?;
    cloudmarker_plugin_api::sdk::schema::parse(&params).1
}
