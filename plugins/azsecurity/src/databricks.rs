//! The `azdatabricks` cloud plugin: the Azure Databricks workspaces of
//! every subscription, with their network settings, the network security
//! groups of the subnets of a workspace deployed in the customer's own
//! virtual network, and each workspace's diagnostic settings.

use crate::lists::{text, Input, Lister, Listing, Records, Subscription};
use cloudrest::azure::{self, AzurePlugin, Collected, ResourceType, Session};
use serde_json::{json, Value};

/// `record_type` of a Databricks workspace.
pub const DATABRICKS_WORKSPACE: &str = "databricks_workspace";
/// `record_type` of the subnets of a workspace deployed in a virtual
/// network of the customer's (VNet injection), one record per workspace.
pub const DATABRICKS_SUBNETS: &str = "databricks_subnets";
/// `record_type` of the diagnostic settings of a workspace, all in one
/// record (so that none is a record too).
pub const DATABRICKS_DIAGNOSTIC_SETTINGS: &str = "databricks_diagnostic_settings";

/// Databricks workspaces (`Microsoft.Databricks/workspaces/read`).
const WORKSPACES: ResourceType = ResourceType {
    record_type: DATABRICKS_WORKSPACE,
    path: "providers/Microsoft.Databricks/workspaces",
    api_version: "2024-05-01",
};

/// The api-version of a virtual network's read.
const NETWORK_API: &str = "2024-03-01";
/// The api-version of a resource's diagnostic settings.
const DIAGNOSTIC_API: &str = "2021-05-01-preview";

/// Reads each subscription's Databricks workspaces (one
/// `databricks_workspace` record each), for each workspace in a virtual
/// network of the customer's the NSGs of its two subnets (one
/// `databricks_subnets` record, from the virtual network), and each
/// workspace's diagnostic settings (one `databricks_diagnostic_settings`
/// record); then one `collection_summary` per subscription.
pub enum AzDatabricksReader {}

impl Lister for AzDatabricksReader {
    const NAME: &'static str = "azdatabricks";
    const DESCRIPTION: &'static str =
        "Reads the Azure Databricks workspaces of every Azure subscription, their subnets' network security groups and their diagnostic settings.";

    const TYPES: &'static [ResourceType] = &[WORKSPACES];
    const MORE: &'static [&'static str] = &[DATABRICKS_SUBNETS, DATABRICKS_DIAGNOSTIC_SETTINGS];
    const RECORDS: Records = records;
}

/// The `azdatabricks` cloud plugin.
pub type AzDatabricks = AzurePlugin<Listing<AzDatabricksReader>>;

/// The records of one subscription.
fn records(input: &Input<'_>, read: &mut Collected) -> Vec<String> {
    let (session, sub, lists) = (input.session, input.sub, input.lists);
    let Some(workspaces) = lists.get(DATABRICKS_WORKSPACE) else {
        return Vec::new();
    };
    // Read, even when there is no workspace (then none).
    read.count(DATABRICKS_SUBNETS, 0);
    read.count(DATABRICKS_DIAGNOSTIC_SETTINGS, 0);
    let mut records = Vec::new();
    for workspace in workspaces {
        records.push(workspace_record(sub, workspace));
        records.extend(subnets_record(session, sub, workspace, read));
        records.extend(diagnostic_record(session, sub, workspace, read));
    }
    records
}

/// The value of a workspace parameter (`properties.parameters.<name>.value`).
fn parameter<'a>(workspace: &'a Value, name: &str) -> Option<&'a Value> {
    workspace
        .pointer(&format!("/properties/parameters/{name}/value"))
        .filter(|v| !v.is_null())
}

