//! Checks before anything runs: every plugin that `run` uses is found and
//! loaded, and its params match the plugin's schema (unknown params, wrong
//! types, missing required ones), each problem with the user's file, line
//! and key path. `cloudmarker validate` reports them all; `-n`, `--once`
//! and the service loop refuse to start on a params problem. `validate
//! --connect` also runs each plugin's health check.

use crate::config::{did_you_mean, Config, LoadedConfig, Problem, Role};
use crate::plugins::Registry;
use abi_stable::std_types::RResult;
use cloudmarker_plugin_api::sdk::schema;
use cloudmarker_plugin_api::sdk::schema::kind_of;
use cloudmarker_plugin_api::ErrorKind;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What the checks found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Params that do not match a plugin's schema: configuration errors.
    pub problems: Vec<Problem>,
    /// Plugins that cannot be loaded, with why.
    pub unloadable: Vec<String>,
}

/// Loads every plugin the audits of `run` use and checks its params; reads
/// the benchmark frameworks; constructs each event plugin in use (not
/// those configured to run in a process of their own), whose refusal of
/// its params (a bad rule in a rule file, say) is a configuration problem.
pub fn check(config: &Config, loaded: &LoadedConfig, registry: &Registry) -> Findings {
    let mut findings = Findings::default();
    if let Err(e) = crate::compliance::load(config) {
        findings
            .problems
            .push(Problem::at(loaded, &["frameworks"], e.to_string()));
    }
    for key in keys_in_use(config) {
        let Some(plugin) = config.plugins.get(key) else {
            continue;
        };
        let library = match registry.load(key, plugin) {
            Ok(library) => library,
            Err(e) => {
                findings.unloadable.push(e.to_string());
                continue;
            }
        };
        let described: Value = serde_json::from_str(&library.info.params).unwrap_or(Value::Null);
        let Some(param_schema) = schema::parse(&described).1 else {
            continue;
        };
        let params = match &plugin.params {
            Some(Value::Object(params)) => params.clone(),
            _ => Map::new(),
        };
        let mut schema_problems = check_params(&params, &param_schema);
        let schema_ok = schema_problems.is_empty();
        for (param, message) in schema_problems.drain(..) {
            let mut path = vec!["plugins", key.as_str(), "params"];
            if !param.is_empty() {
                path.push(&param);
            }
            findings.problems.push(Problem::at(loaded, &path, message));
        }
        if schema_ok && is_event_in_use(config, key) && !isolated(config, plugin) {
            if let Some(message) = construction_problem(&library, plugin) {
                let path = ["plugins", key.as_str(), "params"];
                findings.problems.push(Problem::at(loaded, &path, message));
            }
        }
    }
    findings
}

/// Whether plugin `key` is an event plugin of an audit that `run` runs.
fn is_event_in_use(config: &Config, key: &str) -> bool {
    config
        .run
        .iter()
        .filter_map(|audit| config.audits.get(audit))
        .any(|audit| audit.keys(Role::Event).iter().any(|k| k == key))
}

/// Whether instances of `plugin` run in a process of their own.
fn isolated(config: &Config, plugin: &crate::config::PluginConfig) -> bool {
    plugin.isolation.or(config.isolation) == Some(crate::config::Isolation::Process)
}

/// Why the event plugin `library` refuses the params of `plugin` as a
/// configuration error, when it does (other failures are left to the
/// run). Event plugins only read their params when constructed: this runs
/// nothing and reaches no server.
fn construction_problem(
    library: &crate::plugins::LoadedPlugin,
    plugin: &crate::config::PluginConfig,
) -> Option<String> {
    match library.construct(&plugin.params_json(), crate::logging::host_context()) {
        RResult::RErr(e) if e.kind == ErrorKind::CONFIG => Some(e.message.into_string()),
        _ => None,
    }
}

/// What one plugin's health check said.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The plugin key.
    pub key: String,
    /// The plugin's name.
    pub plugin: String,
    /// `ok`, `failed`, or `no check` (the plugin has none).
    pub status: &'static str,
    /// What was checked, or why it failed.
    pub detail: String,
}

