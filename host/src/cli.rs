//! The command line.

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

const AFTER_HELP: &str = r#"Configuration cascade:
  The built-in base config (see --print-base-config) is always loaded first.
  Then these files are merged over it in order, skipping missing ones:
    /etc/cloudmarker.yaml, ~/.cloudmarker.yaml, ~/cloudmarker.yaml, ./cloudmarker.yaml
  With -c/--config, the files given are used instead of that list (and -c
  with no files means the base config alone). Mappings merge key by key and
  the later file wins; lists and other values are replaced whole.

Plugins:
  A `plugin:` value is a library path, a bare name looked up as lib<name>.so
  in --plugin-dir, CLOUDMARKER_PLUGIN_PATH, the executable's directory and
  <exe dir>/../lib/cloudmarker/plugins, or an original Cloudmarker class name
  such as cloudmarker.clouds.mockcloud.MockCloud.

Schedule:
  Without -n, cloudmarker runs the audits every time `schedule` comes round:
  "HH:MM" (every day) or a cron expression ("*/15 * * * *", or six fields
  with seconds first), in local time or the IANA zone given as `timezone`.
  Runs never overlap. SIGINT/SIGTERM while idle exits at once; during a run,
  clouds stop, stores and alerts flush, and cloudmarker exits within
  `shutdown_grace_period` seconds (30); a second signal exits at once.

Exit status:
  0 all audits succeeded (or stopped while idle); 1 a plugin failed;
  2 the configuration is invalid; 128+N a run was interrupted by signal N."#;

