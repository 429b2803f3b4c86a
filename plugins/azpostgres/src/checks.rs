//! Upstream Cloudmarker's PostgreSQL checks of `postgresql_server` records:
//! five server parameters that should be on, and the log retention.

use crate::azpostgres::{PostgresServer, POSTGRESQL_SERVER};
use cloudmarker_plugin_api::sdk::check::Select;
use cloudmarker_plugin_api::sdk::check::Severity;
use cloudmarker_plugin_api::sdk::rule::{
    azure_group_and_name, ParamRule, ParamRuleCheck, Rule, RuleCheck, Verdict,
};
use cloudmarker_plugin_api::sdk::schema;
use serde::{Deserialize, Serialize};

/// The records every PostgreSQL check reads.
const SERVERS: Select = Select::ext(&[POSTGRESQL_SERVER]).in_cloud("azure");

/// What is wrong when a Boolean parameter is off, and how to turn it on.
fn parameter_off(id: &str, parameter: &str, why: &str) -> (String, String) {
    let (group, name) = azure_group_and_name(id);
    (
        format!("Azure PostgreSQL server {id} has {parameter} off: {why}."),
        format!("Turn {parameter} on for server {name}: in the portal, the server > Server parameters > {parameter} > ON; or az postgres server configuration set --resource-group {group} --server-name {name} --name {parameter} --value on (az postgres flexible-server parameter set for a flexible server)"),
    )
}

macro_rules! parameter_rule {
    ($rule:ident, $check:ident, $plugin:literal, $class:literal, $event:literal, $field:ident, $parameter:literal, $why:literal, $compliance:expr) => {
        #[doc = concat!("`", $plugin, "`: `", $parameter, "` is off.")]
        pub enum $rule {}

        impl Rule for $rule {
            const NAME: &'static str = $plugin;
            const CLASS: Option<&'static str> = Some($class);
            const DESCRIPTION: &'static str =
                concat!("Flags Azure PostgreSQL servers with ", $parameter, " off.");
            const SELECT: Select = SERVERS;
            const EVENT: &'static str = $event;
            const SEVERITY: Severity = Severity::Low;
            const COMPLIANCE: &'static [&'static str] = $compliance;
            type Ext = PostgresServer;
            fn judge(server: &PostgresServer, id: &str) -> Verdict {
                (server.$field == Some(false)).then(|| parameter_off(id, $parameter, $why))
            }
        }

        #[doc = concat!("`", $plugin, "`.")]
        pub type $check = RuleCheck<$rule>;
    };
}

parameter_rule!(
    LogCheckpointsRule,
    LogCheckpoints,
    "azpostgreslogcheckpointsevent",
    "AzPostgresLogCheckpointsEvent",
    "postgres_log_checkpoints_event",
    log_checkpoints_enabled,
    "log_checkpoints",
    "checkpoints are not logged",
    &["CIS Microsoft Azure Foundations 1.3.0 4.3.3"]
);
parameter_rule!(
    LogConnectionsRule,
    LogConnections,
    "azpostgreslogconnectionsevent",
    "AzPostgresLogConnectionsEvent",
    "postgres_log_connections_event",
    log_connections_enabled,
    "log_connections",
    "connection attempts, including failed logins, are not logged",
    &["CIS Microsoft Azure Foundations 1.3.0 4.3.4"]
);
parameter_rule!(
    LogDisconnectionsRule,
    LogDisconnections,
    "azpostgreslogdisconnectionsevent",
    "AzPostgresLogDisconnectionsEvent",
    "postgres_log_disconnections_event",
    log_disconnections_enabled,
    "log_disconnections",
    "the ends of sessions are not logged",
    &["CIS Microsoft Azure Foundations 1.3.0 4.3.5"]
);
parameter_rule!(
    LogDurationRule,
    LogDuration,
    "azpostgreslogdurationevent",
    "AzPostgresLogDurationEvent",
    "postgres_log_duration_event",
    log_duration_enabled,
    "log_duration",
    "how long statements take is not logged",
    &[]
);
parameter_rule!(
    ConnectionThrottlingRule,
    ConnectionThrottling,
    "azpostgresconnectionthrottlingevent",
    "AzPostgresConnectionThrottlingEvent",
    "postgres_connection_throttling_event",
    connection_throttling_enabled,
    "connection_throttling",
    "repeated failed logins are not throttled",
    &["CIS Microsoft Azure Foundations 1.3.0 4.3.6"]
);

/// The parameters of [`LogRetentionDays`].
#[derive(Debug, Clone, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct LogRetentionParams {
    /// The fewest days of logs a server may keep (upstream's param and
    /// default).
    pub _min_log_retention_days: i64,
}

impl Default for LogRetentionParams {
    fn default() -> Self {
        Self {
            _min_log_retention_days: 3,
        }
    }
}

/// `azpostgreslogretentiondaysevent`: servers that keep their logs fewer
/// than `_min_log_retention_days` days.
pub struct LogRetentionDaysRule {
    minimum: i64,
}