/// Runs the health check of every plugin that `run` uses, at the same time,
/// with the params a run would give it (`validate --connect`). Plugins that
/// cannot be loaded are left to [`check`].
pub fn connect(config: &Config, registry: &Registry) -> Vec<Health> {
    let keys = keys_in_use(config);
    std::thread::scope(|scope| {
        let checks: Vec<_> = keys
            .into_iter()
            .filter_map(|key| {
                let plugin = registry.load(key, config.plugins.get(key)?).ok()?;
                let params = config.plugins[key].params_json();
                Some(scope.spawn(move || {
                    let said = plugin.health_check(&params, crate::logging::host_context());
                    let (status, detail) = match said {
                        RResult::ROk(what) => ("ok", what.into_string()),
                        RResult::RErr(e) if e.kind == ErrorKind::UNSUPPORTED => {
                            ("no check", e.message.into_string())
                        }
                        RResult::RErr(e) => ("failed", e.message.into_string()),
                    };
                    Health {
                        key: key.clone(),
                        plugin: plugin.info.name.to_string(),
                        status,
                        detail,
                    }
                }))
            })
            .collect();
        checks
            .into_iter()
            .filter_map(|check| check.join().ok())
            .collect()
    })
}

/// The health checks as a table for people.
pub fn health_table(checks: &[Health]) -> String {
    let rows: Vec<[String; 4]> = checks
        .iter()
        .map(|h| {
            [
                h.key.clone(),
                h.plugin.clone(),
                h.status.to_string(),
                h.detail.split_whitespace().collect::<Vec<_>>().join(" "),
            ]
        })
        .collect();
    crate::table::render(["plugin key", "plugin", "health", "detail"], &rows, "", 4)
}

/// The keys of the plugins that the audits of `run` use, each once.
fn keys_in_use(config: &Config) -> BTreeSet<&String> {
    config
        .run
        .iter()
        .filter_map(|audit| config.audits.get(audit))
        .flat_map(|audit| Role::ALL.into_iter().flat_map(move |role| audit.keys(role)))
        .collect()
}

/// `(param, message)` for each way `params` breaks `param_schema`. Values
/// are never quoted (they may be secrets): only their kinds.
pub fn check_params(params: &Map<String, Value>, param_schema: &Value) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let properties = param_schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let closed = param_schema.get("additionalProperties") == Some(&Value::Bool(false));
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort_unstable();
    for (name, value) in params {
        match properties.get(name) {
            None if closed => problems.push((
                name.clone(),
                if names.is_empty() {
                    "unknown param; this plugin has no params".to_string()
                } else {
                    format!(
                        "unknown param{}; this plugin's params are {}",
                        did_you_mean(name, &names),
                        names.join(", ")
                    )
                },
            )),
            None => {}
            Some(property) => {
                if let Some(expected) = schema::types(property) {
                    if !expected.iter().any(|t| is_of(value, t)) {
                        problems.push((
                            name.clone(),
                            format!("must be {}, not {}", expected.join(" or "), kind_of(value)),
                        ));
                    }
                }
            }
        }
    }
    for name in schema::required(param_schema) {
        if !params.contains_key(name) {
            problems.push((name.to_string(), "is required".to_string()));
        }
    }
    problems.sort();
    problems
}

fn is_of(value: &Value, json_type: &str) -> bool {
    match json_type {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_wrong_and_missing_params() {
        let param_schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["uri"],
            "properties": {
                "uri": {"type": "string"},
                "record_count": {"type": "integer"},
                "timeout": {"type": "number"},
                "token": {"type": ["string", "null"], "x-cloudmarker-secret": true}
            }
        });
        let params =
            json!({"record_cont": 5, "timeout": 3, "token": 5331337, "record_count": "ten"});
        let problems = check_params(params.as_object().unwrap(), &param_schema);
        let text: Vec<String> = problems.iter().map(|(p, m)| format!("{p}: {m}")).collect();
        assert_eq!(
            text,
            [
                "record_cont: unknown param (did you mean `record_count`?); this plugin's params are record_count, timeout, token, uri",
                "record_count: must be integer, not a string",
                "token: must be string or null, not an integer",
                "uri: is required",
            ]
        );
        assert!(
            !text.concat().contains("5331337"),
            "values are never quoted"
        );
    }
}