/// Cloud monitoring tool and framework.
#[derive(Debug, Clone, Parser)]
#[command(name = "cloudmarker", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print the version and exit (the original's `-v`; `-V` works too).
    #[arg(short = 'v', action = clap::ArgAction::Version)]
    pub version_v: (),

    /// Run the audits now and exit, instead of waiting for the schedule.
    #[arg(short = 'n', long)]
    pub now: bool,

    /// Wait for the next scheduled time, run the audits once, and exit.
    #[arg(long, conflicts_with = "now")]
    pub once: bool,

    /// Config files to merge over the base config, in order (instead of the
    /// default cascade).
    #[arg(short = 'c', long, value_name = "FILE", num_args = 0.., global = true)]
    pub config: Option<Vec<PathBuf>>,

    /// No summary table after `-n` on a terminal.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Print the built-in base config and exit.
    #[arg(short = 'p', long)]
    pub print_base_config: bool,

    /// A directory to search for plugin libraries first (repeatable).
    #[arg(long = "plugin-dir", value_name = "DIR", global = true)]
    pub plugin_dirs: Vec<PathBuf>,

    /// Load plugin libraries even when other users could change them (the
    /// file or its directory writable by group or others, or owned by
    /// another user).
    #[arg(long, global = true)]
    pub allow_insecure_plugins: bool,

    /// Run every plugin instance in its own process (as `isolation:
    /// process` does for one plugin), so that a crash takes down only that
    /// plugin.
    #[arg(long)]
    pub isolate_plugins: bool,

    /// Read only shard INDEX of COUNT (from 0) of every cloud's
    /// subscriptions, projects and accounts, e.g. `--shard 2/8`; overrides
    /// `shard:` in the config. In a Kubernetes indexed Job:
    /// `--shard $(JOB_COMPLETION_INDEX)/8`.
    #[arg(long, value_name = "INDEX/COUNT", value_parser = cloudmarker_plugin_api::sdk::shard::Shard::parse)]
    pub shard: Option<cloudmarker_plugin_api::sdk::shard::Shard>,

    /// What to do instead of running audits.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Show the most recent runs from the run history.
    History {
        /// How many runs to show.
        #[arg(short = 'l', long, default_value_t = 20)]
        limit: usize,
    },
    /// List the findings (events across runs) and their status, or show
    /// one finding's history.
    Findings {
        /// Only findings in this status (new, open, regressed, resolved);
        /// may be repeated.
        #[arg(long, value_parser = parse_status)]
        status: Vec<crate::findings::Status>,
        /// Only findings of this severity (informational, low, medium,
        /// high, critical); may be repeated.
        #[arg(long, value_parser = parse_severity)]
        severity: Vec<cloudmarker_plugin_api::sdk::check::Severity>,
        /// How to print them.
        #[arg(long, value_enum, default_value_t = FindingsFormat::Table)]
        format: FindingsFormat,
        /// `show ID`: one finding's history.
        #[command(subcommand)]
        show: Option<FindingsCommand>,
    },
    /// Export the findings state (findings, their history, summaries and
    /// the run history) as JSON Lines, or import such a file into an empty
    /// state: to move between SQLite and PostgreSQL, and to back up.
    State {
        /// What to do.
        #[command(subcommand)]
        action: StateCommand,
    },
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `cloudmarker man > cloudmarker.1`.
    Man,
    /// Check the configuration and every plugin that `run` uses (found,
    /// loadable, params matching its schema) without running anything; exit
    /// 0, or 2 with every problem.
    Validate {
        /// Also run each plugin's health check (reach and authenticate to
        /// its servers, change nothing) and print the results; exit 1 when
        /// one fails.
        #[arg(long)]
        connect: bool,
    },
    /// The merged configuration.
    Config {
        /// What to do.
        #[command(subcommand)]
        action: ConfigCommand,
    },
    /// Each requirement of a benchmark framework with its status (pass,
    /// fail, not evaluated, manual), section totals and the score, from the
    /// findings database; exit 0 (a report is not a failure), 2 for an
    /// unknown framework.
    Compliance {
        /// The framework's id, e.g. `cis_azure_6.0.0`; without a value (or
        /// without the option), the known frameworks.
        #[arg(long, value_name = "ID", num_args = 0..=1, default_missing_value = "")]
        framework: Option<String>,
        /// How to print it.
        #[arg(long, value_enum, default_value_t = FindingsFormat::Table)]
        format: FindingsFormat,
        /// Only the findings and summaries of this audit (default: all).
        #[arg(long, value_name = "AUDIT")]
        audit: Option<String>,
    },
    /// Write one self-contained HTML report (no network needed to read it):
    /// open findings by severity, what changed, the trend over the last
    /// runs, compliance per framework, the worst scopes and services, the
    /// findings table and what was not evaluated.
    Report {
        /// The file to write.
        #[arg(
            short = 'o',
            long,
            value_name = "FILE",
            default_value = "cloudmarker-report.html"
        )]
        output: PathBuf,
        /// A framework's id (may be repeated); default: the frameworks of
        /// the clouds in the findings database.
        #[arg(long, value_name = "ID")]
        framework: Vec<String>,
        /// Also count what changed since DATE (YYYY-MM-DD or RFC 3339;
        /// default: 7 days ago).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
    },
    /// Rules written in YAML with CEL (the rulesevent plugin's): list them,
    /// or run their test cases.
    Rules {
        /// What to do.
        #[command(subcommand)]
        action: RulesCommand,
    },
    /// The plugins installed on the search path.
    Plugins {
        /// What to do.
        #[command(subcommand)]
        action: PluginsCommand,
    },
    /// Internal: load one plugin library and report whether it is a good
    /// plugin (the host runs this in a child process before loading it).
    #[command(name = "__probe", hide = true)]
    Probe {
        /// The library file.
        path: PathBuf,
    },
    /// Internal: run one plugin of a library in this process, answering the
    /// host over stdin and stdout (`isolation: process`).
    #[command(name = "__plugin", hide = true)]
    Plugin {
        /// The library file.
        library: PathBuf,
        /// The plugin's name in it.
        name: String,
        /// The most verbose log level to send (1 = error .. 5 = trace).
        level: u8,
    },
}

/// `cloudmarker plugins ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum PluginsCommand {
    /// Every plugin library on the search path (--plugin-dir,
    /// CLOUDMARKER_PLUGIN_PATH, the executable's directory), each probed in a
    /// child process: name, kinds, versions, file, status.
    List {
        /// `table`, `json`, or `markdown` (the plugins that load, with
        /// their params and defaults: the table of docs/plugins.md).
        #[arg(long, default_value = "table", value_parser = ["table", "json", "markdown"])]
        format: String,
    },
    /// One plugin, by name or library path: what it does, its params with
    /// their defaults, and a config to paste.
    Inspect {
        /// A plugin name (`mockcloud`), an original class name, or a path.
        plugin: String,
    },
}

