//! A cloud plugin that reads the resources of every Azure subscription a
//! service principal can see, and turns NSG rules into `firewall_rule` records.

use crate::nsg::firewall_rule;
use cloudmarker_plugin_api::record::{Record, Text};
use cloudmarker_plugin_api::sdk::{self, Batch, Cloud, PluginType};
use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, subscription_ext, AzureParams, Session};
use cloudrest::{run_bounded, Emitter, LazyStream};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The resource types read in every subscription: record type, ARM path
/// under the subscription, api-version.
const RESOURCES: [(&str, &str, &str); 8] = [
    (
        "virtual_machine",
        "providers/Microsoft.Compute/virtualMachines",
        "2024-07-01",
    ),
    (
        "app_gateway",
        "providers/Microsoft.Network/applicationGateways",
        "2024-03-01",
    ),
    (
        "lb",
        "providers/Microsoft.Network/loadBalancers",
        "2024-03-01",
    ),
    (
        "nic",
        "providers/Microsoft.Network/networkInterfaces",
        "2024-03-01",
    ),
    (
        "nsg",
        "providers/Microsoft.Network/networkSecurityGroups",
        "2024-03-01",
    ),
    (
        "public_ip",
        "providers/Microsoft.Network/publicIPAddresses",
        "2024-03-01",
    ),
    (
        "storage_account",
        "providers/Microsoft.Storage/storageAccounts",
        "2024-01-01",
    ),
    ("resource_group", "resourcegroups", "2021-04-01"),
];

/// Records in flight between the readers and the host.
const IN_FLIGHT: usize = 1024;

/// Reads Azure subscriptions; see the crate README.
pub struct AzCloud {
    session: Arc<Session>,
    stream: LazyStream,
}

impl PluginType for AzCloud {
    type Params = AzureParams;

    fn params_schema() -> Option<serde_json::Value> {
        Some(cloudmarker_plugin_api::sdk::schema::of::<AzureParams>())
    }
    const NAME: &'static str = "azcloud";
    const DESCRIPTION: &'static str =
        "Reads the resources of every Azure subscription and normalises NSG rules.";

    /// Signs in and lists the subscriptions.
    fn health_check(&mut self) -> sdk::Result<String> {
        self.session
            .health()
            .map_err(|e| PluginError::unavailable(format!("azcloud: {e}")))
    }

    fn new(params: AzureParams) -> sdk::Result<Self> {
        let session =
            Session::new(params).map_err(|e| PluginError::config(format!("azcloud: {e}")))?;
        Ok(Self {
            session: Arc::new(session),
            stream: LazyStream::default(),
        })
    }
}

impl Cloud for AzCloud {
    fn read(&mut self, out: &mut Batch) -> sdk::Result<()> {
        let session = Arc::clone(&self.session);
        self.stream
            .read(out, "azcloud-reader", IN_FLIGHT, move |emit| {
                collect(&session, &emit)
            })
    }

    fn done(&mut self) -> sdk::Result<()> {
        self.stream.close();
        Ok(())
    }
}

/// What was read from one subscription, for its summary record.
#[derive(Default)]
struct Collected {
    counts: BTreeMap<&'static str, usize>,
    failures: BTreeMap<&'static str, String>,
}