/// A workspace: `raw` as listed; in `ext`, `custom_vnet_id`
/// (`parameters.customVirtualNetworkId`, null when Azure manages the
/// network), `no_public_ip` (`parameters.enableNoPublicIp`, null when not
/// set), `public_network_access` (`Enabled` when not set, as Azure reads
/// it) and `approved_private_endpoints` (how many private endpoint
/// connections are approved).
fn workspace_record(sub: &Subscription<'_>, workspace: &Value) -> String {
    let approved = workspace
        .pointer("/properties/privateEndpointConnections")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| {
            text(
                c,
                &["properties", "privateLinkServiceConnectionState", "status"],
            ) == Some("Approved")
        })
        .count();
    azure::record(sub.ext, DATABRICKS_WORKSPACE)
        .reference(workspace.get("id").cloned().unwrap_or(Value::Null))
        .ext(
            "custom_vnet_id",
            parameter(workspace, "customVirtualNetworkId").cloned(),
        )
        .ext(
            "no_public_ip",
            parameter(workspace, "enableNoPublicIp").cloned(),
        )
        .ext(
            "public_network_access",
            text(workspace, &["properties", "publicNetworkAccess"]).unwrap_or("Enabled"),
        )
        .ext("approved_private_endpoints", approved)
        .to_json(workspace)
}

/// GETs one ARM resource (`id` a path under the Resource Manager).
fn get(session: &Session, what: &str, path: &str, api: &str) -> Result<Value, String> {
    let url = format!("{}{path}?api-version={api}", session.resource_manager);
    session.token.get().and_then(|token| {
        session
            .http
            .get_json(what, &url, &token)
            .map_err(|e| e.to_string())
    })
}

