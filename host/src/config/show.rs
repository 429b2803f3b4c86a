//! `cloudmarker config show [--origin]`: the merged configuration, secret
//! values redacted, optionally with the file and line that set each value.

use super::{line_of, LoadedConfig, Source};
use cloudmarker_plugin_api::sdk::schema;
use cloudmarker_plugin_api::sdk::secret::REDACTED;
use serde_json::Value;
use std::fmt::Write as _;

/// Key names that are treated as secret in the params of a plugin whose
/// schema is not known (its library cannot be found or has none).
const SECRET_LOOKING: [&str; 6] = ["password", "secret", "token", "api_key", "webhook", "uri"];

/// The merged config with secrets replaced by `***`: the top-level
/// `email:` password, and in each plugin's params the params its schema
/// marks secret (`schema_of(plugin_value)` gives it; without one, keys
/// whose names look secret).
pub fn redacted(loaded: &LoadedConfig, schema_of: impl Fn(&str) -> Option<Value>) -> Value {
    let mut value = loaded.value.clone();
    if let Some(email) = value.get_mut("email") {
        let email_schema = schema::of::<smtp::EmailParams>();
        redact_params(email, Some(&email_schema));
    }
    // The PostgreSQL state's URL may hold the password.
    if let Some(url) = value.pointer_mut("/state/url") {
        if let Some(text) = url.as_str() {
            *url = Value::String(crate::findings::redacted_url(text));
        }
    }
    if let Some(Value::Object(plugins)) = value.get_mut("plugins") {
        for entry in plugins.values_mut() {
            let plugin = entry
                .get("plugin")
                .and_then(Value::as_str)
                .map(str::to_string);
            let plugin_schema = plugin.as_deref().and_then(&schema_of);
            if let Some(params) = entry.get_mut("params") {
                redact_params(params, plugin_schema.as_ref());
            }
        }
    }
    value
}

fn redact_params(params: &mut Value, params_schema: Option<&Value>) {
    let Value::Object(map) = params else {
        return;
    };
    let properties = params_schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object);
    for (key, value) in map.iter_mut() {
        let secret = match properties {
            Some(props) => props.get(key).is_some_and(schema::is_secret),
            None => SECRET_LOOKING.iter().any(|s| key.contains(s)),
        };
        if secret && !value.is_null() && *value != "" {
            *value = Value::from(REDACTED);
        }
    }
}

/// The config as YAML.
pub fn yaml(value: &Value) -> String {
    serde_norway::to_string(value).unwrap_or_default()
}

/// One line per value, `key.path: value  # file:line`.
pub fn with_origin(loaded: &LoadedConfig, value: &Value) -> String {
    let mut out = String::new();
    let mut texts = std::collections::HashMap::new();
    walk(value, &mut Vec::new(), &mut |path, leaf| {
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        let origin = match loaded.provenance.source_of(&keys) {
            Some(Source::File(file)) => {
                let text = texts
                    .entry(file.clone())
                    .or_insert_with(|| super::limits::read_config_file(file).unwrap_or_default());
                match line_of(text, &keys) {
                    Some(line) => format!("{}:{line}", file.display()),
                    None => file.display().to_string(),
                }
            }
            Some(Source::Base) => "built-in base config".into(),
            None => "?".into(),
        };
        let _ = writeln!(out, "{}: {leaf}  # {origin}", path.join("."));
    });
    out
}

fn walk(value: &Value, path: &mut Vec<String>, visit: &mut dyn FnMut(&[String], &Value)) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                path.push(key.clone());
                walk(item, path, visit);
                path.pop();
            }
        }
        _ => visit(path, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_by_schema_or_by_name() {
        let loaded = LoadedConfig {
            value: json!({
                "email": {"host": "smtp", "password": "pw-1"},
                "plugins": {
                    "slack": {"plugin": "slackalert", "params": {"bot_user_token": "xoxb-1", "text": "hi"}},
                    "odd": {"plugin": "unknown", "params": {"api_key": "k-1", "n": 3}}
                }
            }),
            provenance: Default::default(),
            files: vec![],
        };
        let slack_schema =
            json!({"properties": {"bot_user_token": {"x-cloudmarker-secret": true}, "text": {}}});
        let shown = redacted(&loaded, |plugin| {
            (plugin == "slackalert").then(|| slack_schema.clone())
        });
        assert_eq!(shown["email"]["password"], "***");
        assert_eq!(shown["email"]["host"], "smtp");
        assert_eq!(shown["plugins"]["slack"]["params"]["bot_user_token"], "***");
        assert_eq!(shown["plugins"]["slack"]["params"]["text"], "hi");
        assert_eq!(shown["plugins"]["odd"]["params"]["api_key"], "***");
        assert_eq!(shown["plugins"]["odd"]["params"]["n"], 3);
    }
}
