//! A cloud plugin that reads every Azure virtual machine with its instance
//! view: power state, disk encryption and extensions.

use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, subscription_ext, AzurePlugin, Reader, Session};
use cloudrest::{run_bounded, Collected, Emitter};
use serde_json::{json, Map, Value};
use std::sync::Mutex;

const API_VERSION: &str = "2024-07-01";

/// Reads Azure VMs with their instance views; see the crate README.
pub enum AzVmReader {}

impl Reader for AzVmReader {
    const NAME: &'static str = "azvm";
    const CLASS: Option<&'static str> = Some("AzVM");
    const DESCRIPTION: &'static str = "Reads every Azure virtual machine with its instance view.";
    const IN_FLIGHT: usize = 256;

    fn collect(session: &Session, emit: &Emitter) {
        read_all(session, emit);
    }
}

/// The `azvm` cloud plugin (upstream's class of that name).
pub type AzVm = AzurePlugin<AzVmReader>;

/// The record type counted in a subscription's `collection_summary`.
const VIEWS: &str = "vm_instance_view";

fn read_all(session: &Session, emit: &Emitter) {
    let Some(subscriptions) = session.subscriptions_for("azvm", emit) else {
        return;
    };
    let collected: Vec<Mutex<Collected>> = subscriptions.iter().map(|_| Mutex::default()).collect();
    let vms: Mutex<Vec<(usize, Value)>> = Mutex::default();
    let fail = |index: usize, message: String| {
        emit.problem(PluginError::partial(0, message.clone()));
        collected[index]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fail(VIEWS, message);
    };
    let max = session.params.max_recs;
    run_bounded(
        subscriptions.iter().enumerate().collect(),
        session.params.max_concurrency,
        |(index, subscription)| {
            let sub_id = subscription
                .get("subscriptionId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let url = format!("{}/subscriptions/{sub_id}/providers/Microsoft.Compute/virtualMachines?api-version={API_VERSION}", session.resource_manager);
            let mut found = Vec::new();
            let result = azure::list(
                &session.http,
                &format!("subscription {sub_id}: listing virtual machines"),
                &url,
                &session.token,
                |items| {
                    found.extend(items.into_iter().map(|vm| (index, vm)));
                },
            );
            if max > 0 {
                found.truncate(max);
            }
            match result {
                Ok(_) => {
                    // Listed: a subscription without VMs is complete, not unread.
                    collected[index]
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .count(VIEWS, 0);
                    vms.lock().unwrap_or_else(|e| e.into_inner()).extend(found);
                }
                Err(e) => fail(index, format!("azvm: {e}")),
            }
        },
    );
    let vms = vms.into_inner().unwrap_or_else(|e| e.into_inner());
    run_bounded(vms, session.params.max_concurrency, |(index, mut vm)| {
        let id = vm
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let url = format!(
            "{}{id}/instanceView?api-version={API_VERSION}",
            session.resource_manager
        );
        let token = match session.token.get() {
            Ok(token) => token,
            Err(e) => return fail(index, format!("azvm: {e}")),
        };
        match session
            .http
            .get_json(&format!("instance view of {id}"), &url, &token)
        {
            Ok(view) => {
                if let Some(props) = vm.get_mut("properties").and_then(Value::as_object_mut) {
                    props.insert("instanceView".into(), view);
                } else if let Some(object) = vm.as_object_mut() {
                    object.insert("properties".into(), json!({"instanceView": view}));
                }
                collected[index]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .count(VIEWS, 1);
                emit.record(vm_record(&subscriptions[index], &vm, &id));
            }
            Err(e) => fail(index, format!("azvm: {e}")),
        }
    });
    for (subscription, collected) in subscriptions.iter().zip(collected) {
        let collected = collected.into_inner().unwrap_or_else(|e| e.into_inner());
        let summary = azure::summary_record(session, subscription, Some(&collected), &[VIEWS]);
        if !emit.record(summary) {
            return;
        }
    }
}

/// The `vm_instance_view` record (`com.record_type` `compute`) of `vm`
/// (with its instance view) of `subscription`.
fn vm_record(subscription: &Value, vm: &Value, id: &str) -> String {
    azure::record(&subscription_ext(subscription), VIEWS)
        .com_record_type(Some("compute"))
        .reference(id)
        .ext_extend(vm_ext(vm))
        .to_json(vm)
}

/// The `ext` fields derived from a VM with its instance view (besides
/// those of every record): `power_state`, `os_disk_encrypted`,
/// `all_data_disks_encrypted` and `extensions`.
pub fn vm_ext(vm: &Value) -> Map<String, Value> {
    let view = vm
        .pointer("/properties/instanceView")
        .unwrap_or(&Value::Null);
    let power_state = view
        .get("statuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("code").and_then(Value::as_str))
        .find_map(|code| code.strip_prefix("PowerState/"))
        .map(str::to_ascii_lowercase);
    let os_disk = vm
        .pointer("/properties/storageProfile/osDisk/name")
        .and_then(Value::as_str);
    let disks: Vec<&Value> = view
        .get("disks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let is_os = |d: &Value| os_disk.is_some() && d.get("name").and_then(Value::as_str) == os_disk;
    let os_disk_encrypted = disks
        .iter()
        .find(|d| is_os(d))
        .is_some_and(|d| encrypted(d));
    let all_data_disks_encrypted = disks.iter().filter(|d| !is_os(d)).all(|d| encrypted(d));
    let extensions: Vec<Value> = view
        .get("extensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("name").cloned())
        .collect();
    let mut ext = Map::new();
    ext.insert(
        "power_state".into(),
        power_state.map_or(Value::Null, Value::from),
    );
    ext.insert("os_disk_encrypted".into(), os_disk_encrypted.into());
    ext.insert(
        "all_data_disks_encrypted".into(),
        all_data_disks_encrypted.into(),
    );
    ext.insert("extensions".into(), extensions.into());
    ext
}

/// A disk is encrypted when one of its encryption settings is enabled; no
/// settings count as unencrypted.
fn encrypted(disk: &Value) -> bool {
    disk.get("encryptionSettings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|s| s.get("enabled") == Some(&Value::Bool(true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::{com, ext};

    fn vm(disks: Value) -> Value {
        json!({"id": "/vm/1", "properties": {
            "storageProfile": {"osDisk": {"name": "osdisk"}},
            "instanceView": {
                "statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/Running"}],
                "disks": disks,
                "extensions": [{"name": "IaaSAntimalware"}, {"name": "MMA"}]
            }
        }})
    }

    #[test]
    fn derives_power_state_encryption_and_extensions() {
        let ext = vm_ext(&vm(json!([
            {"name": "osdisk", "encryptionSettings": [{"enabled": true}]},
            {"name": "data0", "encryptionSettings": [{"enabled": false}, {"enabled": true}]}
        ])));
        assert_eq!(ext["power_state"], "running");
        assert_eq!(ext["os_disk_encrypted"], true);
        assert_eq!(ext["all_data_disks_encrypted"], true);
        assert_eq!(ext["extensions"], json!(["IaaSAntimalware", "MMA"]));
    }

    #[test]
    fn the_record_is_a_vm_instance_view_of_its_subscription() {
        let vm = vm(json!([{"name": "osdisk", "encryptionSettings": [{"enabled": true}]}]));
        let record: Value =
            serde_json::from_str(&vm_record(&json!({"subscriptionId": "s1"}), &vm, "/vm/1"))
                .unwrap();
        assert_eq!(record["raw"], vm);
        assert_eq!(
            record["ext"],
            json!({"subscription_id": "s1", "subscription_name": null, "subscription_state": null,
                   "tenant_id": null, ext::CLOUD_TYPE: "azure", ext::RECORD_TYPE: VIEWS,
                   "power_state": "running", "os_disk_encrypted": true,
                   "all_data_disks_encrypted": true, "extensions": ["IaaSAntimalware", "MMA"]})
        );
        assert_eq!(
            record["com"],
            json!({com::CLOUD_TYPE: "azure", com::RECORD_TYPE: "compute", com::REFERENCE: "/vm/1"})
        );
    }

    #[test]
    fn missing_or_disabled_settings_are_unencrypted() {
        // The disks of Microsoft's published instance view have no settings.
        let ext = vm_ext(&vm(
            json!([{"name": "osdisk", "statuses": []}, {"name": "data0", "encryptionSettings": [{"enabled": false}]}]),
        ));
        assert_eq!(ext["os_disk_encrypted"], false);
        assert_eq!(ext["all_data_disks_encrypted"], false);
        let ext = vm_ext(&vm(
            json!([{"name": "osdisk", "encryptionSettings": [{"enabled": true}]}]),
        ));
        assert_eq!(ext["all_data_disks_encrypted"], true, "no data disks");
        assert_eq!(vm_ext(&json!({"id": "x"}))["power_state"], Value::Null);
    }
}