impl ParamRule for LogRetentionDaysRule {
    const NAME: &'static str = "azpostgreslogretentiondaysevent";
    const CLASS: Option<&'static str> = Some("AzPostgresLogRetentionDaysEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure PostgreSQL servers that keep their logs fewer than _min_log_retention_days days.";
    const SELECT: Select = SERVERS;
    const EVENT: &'static str = "postgres_log_retention_days_event";
    const SEVERITY: Severity = Severity::Low;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 4.3.7"];
    type Params = LogRetentionParams;
    type Ext = PostgresServer;

    fn new(params: LogRetentionParams) -> Result<Self, String> {
        let minimum = params._min_log_retention_days;
        if !(1..=7).contains(&minimum) {
            return Err(format!(
                "_min_log_retention_days must be between 1 and 7 (what Azure allows), not {minimum}"
            ));
        }
        Ok(Self { minimum })
    }

    fn judge(&self, server: &PostgresServer, id: &str) -> Verdict {
        let minimum = self.minimum;
        let days = server.log_retention_days?;
        let (group, name) = azure_group_and_name(id);
        (days < minimum).then(|| {
            (
                format!("Azure PostgreSQL server {id} keeps its logs {days} day(s), fewer than {minimum}."),
                format!("Keep the logs of server {name} at least {minimum} days: in the portal, the server > Server parameters > log_retention_days > {minimum}; or az postgres server configuration set --resource-group {group} --server-name {name} --name log_retention_days --value {minimum}"),
            )
        })
    }
}

/// `azpostgreslogretentiondaysevent`.
pub type LogRetentionDays = ParamRuleCheck<LogRetentionDaysRule>;

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::com;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use cloudmarker_plugin_api::sdk::rule::NoParams;
    use cloudmarker_plugin_api::sdk::PluginType;
    use cloudrest::azure;
    use serde_json::{json, Map, Value};

    const ID: &str =
        "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.DBforPostgreSQL/servers/pg1";

    /// A server record as `azpostgres` writes it, with `fields` over a
    /// compliant baseline.
    fn server(fields: Value) -> Value {
        azure::record(&Map::new(), "postgresql_server")
            .com_record_type(Some("rdbms"))
            .reference(ID)
            .com(com::TLS_ENFORCED, true)
            .ext_extend(
                json!({"log_checkpoints_enabled": true, "log_connections_enabled": true,
                       "log_disconnections_enabled": true, "log_duration_enabled": true,
                       "connection_throttling_enabled": true, "log_retention_days": 7})
                .as_object()
                .unwrap()
                .clone(),
            )
            .ext_extend(fields.as_object().unwrap().clone())
            .to_value(&json!({"id": ID}))
    }

    fn others() -> Vec<Value> {
        vec![azure::record(&Map::new(), "mysql_server")
            .com_record_type(Some("rdbms"))
            .ext("log_checkpoints_enabled", false)
            .ext("log_retention_days", 1)
            .to_value(&json!({}))]
    }

    #[test]
    fn each_parameter_check_fires_when_its_parameter_is_off() {
        let events = assert_check(
            &mut LogCheckpoints::new(NoParams {}).unwrap(),
            "postgres_log_checkpoints_event",
            &server(json!({"log_checkpoints_enabled": false})),
            &server(json!({})),
            &others(),
        );
        assert!(events[0]["com"]["recommendation"]
            .as_str()
            .unwrap()
            .contains("--resource-group rg1 --server-name pg1 --name log_checkpoints --value on"));
        assert_check(
            &mut LogConnections::new(NoParams {}).unwrap(),
            "postgres_log_connections_event",
            &server(json!({"log_connections_enabled": false})),
            &server(json!({})),
            &others(),
        );
        assert_check(
            &mut LogDisconnections::new(NoParams {}).unwrap(),
            "postgres_log_disconnections_event",
            &server(json!({"log_disconnections_enabled": false})),
            &server(json!({})),
            &others(),
        );
        assert_check(
            &mut LogDuration::new(NoParams {}).unwrap(),
            "postgres_log_duration_event",
            &server(json!({"log_duration_enabled": false})),
            &server(json!({})),
            &others(),
        );
        assert_check(
            &mut ConnectionThrottling::new(NoParams {}).unwrap(),
            "postgres_connection_throttling_event",
            &server(json!({"connection_throttling_enabled": false})),
            &server(json!({})),
            &others(),
        );
    }

    #[test]
    fn log_retention_below_the_minimum() {
        let mut check = LogRetentionDays::new(LogRetentionParams::default()).unwrap();
        assert_check(
            &mut check,
            "postgres_log_retention_days_event",
            &server(json!({"log_retention_days": 2})),
            &server(json!({"log_retention_days": 3})),
            &others(),
        );
        assert!(LogRetentionDays::new(LogRetentionParams {
            _min_log_retention_days: 30
        })
        .is_err());
    }
}
