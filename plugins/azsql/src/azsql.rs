//! The `azsql` cloud plugin (upstream's `AzSQL`).

use cloudmarker_plugin_api::record::{Envelope, FirewallRule};
use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, AzurePlugin, Collected, Listed, Reader, ResourceType, Session};
use cloudrest::Emitter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `ext.record_type` of a database (upstream's; `com.record_type` is
/// `database`).
pub const SQL_DB: &str = "sql_db";
/// `record_type` of a logical server (beyond upstream).
pub const SQL_SERVER: &str = "sql_server";
/// `ext.record_type` of a server firewall rule.
const SQL_FIREWALL_RULE: &str = "sql_firewall_rule";

/// Logical SQL servers.
const SERVERS: ResourceType = ResourceType {
    record_type: SQL_SERVER,
    path: "providers/Microsoft.Sql/servers",
    api_version: "2021-11-01",
};

/// A server's checked settings, as its record's `ext` carries them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SqlServer {
    /// Server auditing (`auditingSettings/default`) is on.
    #[serde(default)]
    pub auditing_enabled: Option<bool>,
    /// `properties.minimalTlsVersion`.
    #[serde(default)]
    pub minimal_tls_version: Option<String>,
    /// `properties.publicNetworkAccess`.
    #[serde(default)]
    pub public_network_access: Option<String>,
}

/// A database's checked setting, as its record's `ext` carries it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SqlDatabase {
    /// Transparent data encryption is on (upstream's name).
    #[serde(default)]
    pub tde_enabled: Option<bool>,
}

/// Reads every logical SQL server of every subscription: a `sql_server`
/// record with its auditing, one `firewall_rule` record per server firewall
/// rule, one `sql_db` record per database (but `master`) with its
/// transparent data encryption; then one `collection_summary` per
/// subscription. What cannot be read is counted there.
pub enum AzSqlReader {}

impl Reader for AzSqlReader {
    const NAME: &'static str = "azsql";
    const CLASS: Option<&'static str> = Some("AzSQL");
    const DESCRIPTION: &'static str = "Reads the SQL servers and databases of every Azure subscription with their auditing, firewall and encryption.";

    const TYPES: &'static [ResourceType] = &[SERVERS];

    fn item(session: &Session, item: &Listed<'_>, emit: &Emitter, done: &mut Collected) -> bool {
        Server::new(session, item, emit, done).read()
    }
}

/// The `azsql` cloud plugin (upstream's class of that name).
pub type AzSql = AzurePlugin<AzSqlReader>;

/// One server being read.
struct Server<'a> {
    session: &'a Session,
    listed: &'a Listed<'a>,
    emit: &'a Emitter,
    collected: &'a mut Collected,
    id: String,
    name: String,
}

