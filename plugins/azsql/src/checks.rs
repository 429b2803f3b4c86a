//! Checks of Azure SQL records: upstream's transparent data encryption
//! check, and server auditing.

use crate::azsql::{SqlDatabase, SqlServer, SQL_DB, SQL_SERVER};
use cloudmarker_plugin_api::sdk::check::Select;
use cloudmarker_plugin_api::sdk::check::Severity;
use cloudmarker_plugin_api::sdk::rule::{azure_group_and_name, Rule, RuleCheck, Verdict};

/// `azsqldatabasetdeevent`: databases without transparent data encryption.
pub enum TdeRule {}

impl Rule for TdeRule {
    const NAME: &'static str = "azsqldatabasetdeevent";
    const CLASS: Option<&'static str> = Some("AzSQLDatabaseTDEEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure SQL databases without transparent data encryption.";
    const SELECT: Select = Select::ext(&[SQL_DB]).in_cloud("azure");
    const EVENT: &'static str = "sql_db_tde_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 4.1.2"];
    type Ext = SqlDatabase;
    fn judge(db: &SqlDatabase, id: &str) -> Verdict {
        (db.tde_enabled == Some(false)).then(|| {
            let parts: Vec<&str> = id.split('/').collect();
            let after = |key: &str| {
                parts.iter().position(|p| p.eq_ignore_ascii_case(key)).and_then(|i| parts.get(i + 1)).copied().unwrap_or("?")
            };
            let (group, server, name) = (after("resourceGroups"), after("servers"), after("databases"));
            (
                format!("Azure SQL database {id} is not encrypted at rest: transparent data encryption is off."),
                format!("Turn on transparent data encryption for database {name}: in the portal, the database > Security > Transparent data encryption > ON; or az sql db tde set --resource-group {group} --server {server} --database {name} --status Enabled"),
            )
        })
    }
}

/// `azsqlserverauditingevent` (beyond upstream): servers without auditing.
pub enum ServerAuditingRule {}

impl Rule for ServerAuditingRule {
    const NAME: &'static str = "azsqlserverauditingevent";
    const DESCRIPTION: &'static str = "Flags Azure SQL servers without auditing.";
    const SELECT: Select = Select::ext(&[SQL_SERVER]).in_cloud("azure");
    const EVENT: &'static str = "sql_server_auditing_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 4.1.1"];
    type Ext = SqlServer;
    fn judge(server: &SqlServer, id: &str) -> Verdict {
        (server.auditing_enabled == Some(false)).then(|| {
            let (group, name) = azure_group_and_name(id);
            (
                format!("Azure SQL server {id} does not audit: database events are not recorded anywhere."),
                format!("Turn on auditing for server {name}: in the portal, the SQL server > Security > Auditing > Enable Azure SQL Auditing, with a storage account, Log Analytics or Event Hubs as the destination; or az sql server audit-policy update --resource-group {group} --name {name} --state Enabled --lats Enabled --lawri <workspace id>"),
            )
        })
    }
}

/// `azsqldatabasetdeevent`.
pub type Tde = RuleCheck<TdeRule>;
/// `azsqlserverauditingevent`.
pub type ServerAuditing = RuleCheck<ServerAuditingRule>;

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use cloudmarker_plugin_api::sdk::rule::NoParams;
    use cloudmarker_plugin_api::sdk::PluginType;
    use cloudrest::azure;
    use serde_json::{json, Map, Value};

    const DB: &str =
        "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/sql1/databases/db1";
    const SERVER: &str =
        "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/sql1";

    /// A record as `azsql` writes it: `record_type` in `ext`, `com_type`
    /// in `com`, with the `ext` fields `ext`.
    fn record(record_type: &str, com_type: &str, reference: &str, ext: Value) -> Value {
        azure::record(&Map::new(), record_type)
            .com_record_type(Some(com_type))
            .reference(reference)
            .ext_extend(ext.as_object().unwrap().clone())
            .to_value(&json!({}))
    }

    #[test]
    fn databases_without_tde() {
        let events = assert_check(
            &mut Tde::new(NoParams {}).unwrap(),
            "sql_db_tde_event",
            &record(SQL_DB, "database", DB, json!({"tde_enabled": false})),
            &record(SQL_DB, "database", DB, json!({"tde_enabled": true})),
            &[record(
                SQL_SERVER,
                SQL_SERVER,
                SERVER,
                json!({"tde_enabled": false}),
            )],
        );
        assert!(events[0]["com"]["recommendation"]
            .as_str()
            .unwrap()
            .contains(
            "az sql db tde set --resource-group rg1 --server sql1 --database db1 --status Enabled"
        ));
    }

    #[test]
    fn servers_without_auditing() {
        assert_check(
            &mut ServerAuditing::new(NoParams {}).unwrap(),
            "sql_server_auditing_event",
            &record(
                SQL_SERVER,
                SQL_SERVER,
                SERVER,
                json!({"auditing_enabled": false}),
            ),
            &record(
                SQL_SERVER,
                SQL_SERVER,
                SERVER,
                json!({"auditing_enabled": true}),
            ),
            &[record(
                SQL_DB,
                "database",
                DB,
                json!({"auditing_enabled": false}),
            )],
        );
    }
}
