//! `cloudmarker plugins list|inspect`: the plugins on the search path.

use super::Warnings;
use crate::cli::{Cli, PluginsCommand};
use crate::exit;
use crate::plugins::{catalog, Registry};

/// Runs `plugins <action>`.
pub fn run(cli: &Cli, action: &PluginsCommand) -> u8 {
    let registry = super::build_registry(cli, Warnings::Stderr);
    match action {
        PluginsCommand::List { format } => list(&registry, format),
        PluginsCommand::Inspect { plugin } => inspect(&registry, plugin),
    }
}

/// Every library on the search path, as a table, JSON, or the Markdown
/// table of docs/plugins.md.
fn list(registry: &Registry, format: &str) -> u8 {
    let entries = catalog::list(registry);
    match format {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&entries).unwrap_or_default()
        ),
        "markdown" => print!("{}", catalog::markdown(registry, &entries)),
        _ => print!("{}", catalog::table(&entries)),
    }
    exit::SUCCESS
}

/// One plugin, by name or library path.
fn inspect(registry: &Registry, plugin: &str) -> u8 {
    match catalog::inspect(registry, plugin) {
        Ok(text) => {
            print!("{text}");
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("cloudmarker: error: {e}");
            exit::PLUGIN_FAILED
        }
    }
}