/// For a workspace in a virtual network of the customer's, its two subnets
/// (`customPublicSubnetName`, `customPrivateSubnetName`) as the virtual
/// network has them (`Microsoft.Network/virtualNetworks/read`): `raw` has
/// the workspace's id and the subnets; `ext.workspace`,
/// `ext.subnets_without_nsg` (the workspace's subnets with no network
/// security group, or not found in the network). None for a workspace
/// whose network Azure manages; a network that cannot be read is counted
/// as failed.
fn subnets_record(
    session: &Session,
    sub: &Subscription<'_>,
    workspace: &Value,
    read: &mut Collected,
) -> Option<String> {
    let vnet_id = parameter(workspace, "customVirtualNetworkId")?.as_str()?;
    let name = text(workspace, &["name"]).unwrap_or("?");
    let what = format!(
        "subscription {}: reading the virtual network of Databricks workspace {name}",
        sub.subscription_id
    );
    let vnet = match get(session, &what, vnet_id, NETWORK_API) {
        Ok(vnet) => vnet,
        Err(e) => {
            log::warn!("azdatabricks: {e}");
            read.fail(DATABRICKS_SUBNETS, format!("azdatabricks: {e}"));
            return None;
        }
    };
    read.count(DATABRICKS_SUBNETS, 1);
    let listed: Vec<&Value> = vnet
        .pointer("/properties/subnets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let mut subnets = Vec::new();
    let mut without = Vec::new();
    for wanted in ["customPublicSubnetName", "customPrivateSubnetName"] {
        let Some(subnet_name) = parameter(workspace, wanted).and_then(Value::as_str) else {
            continue;
        };
        let subnet = listed
            .iter()
            .find(|s| text(s, &["name"]) == Some(subnet_name));
        let has_nsg = subnet
            .and_then(|s| text(s, &["properties", "networkSecurityGroup", "id"]))
            .is_some_and(|id| !id.is_empty());
        if !has_nsg {
            without.push(subnet_name.to_string());
        }
        if let Some(subnet) = subnet {
            subnets.push((*subnet).clone());
        }
    }
    Some(
        azure::record(sub.ext, DATABRICKS_SUBNETS)
            .reference(workspace.get("id").cloned().unwrap_or(Value::Null))
            .ext("workspace", name)
            .ext("virtual_network_id", vnet_id)
            .ext("subnets_without_nsg", without)
            .to_json(&json!({
                "workspaceId": workspace.get("id"),
                "virtualNetworkId": vnet_id,
                "subnets": subnets,
            })),
    )
}

/// A workspace's diagnostic settings (`Microsoft.Insights/
/// diagnosticSettings/read` on the workspace): `raw.diagnosticSettings` as
/// listed; `ext.workspace` and `ext.delivering_settings`, the names of the
/// settings that send some log category to a destination (a Log Analytics
/// workspace, a storage account, an event hub or a partner). A workspace
/// whose settings cannot be read is counted as failed.
fn diagnostic_record(
    session: &Session,
    sub: &Subscription<'_>,
    workspace: &Value,
    read: &mut Collected,
) -> Option<String> {
    let id = text(workspace, &["id"])?;
    let name = text(workspace, &["name"]).unwrap_or("?");
    let url = format!(
        "{}{id}/providers/Microsoft.Insights/diagnosticSettings?api-version={DIAGNOSTIC_API}",
        session.resource_manager
    );
    let what = format!(
        "subscription {}: listing the diagnostic settings of Databricks workspace {name}",
        sub.subscription_id
    );
    let mut settings = Vec::new();
    let listed = azure::list(&session.http, &what, &url, &session.token, |page| {
        settings.extend(page)
    });
    if let Err(e) = listed {
        log::warn!("azdatabricks: {e}");
        read.fail(DATABRICKS_DIAGNOSTIC_SETTINGS, format!("azdatabricks: {e}"));
        return None;
    }
    read.count(DATABRICKS_DIAGNOSTIC_SETTINGS, 1);
    let delivering: Vec<&str> = settings
        .iter()
        .filter(|s| delivers_logs(s))
        .filter_map(|s| text(s, &["name"]))
        .collect();
    Some(
        azure::record(sub.ext, DATABRICKS_DIAGNOSTIC_SETTINGS)
            .reference(id)
            .ext("workspace", name)
            .ext("delivering_settings", delivering)
            .to_json(&json!({ "diagnosticSettings": settings })),
    )
}

/// Whether a diagnostic setting sends some log category (or category
/// group) somewhere.
pub(crate) fn delivers_logs(setting: &Value) -> bool {
    let destination = [
        "workspaceId",
        "storageAccountId",
        "eventHubAuthorizationRuleId",
        "marketplacePartnerId",
    ]
    .iter()
    .any(|d| text(setting, &["properties", d]).is_some_and(|v| !v.is_empty()));
    let logs = setting
        .pointer("/properties/logs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|l| l.get("enabled").and_then(Value::as_bool) == Some(true));
    destination && logs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_delivers_logs_when_it_has_a_destination_and_an_enabled_log() {
        let setting = |props: Value| json!({"name": "s", "properties": props});
        assert!(delivers_logs(&setting(json!({
            "workspaceId": "/w", "logs": [{"category": "jobs", "enabled": true}]}))));
        assert!(!delivers_logs(&setting(json!({
            "workspaceId": "/w", "logs": [{"category": "jobs", "enabled": false}]}))));
        assert!(!delivers_logs(&setting(json!({
            "logs": [{"categoryGroup": "allLogs", "enabled": true}]}))));
        assert!(!delivers_logs(&setting(json!({"storageAccountId": "/s"}))));
    }

    #[test]
    fn a_workspace_says_what_its_parameters_say() {
        let sub_ext = serde_json::Map::new();
        let sub = Subscription {
            ext: &sub_ext,
            id: "/subscriptions/s1",
            subscription_id: "s1",
        };
        let listed = json!({"id": "/w1", "name": "w1", "properties": {"parameters": null}});
        let record: Value = serde_json::from_str(&workspace_record(&sub, &listed)).unwrap();
        assert_eq!(record["ext"]["custom_vnet_id"], Value::Null);
        assert_eq!(record["ext"]["no_public_ip"], Value::Null);
        assert_eq!(record["ext"]["public_network_access"], "Enabled");
        assert_eq!(record["ext"]["approved_private_endpoints"], 0);
        let injected = json!({"id": "/w2", "name": "w2", "properties": {
            "parameters": {"customVirtualNetworkId": {"type": "String", "value": "/vnet"},
                           "enableNoPublicIp": {"type": "Bool", "value": true}},
            "publicNetworkAccess": "Disabled",
            "privateEndpointConnections": [
                {"properties": {"privateLinkServiceConnectionState": {"status": "Approved"}}},
                {"properties": {"privateLinkServiceConnectionState": {"status": "Pending"}}}]}});
        let record: Value = serde_json::from_str(&workspace_record(&sub, &injected)).unwrap();
        assert_eq!(record["ext"]["custom_vnet_id"], "/vnet");
        assert_eq!(record["ext"]["no_public_ip"], true);
        assert_eq!(record["ext"]["public_network_access"], "Disabled");
        assert_eq!(record["ext"]["approved_private_endpoints"], 1);
    }
}
