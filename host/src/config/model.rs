//! The typed configuration and its validation (pure: no files, no plugins).

use super::cascade::kind_of;
use super::{ConfigError, LoadedConfig, Source};
use crate::logging::LogSettings;
use crate::schedule::Schedule;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The configuration cloudmarker runs with.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Plugin configs by key.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
    /// Audit configs by key.
    #[serde(default)]
    pub audits: BTreeMap<String, AuditConfig>,
    /// The audits to run.
    #[serde(default)]
    pub run: Vec<String>,
    /// When to run without `--now`: `HH:MM` every day, or a cron expression.
    #[serde(default)]
    pub schedule: Option<String>,
    /// The IANA time zone of `schedule` (default: local time).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Seconds a run may take to wind down after a shutdown signal.
    #[serde(default)]
    pub shutdown_grace_period: Option<f64>,
    /// The run history.
    #[serde(default)]
    pub history: Option<HistoryConfig>,
    /// The logging config (the original's Python `dictConfig` mapping).
    #[serde(default)]
    pub logger: Option<Value>,
    /// Audit notification email settings.
    #[serde(default)]
    pub email: Option<Value>,
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
    /// The directory of the file that set `plugin` (None: the base config).
    #[serde(skip)]
    pub config_dir: Option<PathBuf>,
}