impl<'a> Server<'a> {
    fn new(
        session: &'a Session,
        listed: &'a Listed<'a>,
        emit: &'a Emitter,
        collected: &'a mut Collected,
    ) -> Self {
        let server: Value = serde_json::from_str(listed.item.get()).unwrap_or_default();
        let text = |key: &str| {
            server
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Self {
            id: text("id"),
            name: text("name"),
            session,
            listed,
            emit,
            collected,
        }
    }

    /// GETs `<server id><path>`; a failure is counted under `record_type`.
    fn get(&mut self, path: &str, what: &str, record_type: &'static str) -> Option<Value> {
        let url = format!(
            "{}{}{path}?api-version={}",
            self.session.resource_manager, self.id, SERVERS.api_version
        );
        let what = format!("SQL server {}: {what}", self.name);
        let got = self.session.token.get().and_then(|token| {
            self.session
                .http
                .get_json(&what, &url, &token)
                .map_err(|e| e.to_string())
        });
        match got {
            Ok(value) => Some(value),
            Err(e) => self.failed(record_type, e),
        }
    }

    /// Lists `<server id><path>` (paged); a failure is counted under `record_type`.
    fn list(&mut self, path: &str, what: &str, record_type: &'static str) -> Option<Vec<Value>> {
        let url = format!(
            "{}{}{path}?api-version={}",
            self.session.resource_manager, self.id, SERVERS.api_version
        );
        let what = format!("SQL server {}: {what}", self.name);
        let mut items = Vec::new();
        match azure::list(
            &self.session.http,
            &what,
            &url,
            &self.session.token,
            |page| items.extend(page),
        ) {
            Ok(_) => Some(items),
            Err(e) => self.failed(record_type, e.to_string()),
        }
    }

    fn failed<T>(&mut self, record_type: &'static str, e: String) -> Option<T> {
        log::warn!("Cannot read all of SQL server {}: {e}", self.name);
        self.emit
            .problem(PluginError::partial(0, format!("azsql: {e}")));
        self.collected.fail(record_type, e);
        None
    }

    /// The envelope of a `record_type` record of this server's subscription.
    fn record(&self, record_type: &str) -> Envelope {
        azure::record(self.listed.subscription, record_type)
    }

    /// Reads and emits everything of this server; false once the host stops
    /// reading.
    fn read(mut self) -> bool {
        let server: Value = serde_json::from_str(self.listed.item.get()).unwrap_or_default();
        let auditing = self.get(
            "/auditingSettings/default",
            "reading its auditing settings",
            SQL_SERVER,
        );
        let settings = SqlServer {
            auditing_enabled: auditing
                .as_ref()
                .map(|a| a.pointer("/properties/state").and_then(Value::as_str) == Some("Enabled")),
            minimal_tls_version: server
                .pointer("/properties/minimalTlsVersion")
                .and_then(Value::as_str)
                .map(str::to_string),
            public_network_access: server
                .pointer("/properties/publicNetworkAccess")
                .and_then(Value::as_str)
                .map(str::to_string),
        };
        let mut raw = server.clone();
        if let (Some(object), Some(auditing)) = (raw.as_object_mut(), auditing) {
            object.insert("auditing_settings".into(), auditing);
        }
        let fields = match serde_json::to_value(&settings) {
            Ok(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        let record = self
            .record(SQL_SERVER)
            .reference(self.id.as_str())
            .ext_extend(fields.into_iter().filter(|(_, v)| !v.is_null()));
        if !self.emit.record(record.to_json(&raw)) {
            return false;
        }
        let rules = self
            .list(
                "/firewallRules",
                "listing its firewall rules",
                SQL_FIREWALL_RULE,
            )
            .unwrap_or_default();
        self.collected.count(SQL_FIREWALL_RULE, rules.len());
        for rule in rules {
            if !self.emit.record(firewall_rule(
                &rule,
                &self.id,
                self.record(SQL_FIREWALL_RULE),
            )) {
                return false;
            }
        }
        let databases = self
            .list("/databases", "listing its databases", SQL_DB)
            .unwrap_or_default();
        for mut db in databases
            .into_iter()
            .filter(|db| db.get("name").and_then(Value::as_str) != Some("master"))
        {
            let db_id = db
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let db_name = db
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let path = format!("/databases/{db_name}/transparentDataEncryption/current");
            let Some(tde) = self.get(
                &path,
                &format!("reading the encryption of database {db_name}"),
                SQL_DB,
            ) else {
                continue;
            };
            // `state` since api-version 2021; upstream's SDK said `status`.
            let state = tde
                .pointer("/properties/state")
                .or_else(|| tde.pointer("/properties/status"));
            let tde_enabled = state.and_then(Value::as_str) == Some("Enabled");
            if let Some(object) = db.as_object_mut() {
                object.insert("transparent_data_encryption".into(), tde);
            }
            let record = self
                .record(SQL_DB)
                .com_record_type(Some("database"))
                .reference(db_id)
                .ext("tde_enabled", tde_enabled)
                .ext("server_id", self.id.as_str());
            self.collected.count(SQL_DB, 1);
            if !self.emit.record(record.to_json(&db)) {
                return false;
            }
        }
        true
    }
}

/// A server firewall rule as a `firewall_rule` record: inbound TCP to 1433
/// from its address range (`0.0.0.0/0` when the range is every IPv4
/// address), so that `firewallruleevent` sees SQL servers open to the world.
/// Azure's `0.0.0.0`-`0.0.0.0` rule means "Azure services", not the Internet.
/// `record` is the envelope of the rule's `ext.record_type`.
fn firewall_rule(rule: &Value, server_id: &str, record: Envelope) -> String {
    let text = |key: &str| {
        rule.pointer(&format!("/properties/{key}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let (start, end) = (text("startIpAddress"), text("endIpAddress"));
    let source = match (start, end) {
        ("0.0.0.0", "255.255.255.255") => "0.0.0.0/0".to_string(),
        (start, end) if start == end => format!("{start}/32"),
        (start, end) => format!("{start}-{end}"),
    };
    let rule_id = rule.get("id").and_then(Value::as_str);
    let com = FirewallRule {
        protocol: Some("tcp".into()),
        source_addresses: vec![source],
        destination_ports: vec!["1433".into()],
        ..FirewallRule::new(azure::CLOUD_TYPE, rule_id.map(String::from))
    };
    record
        .ext("server_id", server_id)
        .com_model(&com)
        .to_json(rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn firewall_ranges_become_sources() {
        let rule = |start: &str, end: &str| json!({"id": "r", "properties": {"startIpAddress": start, "endIpAddress": end}});
        let source = |r: Value| {
            let record = firewall_rule(&r, "s", azure::record(&Map::new(), SQL_FIREWALL_RULE));
            serde_json::from_str::<Value>(&record).unwrap()["com"]["source_addresses"][0].clone()
        };
        assert_eq!(source(rule("0.0.0.0", "255.255.255.255")), "0.0.0.0/0");
        assert_eq!(source(rule("0.0.0.0", "0.0.0.0")), "0.0.0.0/32");
        assert_eq!(source(rule("10.0.0.1", "10.0.0.9")), "10.0.0.1-10.0.0.9");
    }
}
