//! The typed configuration and its validation (pure: no files, no plugins).

use super::{ConfigError, LoadedConfig, Problem, Source};
use crate::logging::LoggerConfig;
use crate::schedule::{Schedule, ScheduleError};
use cloudmarker_plugin_api::sdk::schema::kind_of;
use cloudmarker_plugin_api::sdk::shard::Shard;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use smtp::EmailParams;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The configuration cloudmarker runs with.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Plugin configs by key.
    pub plugins: BTreeMap<String, PluginConfig>,
    /// Audit configs by key.
    pub audits: BTreeMap<String, AuditConfig>,
    /// The audits to run.
    pub run: Vec<String>,
    /// When to run without `--now`: `HH:MM` every day, or a cron expression.
    pub schedule: Option<String>,
    /// The IANA time zone of `schedule` (default: local time).
    pub timezone: Option<String>,
    /// Seconds a run may take to wind down after a shutdown signal.
    pub shutdown_grace_period: Option<f64>,
    /// The run history.
    pub history: Option<HistoryConfig>,
    /// The logging config (the original's Python `dictConfig` mapping).
    pub logger: Option<LoggerConfig>,
    /// Audit notification email settings (the `emailalert` params).
    pub email: Option<EmailParams>,
    /// Where plugin instances run unless their entry says otherwise.
    pub isolation: Option<Isolation>,
    /// The findings database.
    pub state: Option<crate::findings::StateConfig>,
    /// Findings accepted for a while.
    pub mutes: Option<Vec<crate::findings::mutes::Mute>>,
    /// This process's part of a sharded run (`--shard` overrides it).
    pub shard: Option<ShardConfig>,
    /// Benchmark framework files (or directories of them) read with the
    /// bundled ones; one with a bundled framework's id replaces it.
    pub frameworks: Option<Vec<String>>,
}

/// The `shard:` mapping: this process reads shard `index` of `count`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardConfig {
    /// Which shard, from 0 (default: `JOB_COMPLETION_INDEX`, which a
    /// Kubernetes indexed Job sets in each pod).
    #[serde(default)]
    pub index: Option<u32>,
    /// How many shards.
    pub count: u32,
}

/// The variable in which a Kubernetes indexed Job gives each pod its index.
pub const JOB_COMPLETION_INDEX: &str = "JOB_COMPLETION_INDEX";

impl ShardConfig {
    /// The shard, with `index` defaulting to `job_index` (the value of
    /// `JOB_COMPLETION_INDEX`); an error names the key.
    pub fn resolve(&self, job_index: Option<&str>) -> Result<Shard, (&'static str, String)> {
        let index = match (self.index, job_index) {
            (Some(index), _) => index,
            (None, Some(text)) => text.trim().parse().map_err(|_| {
                (
                    "index",
                    format!("is not set, and {JOB_COMPLETION_INDEX} ({text:?}) is not a whole number"),
                )
            })?,
            (None, None) => {
                return Err((
                    "index",
                    format!("is not set, and neither is {JOB_COMPLETION_INDEX} (a Kubernetes indexed Job sets it)"),
                ))
            }
        };
        Shard::new(index, self.count).map_err(|e| {
            let key = if self.count == 0 { "count" } else { "index" };
            (key, e)
        })
    }
}

/// Where a plugin instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// In the host process (the default): fastest, but a crash of the
    /// plugin's native code takes the host down.
    InProcess,
    /// In a child process of its own, with optional limits.
    Process,
}

/// The `history:` mapping.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// The history file (one JSON line per run).
    #[serde(default)]
    pub path: Option<String>,
}

/// One entry under `plugins:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// A library path, a bare plugin name, or an original class name.
    pub plugin: String,
    /// The plugin's parameters (a mapping).
    #[serde(default)]
    pub params: Option<Value>,
    /// Where this plugin's instances run (default: the top-level
    /// `isolation`, else in the host process).
    #[serde(default)]
    pub isolation: Option<Isolation>,
    /// With `isolation: process`: the child's memory limit, in bytes or as a
    /// size such as `512MiB`.
    #[serde(default)]
    pub memory_limit: Option<ByteSize>,
    /// With `isolation: process`: seconds the whole run of the plugin may take.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// With `isolation: process`: seconds one call may take.
    #[serde(default)]
    pub call_timeout: Option<f64>,
    /// An event plugin's severity for all its events, instead of its own.
    #[serde(default)]
    pub severity: Option<cloudmarker_plugin_api::sdk::check::Severity>,
    /// An alert plugin's findings: `all`, or a list of statuses (default:
    /// `[new, regressed, resolved]` for plugins that notify people, else
    /// `all`).
    #[serde(default)]
    pub notify: Option<crate::findings::Notify>,
    /// The directory of the file that set `plugin` (None: the base config).
    #[serde(skip)]
    pub config_dir: Option<PathBuf>,
    /// The `plugin:` value as written when it named a plugin that bundled
    /// rules answer to, and `plugin` became `rulesevent` (see
    /// [`crate::plugins::aliases`]).
    #[serde(skip)]
    pub alias_of: Option<String>,
}