impl PluginConfig {
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
        let mut config =
            typed(loaded, &mut problems).ok_or_else(|| ConfigError::Invalid(problems.clone()))?;
        for (key, plugin) in &mut config.plugins {
            plugin.config_dir = loaded
                .provenance
                .source_of(&["plugins", key, "plugin"])
                .and_then(Source::dir)
                .map(PathBuf::from);
        }
        config.check(loaded, &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The parsed schedule (checked by [`Config::from_loaded`]).
    pub fn schedule(&self) -> Result<Schedule, String> {
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
        PathBuf::from(path.unwrap_or(crate::history::DEFAULT_PATH))
    }

    fn check(&self, loaded: &LoadedConfig, problems: &mut Vec<String>) {
        let at = |path: &[&str]| located(loaded, path);
        if let Err(e) = self.schedule() {
            let key = if e.starts_with("timezone") {
                "timezone"
            } else {
                "schedule"
            };
            problems.push(format!("{}: {e}", at(&[key])));
        }
        if let Some(grace) = self.shutdown_grace_period {
            if !(grace.is_finite() && grace >= 0.0) {
                problems.push(format!(
                    "{}: shutdown_grace_period must be a number of seconds, 0 or more, not {grace}",
                    at(&["shutdown_grace_period"])
                ));
            }
        }
        if let Err(e) = crate::notify::Notifier::from_config(self.email.as_ref()) {
            problems.push(format!("{}: {e}", at(&["email"])));
        }
        if let Err(e) = LogSettings::from_config(self.logger.as_ref()) {
            // The message starts with the key path, e.g. `logger.root.level: ...`.
            let key = e.split(':').next().unwrap_or("logger");
            let path: Vec<&str> = key.split('.').collect();
            problems.push(format!("{}: {e}", at(&path)));
        }
        for (key, plugin) in &self.plugins {
            match &plugin.params {
                None | Some(Value::Object(_)) | Some(Value::Null) => {}
                Some(other) => problems.push(format!(
                    "{}: plugins.{key}.params must be a mapping, not {}",
                    at(&["plugins", key, "params"]),
                    kind_of(other)
                )),
            }
            if plugin.plugin.trim().is_empty() {
                problems.push(format!(
                    "{}: plugins.{key}.plugin is empty",
                    at(&["plugins", key, "plugin"])
                ));
            }
        }
        for audit_key in &self.run {
            let Some(audit) = self.audits.get(audit_key) else {
                problems.push(format!(
                    "{}: run lists audit {audit_key:?}, which is not defined under audits (defined: {})",
                    at(&["run"]),
                    names(self.audits.keys())
                ));
                continue;
            };
            for role in Role::ALL {
                let list = role.list_key();
                let mut seen = HashSet::new();
                for key in audit.keys(role) {
                    let where_ = at(&["audits", audit_key, list]);
                    if !self.plugins.contains_key(key) {
                        problems.push(format!(
                            "{where_}: audits.{audit_key}.{list} lists plugin {key:?}, which is not defined under plugins (defined: {})",
                            names(self.plugins.keys())
                        ));
                    }
                    if !seen.insert(key) {
                        problems.push(format!(
                            "{where_}: audits.{audit_key}.{list} lists plugin {key:?} twice"
                        ));
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        for audit_key in &self.run {
            if !seen.insert(audit_key) {
                problems.push(format!(
                    "{}: run lists audit {audit_key:?} twice",
                    at(&["run"])
                ));
            }
        }
    }
}

/// The keys cloudmarker reads at the top level of a config.
pub const TOP_LEVEL_KEYS: [&str; 9] = [
    "plugins",
    "audits",
    "run",
    "schedule",
    "timezone",
    "shutdown_grace_period",
    "history",
    "logger",
    "email",
];
const PLUGIN_KEYS: [&str; 2] = ["plugin", "params"];
const AUDIT_KEYS: [&str; 4] = ["clouds", "stores", "events", "alerts"];

/// Keys that cloudmarker does not know, at the top level, in a plugin entry
/// or in an audit, each with the file that set it and a suggestion when the
/// key looks like a misspelt known one. A typo must never silently fall
/// back to a default (`audit:` instead of `audits:` would run the built-in
/// mock audit).
fn unknown_keys(loaded: &LoadedConfig) -> Vec<String> {
    let mut problems = Vec::new();
    let Value::Object(top) = &loaded.value else {
        return problems;
    };
    let mut check = |map: &serde_json::Map<String, Value>, path: &[&str], known: &[&str]| {
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            let mut key_path = path.to_vec();
            key_path.push(key);
            problems.push(format!(
                "{}: {}: unknown key{}; the keys here are {}",
                located(loaded, &key_path),
                key_path.join("."),
                did_you_mean(key, known),
                known.join(", ")
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

/// Deserializes the merged value, turning a type error into a problem that
/// names the key path and the file that set it.
fn typed(loaded: &LoadedConfig, problems: &mut Vec<String>) -> Option<Config> {
    match serde_path_to_error::deserialize::<_, Config>(&loaded.value) {
        Ok(config) => Some(config),
        Err(e) => {
            let path = e.path().to_string();
            let segments: Vec<&str> = path
                .split('.')
                .filter(|s| !s.is_empty() && *s != "?")
                .collect();
            let message = e.into_inner().to_string();
            problems.push(format!("{}: {path}: {message}", located(loaded, &segments)));
            None
        }
    }
}

/// The source that set `path`, for messages.
fn located(loaded: &LoadedConfig, path: &[&str]) -> String {
    loaded
        .provenance
        .source_of(path)
        .map_or_else(|| "config".to_string(), Source::to_string)
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
        assert_eq!(
            config.history_path(),
            PathBuf::from("/tmp/cloudmarker-history.jsonl")
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
                "{}: audits.mockaudit.clouds: invalid type",
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
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems
            .iter()
            .any(|p| p.contains("run lists audit \"nosuch\"")));
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
            msg.contains("plugins.mockcloud.params must be a mapping, not a list"),
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
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].contains("timezone: \"Nowhere/Land\" is not an IANA time zone"),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].contains("logger.level: \"LOUD\" is not a log level"),
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
        let file = dir.path().join("user.yaml").display().to_string();
        let expected = [
            "audit: unknown key (did you mean `audits`?); the keys here are plugins, audits, run, schedule, timezone, shutdown_grace_period, history, logger, email",
            "shedule: unknown key (did you mean `schedule`?)",
            "zzz: unknown key; the keys here are",
            "plugins.mockcloud.parms: unknown key (did you mean `params`?); the keys here are plugin, params",
            "audits.mockaudit.cloud: unknown key (did you mean `clouds`?); the keys here are clouds, stores, events, alerts",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for want in expected {
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(&format!("{file}: {want}"))),
                "missing {want:?} in {problems:#?}"
            );
        }
    }
}
