//! The `azvmextensionevent` check (upstream's `AzVMExtensionEvent`): flags
//! Azure virtual machines, from the `vm_instance_view` records of `azvm`,
//! that run an extension of `blacklisted`, one not in `whitelisted` (when it
//! is given), or that lack one of `required`.

use cloudmarker_plugin_api::sdk::check::{Check, ExtRecord, Findings, Select, Severity};
use cloudmarker_plugin_api::sdk::{self, schema, PluginType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Parameters (upstream's names and defaults: empty lists check nothing).
#[derive(Debug, Clone, Default, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct Params {
    /// The only extensions allowed (empty: any).
    pub whitelisted: Vec<String>,
    /// Extensions that must not be installed.
    pub blacklisted: Vec<String>,
    /// Extensions that must be installed.
    pub required: Vec<String>,
}

/// The VM fields the check reads.
#[derive(Default, Deserialize)]
struct Vm {
    #[serde(default)]
    extensions: Vec<String>,
}

/// Flags VMs by their extensions; see the crate documentation.
pub struct AzVmExtensionEvent {
    params: Params,
}

impl PluginType for AzVmExtensionEvent {
    type Params = Params;
    const NAME: &'static str = "azvmextensionevent";
    const CLASS: Option<&'static str> = Some("AzVMExtensionEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure virtual machines with blacklisted, unapproved or missing extensions.";

    fn new(params: Params) -> sdk::Result<Self> {
        Ok(Self { params })
    }
}

impl Check for AzVmExtensionEvent {
    const SELECT: Select = Select::ext(&["vm_instance_view"]).in_cloud("azure");
    const SEVERITY: Severity = Severity::Medium;
    type Record<'a> = ExtRecord<'a>;

    fn check(&mut self, record: ExtRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        let p = &self.params;
        for (event, what, fix) in [
            (
                "vm_blacklisted_extension_event",
                "has blacklisted extensions",
                "remove",
            ),
            (
                "vm_unapproved_extension_event",
                "has unapproved extensions",
                "remove",
            ),
            (
                "vm_required_extension_event",
                "is missing required extensions",
                "add",
            ),
        ] {
            record.raise(event, findings, |vm: &Vm, id| {
                let installed: BTreeSet<&str> = vm.extensions.iter().map(String::as_str).collect();
                let listed = |list: &[String], e: &str| list.iter().any(|l| l == e);
                let found: Vec<&str> = match event {
                    "vm_blacklisted_extension_event" => {
                        installed.iter().copied().filter(|e| listed(&p.blacklisted, e)).collect()
                    }
                    "vm_unapproved_extension_event" if !p.whitelisted.is_empty() => installed
                        .iter()
                        .copied()
                        .filter(|e| !listed(&p.whitelisted, e) || listed(&p.blacklisted, e))
                        .collect(),
                    "vm_required_extension_event" => p
                        .required
                        .iter()
                        .map(String::as_str)
                        .filter(|e| !listed(&p.blacklisted, e) && !installed.contains(e))
                        .collect(),
                    _ => Vec::new(),
                };
                (!found.is_empty()).then(|| {
                    let list = found.join(", ");
                    let name = id.rsplit('/').next().unwrap_or(id);
                    let how = if fix == "remove" {
                        format!("az vm extension delete --vm-name {name} --resource-group <group> --name <extension>, for each of {list}")
                    } else {
                        format!("az vm extension set --vm-name {name} --resource-group <group> --publisher <publisher> --name <extension>, for each of {list}")
                    };
                    (
                        format!("Azure virtual machine {id} {what}: {list}."),
                        format!("Check virtual machine {name} and {fix} the extensions {list}: in the portal, the VM > Extensions + applications; or {how}"),
                    )
                })
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use cloudrest::azure;
    use serde_json::{json, Map, Value};

    /// A `vm_instance_view` record as `azvm` writes it.
    fn vm(extensions: &[&str]) -> Value {
        azure::record(&Map::new(), "vm_instance_view")
            .com_record_type(Some("compute"))
            .reference("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1")
            .ext("extensions", extensions)
            .to_value(&json!({}))
    }

    fn plugin(white: &[&str], black: &[&str], required: &[&str]) -> AzVmExtensionEvent {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        AzVmExtensionEvent::new(Params {
            whitelisted: list(white),
            blacklisted: list(black),
            required: list(required),
        })
        .unwrap()
    }

    #[test]
    fn blacklisted_unapproved_and_missing_extensions() {
        let others = [azure::record(&Map::new(), "virtual_machine")
            .ext("extensions", ["Bad"])
            .to_value(&json!({}))];
        let events = assert_check(
            &mut plugin(&[], &["Bad"], &[]),
            "vm_blacklisted_extension_event",
            &vm(&["Bad", "MMA"]),
            &vm(&["MMA"]),
            &others,
        );
        assert!(events[0]["com"]["description"]
            .as_str()
            .unwrap()
            .ends_with("has blacklisted extensions: Bad."));
        assert_check(
            &mut plugin(&["MMA"], &[], &[]),
            "vm_unapproved_extension_event",
            &vm(&["MMA", "Other"]),
            &vm(&["MMA"]),
            &others,
        );
        assert_check(
            &mut plugin(&[], &[], &["MMA"]),
            "vm_required_extension_event",
            &vm(&["Other"]),
            &vm(&["MMA"]),
            &others,
        );
        // Without params nothing is checked.
        assert_check(
            &mut plugin(&[], &["X"], &[]),
            "vm_blacklisted_extension_event",
            &vm(&["X"]),
            &vm(&[]),
            &[],
        );
    }
}