/// `cloudmarker rules ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum RulesCommand {
    /// Every rule of the rule files (the bundled packs when no PATH is
    /// given): id, severity, cloud, record types, title, and the framework
    /// requirements that map it. Exit 2 when a rule file is bad.
    List {
        /// Only the rules this framework (an id) maps.
        #[arg(long, value_name = "ID")]
        framework: Option<String>,
        /// `table` or `json`.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// Rule files or directories of them; `@bundled` stands for the
        /// bundled packs.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Runs every rule's test cases (records it must fail and records it
    /// must pass): exit 0 when every case agrees, 1 naming each case that
    /// does not, 2 when a rule file is bad.
    Test {
        /// Rule files or directories of them (default: the bundled packs);
        /// `@bundled` stands for the bundled packs.
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

/// `cloudmarker config ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Print the merged configuration (the cascade, or the `-c` files) with
    /// secret values as `***`.
    Show {
        /// One line per value with the file and line that set it.
        #[arg(long)]
        origin: bool,
    },
}

/// The command line with every `--plugin-dir DIR` (and `--plugin-dir=DIR`)
/// moved, in order, to just after the program name. The option is global,
/// and clap keeps only the values of the deepest level when it is given
/// both before and after a subcommand (`--plugin-dir a plugins list
/// --plugin-dir b` would search only `b`); at one level they add up.
pub fn hoist_plugin_dirs(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args = args.into_iter();
    let mut hoisted: Vec<OsString> = args.next().into_iter().collect();
    let mut rest = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--plugin-dir" {
            hoisted.push(arg);
            hoisted.extend(args.next());
        } else if arg.to_str().is_some_and(|a| a.starts_with("--plugin-dir=")) {
            hoisted.push(arg);
        } else if arg == "--" {
            rest.push(arg);
            rest.extend(args.by_ref());
        } else {
            rest.push(arg);
        }
    }
    hoisted.extend(rest);
    hoisted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_dirs_before_and_after_a_subcommand_add_up() {
        let args = [
            "cloudmarker",
            "--plugin-dir",
            "/a",
            "plugins",
            "list",
            "--plugin-dir=/b",
            "--plugin-dir",
            "/c",
        ];
        let cli = Cli::parse_from(hoist_plugin_dirs(args.iter().map(OsString::from)));
        assert_eq!(
            cli.plugin_dirs,
            [PathBuf::from("/a"), "/b".into(), "/c".into()]
        );
        assert!(matches!(cli.command, Some(Command::Plugins { .. })));
    }
}

/// How `cloudmarker findings` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FindingsFormat {
    /// A table for people.
    Table,
    /// One JSON array.
    Json,
    /// CSV with a header row.
    Csv,
}

/// `cloudmarker state ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum StateCommand {
    /// Write the whole state as JSON Lines (to stdout, or to FILE, created
    /// 0600).
    Export {
        /// The file to write (default: stdout).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Read an export into the configured state, which must hold no
    /// finding and no run yet (one transaction: all of it or nothing).
    Import {
        /// The export (`-` for stdin).
        #[arg(value_name = "FILE")]
        input: PathBuf,
    },
}

/// `cloudmarker findings show ID`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum FindingsCommand {
    /// One finding's history: every run that changed or saw it.
    Show {
        /// The finding id (`com.finding_id`).
        id: String,
    },
}

fn parse_status(text: &str) -> Result<crate::findings::Status, String> {
    crate::findings::Status::parse(text)
        .ok_or_else(|| format!("{text:?} is not a status (new, open, regressed, resolved)"))
}

fn parse_severity(text: &str) -> Result<cloudmarker_plugin_api::sdk::check::Severity, String> {
    serde_json::from_value(serde_json::Value::from(text)).map_err(|_| {
        format!("{text:?} is not a severity (informational, low, medium, high, critical)")
    })
}
