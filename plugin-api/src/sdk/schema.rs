//! Param schemas: one source of truth for a plugin's params (their names,
//! types, defaults, docs and which are secret), derived from the `Params`
//! type and its doc comments, carried in the plugin's info for
//! `cloudmarker plugins inspect` and the checks that read it.
//!
//! Derive `JsonSchema` on the params type: the default
//! [`PluginType::params_schema`](super::PluginType::params_schema) returns
//! [`of`] it:
//!
//! ```
//! use cloudmarker_plugin_api::sdk::schema::{self, JsonSchema};
//! use cloudmarker_plugin_api::sdk::Secret;
//!
//! #[derive(Default, serde::Deserialize, serde::Serialize, JsonSchema)]
//! #[serde(default, deny_unknown_fields)]
//! pub struct Params {
//!     /// The API token.
//!     pub token: Secret,
//! }
//!
//! let schema = schema::of::<Params>();
//! assert!(schema::is_secret(&schema["properties"]["token"]));
//! ```

/// For `#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]`,
/// so that a plugin needs no `schemars` dependency of its own.
pub use schemars;
pub use schemars::JsonSchema;
use serde_json::Value;

/// The key that marks a secret param in a schema.
pub const SECRET: &str = "x-cloudmarker-secret";

/// The key under which a plugin's info carries its defaults and schema
/// (`{"$cloudmarker_params": 1, "defaults": {...}, "schema": {...}}`); a
/// plugin without a schema gives its defaults object alone.
pub const ENVELOPE: &str = "$cloudmarker_params";

/// The JSON schema of `T`.
pub fn of<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// Whether a property's schema marks a secret (anywhere inside it, as
/// `Option<Secret>` nests it).
pub fn is_secret(property: &Value) -> bool {
    match property {
        Value::Object(map) => {
            map.get(SECRET) == Some(&Value::Bool(true)) || map.values().any(is_secret)
        }
        Value::Array(items) => items.iter().any(is_secret),
        _ => false,
    }
}

/// The JSON types a property's schema names plainly (`"type": "integer"`
/// or a list of types); `None` when it says it another way (`$ref`, `anyOf`).
pub fn types(property: &Value) -> Option<Vec<&str>> {
    match property.get("type")? {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

/// The param names a params schema marks required.
pub fn required(params_schema: &Value) -> Vec<&str> {
    params_schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The params part of a plugin's info: its defaults and, when it has one,
/// its schema.
pub fn describe(defaults: Value, schema: Option<Value>) -> Value {
    match schema {
        None => defaults,
        Some(schema) => serde_json::json!({ENVELOPE: 1, "defaults": defaults, "schema": schema}),
    }
}

/// The upstream class name a plugin declares in its info
/// ([`PluginType::CLASS`](super::PluginType::CLASS)), if any.
pub fn class(params: &Value) -> Option<&str> {
    params.get(ENVELOPE)?;
    params.get("class").and_then(Value::as_str)
}

/// Whether a plugin says in its info that it notifies people
/// ([`PluginType::NOTIFIES`](super::PluginType::NOTIFIES)).
pub fn notifies(params: &Value) -> bool {
    params.get(ENVELOPE).is_some() && params.get("notifies") == Some(&Value::Bool(true))
}

/// The defaults and schema from a plugin's info (`describe`'s inverse; an
/// older plugin gives defaults only).
pub fn parse(params: &Value) -> (Value, Option<Value>) {
    match params.get(ENVELOPE) {
        Some(_) => (
            params.get("defaults").cloned().unwrap_or(Value::Null),
            params.get("schema").cloned(),
        ),
        None => (params.clone(), None),
    }
}

/// How the type of a config value reads in an error message (`a string`,
/// `an integer`, `a mapping`, ...), in the YAML terms a config is written
/// in.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
