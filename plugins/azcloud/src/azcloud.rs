//! A cloud plugin that reads the resources of every Azure subscription a
//! service principal can see, and turns NSG rules into `firewall_rule` records.

use crate::nsg::firewall_rule;
use cloudmarker_plugin_api::record::com;
use cloudrest::azure::{self, AzurePlugin, Reader, ResourceType, Session};
use cloudrest::Emitter;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The resource types read in every subscription.
const RESOURCES: [ResourceType; 11] = [
    azure::SUBSCRIPTION,
    resource(
        "virtual_machine",
        "providers/Microsoft.Compute/virtualMachines",
        "2024-07-01",
    ),
    resource(
        "app_gateway",
        "providers/Microsoft.Network/applicationGateways",
        "2024-03-01",
    ),
    resource(
        "lb",
        "providers/Microsoft.Network/loadBalancers",
        "2024-03-01",
    ),
    resource(
        "nic",
        "providers/Microsoft.Network/networkInterfaces",
        "2024-03-01",
    ),
    resource(
        "nsg",
        "providers/Microsoft.Network/networkSecurityGroups",
        "2024-03-01",
    ),
    resource(
        "public_ip",
        "providers/Microsoft.Network/publicIPAddresses",
        "2024-03-01",
    ),
    resource(
        "storage_account",
        "providers/Microsoft.Storage/storageAccounts",
        "2024-01-01",
    ),
    resource("resource_group", "resourcegroups", "2021-04-01"),
    resource(
        "mysql_server",
        "providers/Microsoft.DBforMySQL/servers",
        "2017-12-01",
    ),
    resource("web_apps", "providers/Microsoft.Web/sites", "2023-12-01"),
];

const fn resource(
    record_type: &'static str,
    path: &'static str,
    api_version: &'static str,
) -> ResourceType {
    ResourceType {
        record_type,
        path,
        api_version,
    }
}

/// Reads Azure subscriptions; see the crate README.
pub enum AzCloudReader {}

impl Reader for AzCloudReader {
    const NAME: &'static str = "azcloud";
    const CLASS: Option<&'static str> = Some("AzCloud");
    const DESCRIPTION: &'static str =
        "Reads the resources of every Azure subscription and normalises NSG rules.";

    fn collect(session: &Session, emit: &Emitter) {
        read_all(session, emit);
    }
}

/// The `azcloud` cloud plugin (upstream's class of that name).
pub type AzCloud = AzurePlugin<AzCloudReader>;

/// Reads everything and emits records, then one summary per subscription.
fn read_all(session: &Session, emit: &Emitter) {
    azure::collect(session, "azcloud", &RESOURCES, emit, |listed, emit, _| {
        let record_type = listed.resource.record_type;
        let mut alive = emit.record(resource_record(
            listed.item,
            record_type,
            listed.subscription,
        ));
        if record_type == "nsg" {
            let Ok(nsg) = serde_json::from_str::<Value>(listed.item.get()) else {
                return alive;
            };
            let nsg_id = nsg.get("id").and_then(Value::as_str).unwrap_or_default();
            for rule in nsg_rules(&nsg) {
                alive &= emit.record(firewall_rule(rule, nsg_id, listed.subscription));
            }
        }
        alive
    });
}

/// The record of one listed resource: its JSON text as `raw`, unchanged.
fn resource_record(item: &RawValue, record_type: &str, sub_ext: &Map<String, Value>) -> String {
    let record = azure::record(sub_ext, record_type).reference(azure::item_id(item));
    match record_type {
        "virtual_machine" => record.com_record_type(Some("compute")),
        // Every MySQL server (upstream emitted only the first of a
        // subscription), in the common model of database servers.
        "mysql_server" => record
            .com_record_type(Some("rdbms"))
            .com(com::TLS_ENFORCED, ssl_enforced(item)),
        _ => record.com_record_type(None),
    }
    .to_json(item)
}

/// Whether a MySQL single server refuses connections without TLS.
fn ssl_enforced(item: &RawValue) -> bool {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Properties {
        ssl_enforcement: Option<String>,
    }
    #[derive(serde::Deserialize, Default)]
    struct Server {
        #[serde(default)]
        properties: Properties,
    }
    let server: Server = serde_json::from_str(item.get()).unwrap_or_default();
    server.properties.ssl_enforcement.as_deref() == Some("Enabled")
}

/// An NSG's security rules followed by its default rules.
fn nsg_rules(nsg: &Value) -> impl Iterator<Item = &Value> {
    ["securityRules", "defaultSecurityRules"]
        .into_iter()
        .filter_map(|key| {
            nsg.pointer(&format!("/properties/{key}"))
                .and_then(Value::as_array)
        })
        .flatten()
}
