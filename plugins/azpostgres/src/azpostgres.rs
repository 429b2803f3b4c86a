//! The `azpostgres` cloud plugin (upstream's `AzPostgres`).

use cloudmarker_plugin_api::record::com;
use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, AzurePlugin, Collected, Listed, Reader, ResourceType, Session};
use cloudrest::Emitter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `ext.record_type` of a server (upstream's name; `com.record_type`
/// is `rdbms`).
pub const POSTGRESQL_SERVER: &str = "postgresql_server";

/// Single servers (retiring, still listed).
const SINGLE: ResourceType = ResourceType {
    record_type: POSTGRESQL_SERVER,
    path: "providers/Microsoft.DBforPostgreSQL/servers",
    api_version: "2017-12-01",
};

/// Flexible servers.
const FLEXIBLE: ResourceType = ResourceType {
    record_type: "postgresql_flexible_server",
    path: "providers/Microsoft.DBforPostgreSQL/flexibleServers",
    api_version: "2022-12-01",
};

/// The checked server parameters of a server, as its record's `ext` carries
/// them (upstream's names: the Boolean ones with `_enabled`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PostgresServer {
    /// `log_checkpoints` is on.
    #[serde(default)]
    pub log_checkpoints_enabled: Option<bool>,
    /// `log_connections` is on.
    #[serde(default)]
    pub log_connections_enabled: Option<bool>,
    /// `log_disconnections` is on.
    #[serde(default)]
    pub log_disconnections_enabled: Option<bool>,
    /// `log_duration` is on.
    #[serde(default)]
    pub log_duration_enabled: Option<bool>,
    /// `connection_throttling` (flexible: `connection_throttle.enable`) is on.
    #[serde(default)]
    pub connection_throttling_enabled: Option<bool>,
    /// `log_retention_days` (flexible: `logfiles.retention_days`).
    #[serde(default)]
    pub log_retention_days: Option<i64>,
}

/// Reads every PostgreSQL single and flexible server of every subscription
/// with its server parameters: one record each (`ext.record_type`
/// `postgresql_server`, `com.record_type` `rdbms` with `tls_enforced`),
/// then one `collection_summary` per subscription.
pub enum AzPostgresReader {}

impl Reader for AzPostgresReader {
    const NAME: &'static str = "azpostgres";
    const CLASS: Option<&'static str> = Some("AzPostgres");
    const DESCRIPTION: &'static str =
        "Reads the PostgreSQL servers of every Azure subscription with their server parameters.";

    const TYPES: &'static [ResourceType] = &[SINGLE, FLEXIBLE];

    fn item(session: &Session, item: &Listed<'_>, emit: &Emitter, done: &mut Collected) -> bool {
        server(session, item, emit, done)
    }
}

/// The `azpostgres` cloud plugin (upstream's class of that name).
pub type AzPostgres = AzurePlugin<AzPostgresReader>;

/// Reads the server's parameters and emits its record; a server whose
/// parameters cannot be read is counted as a failure, without a record.
fn server(
    session: &Session,
    listed: &Listed<'_>,
    emit: &Emitter,
    collected: &mut Collected,
) -> bool {
    let Ok(mut server) = serde_json::from_str::<Value>(listed.item.get()) else {
        collected.fail(
            listed.resource.record_type,
            "a listed server is not a JSON object".into(),
        );
        return true;
    };
    let id = server
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let name = server
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let flexible = listed.resource == FLEXIBLE;
    let url = format!(
        "{}{id}/configurations?api-version={}",
        session.resource_manager, listed.resource.api_version
    );
    let mut configurations = Vec::new();
    let what = format!("PostgreSQL server {name}: listing its parameters");
    if let Err(e) = azure::list(&session.http, &what, &url, &session.token, |items| {
        configurations.extend(items)
    }) {
        log::warn!("Cannot read the parameters of PostgreSQL server {name}: {e}");
        emit.problem(PluginError::partial(
            0,
            format!("azpostgres: server {name}: {e}"),
        ));
        collected.fail(listed.resource.record_type, format!("server {name}: {e}"));
        return true;
    }
    let parameter = |names: &[&str]| -> Option<&Value> {
        configurations
            .iter()
            .find(|c| {
                c.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| names.contains(&n))
            })
            .and_then(|c| c.pointer("/properties/value"))
    };
    let on = |names: &[&str]| {
        parameter(names)
            .and_then(Value::as_str)
            .map(|v| v.eq_ignore_ascii_case("on"))
    };
    let settings = PostgresServer {
        log_checkpoints_enabled: on(&["log_checkpoints"]),
        log_connections_enabled: on(&["log_connections"]),
        log_disconnections_enabled: on(&["log_disconnections"]),
        log_duration_enabled: on(&["log_duration"]),
        connection_throttling_enabled: on(&["connection_throttling", "connection_throttle.enable"]),
        log_retention_days: parameter(&["log_retention_days", "logfiles.retention_days"])
            .and_then(Value::as_str)
            .and_then(|v| v.parse().ok()),
    };
    // Upstream read the wrong field and always said false; this is where
    // each kind of server says it.
    let tls_enforced = if flexible {
        on(&["require_secure_transport"]).unwrap_or(false)
    } else {
        server
            .pointer("/properties/sslEnforcement")
            .and_then(Value::as_str)
            == Some("Enabled")
    };
    if let Some(object) = server.as_object_mut() {
        object.insert("configuration".into(), Value::Array(configurations));
    }
    let fields = match serde_json::to_value(&settings) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let record = azure::record(listed.subscription, POSTGRESQL_SERVER)
        .com_record_type(Some("rdbms"))
        .reference(id)
        .com(com::TLS_ENFORCED, tls_enforced)
        .ext("server_kind", if flexible { "flexible" } else { "single" })
        .ext_extend(fields.into_iter().filter(|(_, v)| !v.is_null()));
    emit.record(record.to_json(&server))
}