/// A number of bytes, written as an integer or as a size with a unit
/// (`512MiB`, `2GiB`, `100MB`, `64k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(Self(n)),
            Raw::Text(text) => parse_size(&text).map(Self).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{text:?} is not a size; write bytes or a size such as 512MiB or 2GiB"
                ))
            }),
        }
    }
}

/// `512MiB` -> 536870912. Units: B, k/K/KB (1000), KiB (1024), M/MB, MiB,
/// G/GB, GiB.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "k" | "K" | "KB" | "kB" => 1_000,
        "KiB" => 1 << 10,
        "M" | "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "G" | "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return None,
    };
    let bytes = number * factor as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

impl PluginConfig {
    /// The limits of an isolated instance of this plugin.
    pub fn limits(&self) -> crate::plugins::isolate::Limits {
        crate::plugins::isolate::Limits {
            memory_limit: self.memory_limit.map(|m| m.0),
            timeout: self.timeout.map(Duration::from_secs_f64),
            call_timeout: self.call_timeout.map(Duration::from_secs_f64),
        }
    }

    /// The parameters as JSON text for the plugin (`{}` when none are set).
    pub fn params_json(&self) -> String {
        match &self.params {
            Some(Value::Object(map)) => Value::Object(map.clone()).to_string(),
            _ => "{}".to_string(),
        }
    }
}

/// One entry under `audits:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Cloud plugin keys.
    #[serde(default)]
    pub clouds: Vec<String>,
    /// Store plugin keys.
    #[serde(default)]
    pub stores: Vec<String>,
    /// Event plugin keys.
    #[serde(default)]
    pub events: Vec<String>,
    /// Alert plugin keys.
    #[serde(default)]
    pub alerts: Vec<String>,
}

/// The role a plugin plays in an audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Listed under `clouds:`.
    Cloud,
    /// Listed under `events:`.
    Event,
    /// Listed under `stores:`.
    Store,
    /// Listed under `alerts:`.
    Alert,
}

impl Role {
    /// The roles in the order an audit lists them.
    pub const ALL: [Role; 4] = [Role::Cloud, Role::Store, Role::Event, Role::Alert];

    /// The audit key that lists plugins of this role (`clouds`, ...).
    pub fn list_key(self) -> &'static str {
        match self {
            Self::Cloud => "clouds",
            Self::Event => "events",
            Self::Store => "stores",
            Self::Alert => "alerts",
        }
    }

    /// The role's name as records carry it (`cloud`, `store`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Cloud => "cloud",
            Self::Event => "event",
            Self::Store => "store",
            Self::Alert => "alert",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl AuditConfig {
    /// The plugin keys listed for `role`.
    pub fn keys(&self, role: Role) -> &[String] {
        match role {
            Role::Cloud => &self.clouds,
            Role::Event => &self.events,
            Role::Store => &self.stores,
            Role::Alert => &self.alerts,
        }
    }
}