/// Reads everything and emits records, then one summary per subscription.
fn collect(session: &Session, emit: &Emitter) {
    let subscriptions = match session.subscriptions() {
        Ok(subscriptions) => subscriptions,
        Err(e) => {
            let message = format!("azcloud: cannot list subscriptions: {e}");
            log::error!("{message}");
            emit.problem(PluginError::unavailable(message));
            return;
        }
    };
    log::info!("Reading {} subscription(s).", subscriptions.len());
    let collected: Mutex<BTreeMap<usize, Collected>> = Mutex::default();
    let tasks: Vec<(usize, &Value, (&'static str, &str, &str))> = subscriptions
        .iter()
        .enumerate()
        .flat_map(|(i, s)| RESOURCES.iter().map(move |r| (i, s, *r)))
        .collect();
    run_bounded(
        tasks,
        session.params.max_concurrency,
        |(index, subscription, resource)| {
            let result = read_type(session, subscription, resource, emit);
            let mut collected = collected.lock().unwrap_or_else(|e| e.into_inner());
            let entry = collected.entry(index).or_default();
            match result {
                Ok(count) => {
                    entry.counts.insert(resource.0, count);
                }
                Err(message) => {
                    emit.problem(PluginError::partial(0, message.clone()));
                    entry.failures.insert(resource.0, message);
                }
            }
        },
    );
    let collected = collected.into_inner().unwrap_or_else(|e| e.into_inner());
    for (index, subscription) in subscriptions.iter().enumerate() {
        let summary = collected.get(&index);
        if !emit.record(summary_record(subscription, summary).to_string()) {
            return;
        }
    }
}

/// Reads one resource type of one subscription; returns the record count.
fn read_type(
    session: &Session,
    subscription: &Value,
    (record_type, path, api): (&'static str, &str, &str),
    emit: &Emitter,
) -> Result<usize, String> {
    let sub_id = subscription
        .get("subscriptionId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let url = format!(
        "{}/subscriptions/{sub_id}/{path}?api-version={api}",
        session.resource_manager
    );
    let what = format!("subscription {sub_id}: listing {record_type}");
    let sub_ext = subscription_ext(subscription);
    let max = session.params.max_recs;
    let mut count = 0;
    let mut reader_gone = false;
    azure::list_raw(&session.http, &what, &url, &session.token, |items| {
        for item in items {
            if (max > 0 && count >= max) || reader_gone {
                return;
            }
            count += 1;
            reader_gone |= !emit.record(resource_record(item, record_type, &sub_ext));
            if record_type == "nsg" {
                let Ok(nsg) = serde_json::from_str::<Value>(item.get()) else {
                    continue;
                };
                for rule in nsg_rules(&nsg) {
                    let nsg_id = nsg.get("id").and_then(Value::as_str).unwrap_or_default();
                    reader_gone |= !emit.record(firewall_rule(rule, nsg_id, &sub_ext).to_string());
                }
            }
        }
    })
    .map_err(|e| format!("azcloud: {e}"))?;
    Ok(count)
}

/// The record of one listed resource: its JSON text as `raw`, unchanged.
fn resource_record(item: &RawValue, record_type: &str, sub_ext: &Map<String, Value>) -> String {
    let mut ext = sub_ext.clone();
    ext.insert("cloud_type".into(), "azure".into());
    ext.insert("record_type".into(), record_type.into());
    let common_type = if record_type == "virtual_machine" {
        Value::from("compute")
    } else {
        Value::Null
    };
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow, default)]
        id: Text<'a>,
    }
    let reference = serde_json::from_str::<Id<'_>>(item.get())
        .map(|item| item.id.as_str().map(str::to_string))
        .unwrap_or_default();
    let com = json!({"cloud_type": "azure", "record_type": common_type, "reference": reference});
    Record {
        raw: item,
        ext: &ext,
        com: &com,
    }
    .to_json()
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

/// Says what was read from a subscription and what could not be, so that a
/// permission error is never mistaken for an empty, clean subscription.
fn summary_record(subscription: &Value, collected: Option<&Collected>) -> Value {
    let empty = Collected::default();
    let collected = collected.unwrap_or(&empty);
    let missing: Vec<&str> = RESOURCES
        .iter()
        .map(|r| r.0)
        .filter(|t| !collected.counts.contains_key(t) && !collected.failures.contains_key(t))
        .collect();
    let complete = collected.failures.is_empty() && missing.is_empty();
    let sub_id = subscription
        .get("subscriptionId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let counts: Vec<String> = collected
        .counts
        .iter()
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    if complete {
        log::info!("Subscription {sub_id}: read {}.", counts.join(", "));
    } else {
        let failed: Vec<String> = collected
            .failures
            .keys()
            .map(|t| t.to_string())
            .chain(missing.iter().map(|t| t.to_string()))
            .collect();
        log::warn!(
            "Subscription {sub_id}: read {}; could NOT read {}.",
            counts.join(", "),
            failed.join(", ")
        );
    }
    let mut ext = subscription_ext(subscription);
    ext.insert("cloud_type".into(), "azure".into());
    ext.insert("record_type".into(), "collection_summary".into());
    ext.insert("collected".into(), json!(collected.counts));
    ext.insert("failed".into(), json!(collected.failures));
    ext.insert("complete".into(), complete.into());
    json!({
        "raw": subscription,
        "ext": ext,
        "com": {"cloud_type": "azure", "record_type": "collection_summary", "reference": subscription.get("id")},
    })
}