impl Config {
    /// Builds the typed config from the merged cascade and checks it. Every
    /// problem is reported at once, each naming its key and the file that set it.
    pub fn from_loaded(loaded: &LoadedConfig) -> Result<Self, ConfigError> {
        let mut problems = unknown_keys(loaded);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        let mut config = typed(loaded, &mut problems);
        if !problems.is_empty() {
            // Values can still be checked; references need a whole config.
            config.check_values(loaded, &mut problems);
            return Err(ConfigError::Invalid(problems));
        }
        for (key, plugin) in &mut config.plugins {
            plugin.config_dir = loaded
                .provenance
                .source_of(&["plugins", key, "plugin"])
                .and_then(Source::dir)
                .map(PathBuf::from);
        }
        config.check_values(loaded, &mut problems);
        config.check_references(loaded, &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The parsed schedule (checked by [`Config::from_loaded`]).
    pub fn schedule(&self) -> Result<Schedule, ScheduleError> {
        Schedule::parse(
            self.schedule.as_deref().unwrap_or("00:00"),
            self.timezone.as_deref(),
        )
    }

    /// The grace period after a shutdown signal.
    pub fn grace_period(&self) -> Duration {
        self.shutdown_grace_period.map_or(
            crate::service::DEFAULT_GRACE_PERIOD,
            Duration::from_secs_f64,
        )
    }

    /// The history file.
    pub fn history_path(&self) -> PathBuf {
        let path = self.history.as_ref().and_then(|h| h.path.as_deref());
        match path {
            Some(path) => cloudmarker_plugin_api::sdk::files::expand_tilde(path),
            None => crate::history::default_path(),
        }
    }

    /// Checks the values that need nothing else: schedule, time zone,
    /// grace period, email, plugin entries.
    fn check_values(&self, loaded: &LoadedConfig, problems: &mut Vec<Problem>) {
        let mut problem = |path: &[&str], message: String| {
            problems.push(Problem::at(loaded, path, message));
        };
        if let Err(e) = self.schedule() {
            problem(&[e.key], e.message);
        }
        if let Some(grace) = self.shutdown_grace_period {
            if !(grace.is_finite() && grace >= 0.0) {
                problem(
                    &["shutdown_grace_period"],
                    format!("must be a number of seconds, 0 or more, not {grace}"),
                );
            }
        }
        if let Err(e) = crate::notify::Notifier::from_config(self.email.as_ref()) {
            problem(&["email"], e);
        }
        if let Some(shard) = &self.shard {
            // The index may come from the environment when the run starts.
            if let Err((key, message)) = shard.resolve(Some("0")) {
                problem(&["shard", key], message);
            }
        }
        for (index, mute) in self.mutes.iter().flatten().enumerate() {
            let index = index.to_string();
            if mute.reason.trim().is_empty() {
                problem(
                    &["mutes", &index, "reason"],
                    "must say why the findings are muted".into(),
                );
            }
            if mute.matches.is_empty() {
                problem(
                    &["mutes", &index, "match"],
                    "names no field, so it would mute every finding; give record_type, reference, audit, cloud_type or finding_id".into(),
                );
            }
        }
        for (key, plugin) in &self.plugins {
            match &plugin.params {
                None | Some(Value::Object(_)) | Some(Value::Null) => {}
                Some(other) => problem(
                    &["plugins", key, "params"],
                    format!("must be a mapping, not {}", kind_of(other)),
                ),
            }
            if plugin.plugin.trim().is_empty() {
                problem(&["plugins", key, "plugin"], "is empty".into());
            }
            for (name, seconds) in [
                ("timeout", plugin.timeout),
                ("call_timeout", plugin.call_timeout),
            ] {
                if let Some(seconds) = seconds.filter(|s| !(s.is_finite() && *s > 0.0)) {
                    problem(
                        &["plugins", key, name],
                        format!("must be a positive number of seconds, not {seconds}"),
                    );
                }
            }
            if plugin.memory_limit.is_some_and(|m| m.0 < 16 << 20) {
                problem(
                    &["plugins", key, "memory_limit"],
                    "must be at least 16MiB (a process needs that much to start)".into(),
                );
            }
        }
    }

    /// Checks that `run` names defined audits and audits defined plugins,
    /// each once.
    fn check_references(&self, loaded: &LoadedConfig, problems: &mut Vec<Problem>) {
        let mut problem = |path: &[&str], message: String| {
            problems.push(Problem::at(loaded, path, message));
        };
        for audit_key in &self.run {
            let Some(audit) = self.audits.get(audit_key) else {
                problem(
                    &["run"],
                    format!(
                        "lists audit {audit_key:?}, which is not defined under audits (defined: {})",
                        names(self.audits.keys())
                    ),
                );
                continue;
            };
            for role in Role::ALL {
                let list = role.list_key();
                let mut seen = HashSet::new();
                for key in audit.keys(role) {
                    let path = ["audits", audit_key.as_str(), list];
                    if !self.plugins.contains_key(key) {
                        problem(
                            &path,
                            format!(
                                "lists plugin {key:?}, which is not defined under plugins (defined: {})",
                                names(self.plugins.keys())
                            ),
                        );
                    }
                    if !seen.insert(key) {
                        problem(&path, format!("lists plugin {key:?} twice"));
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        for audit_key in &self.run {
            if !seen.insert(audit_key) {
                problem(&["run"], format!("lists audit {audit_key:?} twice"));
            }
        }
    }
}

/// The keys cloudmarker reads at the top level of a config.
pub const TOP_LEVEL_KEYS: [&str; 14] = [
    "plugins",
    "audits",
    "run",
    "schedule",
    "timezone",
    "shutdown_grace_period",
    "history",
    "logger",
    "email",
    "isolation",
    "state",
    "mutes",
    "shard",
    "frameworks",
];
const PLUGIN_KEYS: [&str; 8] = [
    "plugin",
    "params",
    "isolation",
    "memory_limit",
    "timeout",
    "call_timeout",
    "severity",
    "notify",
];
const AUDIT_KEYS: [&str; 4] = ["clouds", "stores", "events", "alerts"];

/// Keys that cloudmarker does not know, at the top level, in a plugin entry
/// or in an audit, each with the file that set it and a suggestion when the
/// key looks like a misspelt known one. A typo must never silently fall
/// back to a default (`audit:` instead of `audits:` would run the built-in
/// mock audit).
fn unknown_keys(loaded: &LoadedConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Value::Object(top) = &loaded.value else {
        return problems;
    };
    let mut check = |map: &serde_json::Map<String, Value>, path: &[&str], known: &[&str]| {
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            let mut key_path = path.to_vec();
            key_path.push(key);
            problems.push(Problem::at(
                loaded,
                &key_path,
                format!(
                    "unknown key{}; the keys here are {}",
                    did_you_mean(key, known),
                    known.join(", ")
                ),
            ));
        }
    };
    check(top, &[], &TOP_LEVEL_KEYS);
    for (section, known) in [("plugins", &PLUGIN_KEYS[..]), ("audits", &AUDIT_KEYS[..])] {
        if let Some(Value::Object(entries)) = top.get(section) {
            for (name, entry) in entries {
                if let Value::Object(entry) = entry {
                    check(entry, &[section, name], known);
                }
            }
        }
    }
    problems
}

/// ` (did you mean `x`?)` when `key` is close to one of `known`.
pub fn did_you_mean(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k), k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(1))
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// Deserializes the merged value section by section, so that a type error
/// in one top-level key does not hide those in the others; each becomes a
/// problem with its key path.
fn typed(loaded: &LoadedConfig, problems: &mut Vec<Problem>) -> Config {
    let read = |key: &str| loaded.value.get(key).filter(|v| !v.is_null()).cloned();
    fn parse<T: DeserializeOwned + Default>(
        loaded: &LoadedConfig,
        key: &str,
        value: Option<Value>,
        problems: &mut Vec<Problem>,
    ) -> T {
        let Some(value) = value else {
            return T::default();
        };
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(typed) => typed,
            Err(e) => {
                let inner = e.path().to_string();
                let mut path = vec![key];
                path.extend(inner.split('.').filter(|s| !s.is_empty() && *s != "?"));
                problems.push(Problem::at(loaded, &path, e.into_inner().to_string()));
                T::default()
            }
        }
    }
    Config {
        plugins: parse(loaded, "plugins", read("plugins"), problems),
        audits: parse(loaded, "audits", read("audits"), problems),
        run: parse(loaded, "run", read("run"), problems),
        schedule: parse(loaded, "schedule", read("schedule"), problems),
        timezone: parse(loaded, "timezone", read("timezone"), problems),
        shutdown_grace_period: parse(
            loaded,
            "shutdown_grace_period",
            read("shutdown_grace_period"),
            problems,
        ),
        history: parse(loaded, "history", read("history"), problems),
        logger: parse(loaded, "logger", read("logger"), problems),
        email: parse(loaded, "email", read("email"), problems),
        isolation: parse(loaded, "isolation", read("isolation"), problems),
        state: parse(loaded, "state", read("state"), problems),
        mutes: parse(loaded, "mutes", read("mutes"), problems),
        shard: parse(loaded, "shard", read("shard"), problems),
        frameworks: parse(loaded, "frameworks", read("frameworks"), problems),
    }
}

fn names<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let keys: Vec<&str> = keys.map(String::as_str).collect();
    if keys.is_empty() {
        "none".to_string()
    } else {
        keys.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;
    use std::path::Path;

    fn config_with(yaml: &str) -> (tempfile::TempDir, Result<Config, ConfigError>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("user.yaml");
        std::fs::write(&file, yaml).unwrap();
        let loaded = load(&[file], |_| {}).unwrap();
        (dir, Config::from_loaded(&loaded))
    }

    #[test]
    fn base_config_is_valid() {
        let loaded = load(&[], |_| {}).unwrap();
        let config = Config::from_loaded(&loaded).unwrap();
        assert_eq!(config.run, ["mockaudit"]);
        assert_eq!(config.schedule.as_deref(), Some("00:00"));
        assert!(config.schedule().is_ok());
        assert_eq!(config.grace_period(), Duration::from_secs(30));
        assert_eq!(config.history_path(), crate::history::default_path());
        assert!(
            !config.history_path().starts_with("/tmp") || crate::dirs::state_dir().is_none(),
            "the history lives in the user's state directory"
        );
        let audit = &config.audits["mockaudit"];
        assert_eq!(audit.keys(Role::Alert), ["filestore"]);
        assert_eq!(config.plugins.len(), 8);
        assert_eq!(config.plugins["mockcloud"].config_dir, None);
    }

    #[test]
    fn wrong_type_names_file_and_key() {
        let (dir, result) = config_with("audits:\n  mockaudit:\n    clouds: mockcloud\n");
        let msg = result.unwrap_err().to_string();
        let file = dir.path().join("user.yaml");
        assert!(
            msg.starts_with(&format!(
                "{}:3: audits.mockaudit.clouds: invalid type",
                file.display()
            )),
            "{msg}"
        );
    }

    #[test]
    fn unknown_references_are_all_reported() {
        let (_dir, result) = config_with("run: [mockaudit, nosuch]\naudits:\n  mockaudit:\n    stores: [filestore, nostore, filestore]\n");
        let ConfigError::Invalid(problems) = result.unwrap_err() else {
            panic!("not Invalid")
        };
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems
            .iter()
            .any(|p| p.contains("run: lists audit \"nosuch\"")));
        assert!(problems
            .iter()
            .any(|p| p.contains("lists plugin \"nostore\", which is not defined")));
        assert!(problems
            .iter()
            .any(|p| p.contains("lists plugin \"filestore\" twice")));
    }

    #[test]
    fn plugin_dir_is_the_dir_of_the_file_that_set_plugin() {
        let (dir, result) = config_with("plugins:\n  mine:\n    plugin: ./libmine.so\n  mockcloud:\n    params: {record_count: 3}\n");
        let config = result.unwrap();
        assert_eq!(
            config.plugins["mine"].config_dir.as_deref(),
            Some(dir.path())
        );
        assert_eq!(config.plugins["mockcloud"].config_dir, None::<PathBuf>);
        assert_eq!(
            config.plugins["mockcloud"].params_json(),
            r#"{"record_count":3}"#
        );
        let _ = Path::new("");
    }

    #[test]
    fn params_must_be_a_mapping() {
        let (_dir, result) = config_with("plugins:\n  mockcloud:\n    params: [1, 2]\n");
        let msg = result.unwrap_err().to_string();
        assert!(
            msg.contains("plugins.mockcloud.params: must be a mapping, not a list"),
            "{msg}"
        );
    }

    #[test]
    fn bad_schedule_timezone_and_logger_values_are_errors() {
        let (_dir, result) = config_with(
            "schedule: \"every day\"\ntimezone: Nowhere/Land\nlogger:\n  level: LOUD\n",
        );
        let ConfigError::Invalid(problems) = result.unwrap_err() else {
            panic!("not Invalid")
        };
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[1].contains("timezone: \"Nowhere/Land\" is not an IANA time zone"),
            "{}",
            problems[1]
        );
        assert!(
            problems[0].contains("logger.level: \"LOUD\" is not a log level"),
            "{}",
            problems[1]
        );
        let (_dir, result) = config_with("schedule: \"every day\"\n");
        assert!(result
            .unwrap_err()
            .to_string()
            .contains("schedule: \"every day\" is neither"));
    }

    #[test]
    fn unknown_keys_are_errors_with_a_suggestion() {
        let (dir, result) = config_with(
            "audit:\n  mine: {clouds: [mockcloud]}\nshedule: '03:00'\nplugins:\n  mockcloud:\n    parms: {}\naudits:\n  mockaudit:\n    cloud: [mockcloud]\nzzz: 1\n",
        );
        let ConfigError::Invalid(problems) = result.unwrap_err() else {
            panic!("not Invalid")
        };
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let file = dir.path().join("user.yaml").display().to_string();
        // Each with the line the user wrote it on.
        let expected = [
            "1: audit: unknown key (did you mean `audits`?); the keys here are plugins, audits, run, schedule, timezone, shutdown_grace_period, history, logger, email",
            "3: shedule: unknown key (did you mean `schedule`?)",
            "10: zzz: unknown key; the keys here are",
            "6: plugins.mockcloud.parms: unknown key (did you mean `params`?); the keys here are plugin, params",
            "9: audits.mockaudit.cloud: unknown key (did you mean `clouds`?); the keys here are clouds, stores, events, alerts",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for want in expected {
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{file}:{want}"))),
                "missing {want:?} in {problems:#?}"
            );
        }
    }
}
