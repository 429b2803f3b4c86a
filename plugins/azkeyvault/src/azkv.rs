//! The `azkv` cloud plugin (upstream's `AzKV`).

use cloudmarker_plugin_api::record::com;
use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, AzurePlugin, Collected, Listed, Reader, ResourceType, Session};
use cloudrest::{Bearer, Emitter};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// `record_type` of a vault.
pub const KEY_VAULT: &str = "key_vault";
/// `record_type` of a key.
pub const KEY_VAULT_KEY: &str = "key_vault_key";
/// `record_type` of a secret.
pub const KEY_VAULT_SECRET: &str = "key_vault_secret";
/// `record_type` of a vault's diagnostic settings (all of them, in one
/// record, so that none is a record too).
pub const KEY_VAULT_DIAGNOSTIC_SETTINGS: &str = "key_vault_diagnostic_settings";

/// Vaults, from the management plane.
const VAULTS: ResourceType = ResourceType {
    record_type: KEY_VAULT,
    path: "providers/Microsoft.KeyVault/vaults",
    api_version: "2023-07-01",
};

use crate::dataplane::{self, DataPlane, DATA_PLANE_API, KEY_VAULT_KEY_ROTATION_POLICY};

/// The api-version of a resource's diagnostic settings.
const DIAGNOSTIC_API: &str = "2021-05-01-preview";

/// Reads every Key Vault of every subscription: one `key_vault` record per
/// vault, one `key_vault_diagnostic_settings` record per vault (its
/// diagnostic settings, from the Resource Manager), one `key_vault_key` /
/// `key_vault_secret` record per key and secret, one
/// `key_vault_key_rotation_policy` per enabled key and one
/// `key_vault_certificate` per certificate (from the vault's own endpoint,
/// with a token for Key Vault), then one `collection_summary` per
/// subscription. A vault whose data plane refuses
/// (its firewall, a missing access policy) is counted there, not fatal.
pub enum AzKvReader {}

impl Reader for AzKvReader {
    const NAME: &'static str = "azkv";
    const CLASS: Option<&'static str> = Some("AzKV");
    const DESCRIPTION: &'static str =
        "Reads the Key Vaults of every Azure subscription with their keys and secrets.";

    fn collect(session: &Session, emit: &Emitter) {
        let vaults = Vaults {
            session,
            tokens: Mutex::default(),
        };
        azure::collect(
            session,
            Self::NAME,
            &[VAULTS],
            emit,
            |listed, emit, collected| vaults.read(&listed, emit, collected),
        );
    }
}

/// The `azkv` cloud plugin (upstream's `AzKV`).
pub type AzKv = AzurePlugin<AzKvReader>;

/// One read of the vaults.
struct Vaults<'a> {
    session: &'a Session,
    /// Data plane tokens, by scope (public and sovereign clouds differ).
    tokens: Mutex<HashMap<String, Arc<Bearer>>>,
}

/// The parts of a listed vault the plugin reads.
#[derive(Default, Deserialize)]
struct Vault {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    properties: VaultProperties,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VaultProperties {
    enable_soft_delete: Option<bool>,
    enable_purge_protection: Option<bool>,
    vault_uri: Option<String>,
}

impl Vaults<'_> {
    /// Emits the vault's record, then its keys' and secrets'; false once
    /// the host stops reading.
    fn read(&self, listed: &Listed<'_>, emit: &Emitter, collected: &mut Collected) -> bool {
        let vault: Vault = serde_json::from_str(listed.item.get()).unwrap_or_default();
        let soft_delete = vault.properties.enable_soft_delete.unwrap_or(false);
        let purge_protection = vault.properties.enable_purge_protection.unwrap_or(false);
        let record = azure::record(listed.subscription, KEY_VAULT)
            .reference(vault.id.as_str())
            .ext("enable_soft_delete", soft_delete)
            .ext("enable_purge_protection", purge_protection)
            .ext("recoverable", soft_delete && purge_protection);
        if !emit.record(record.to_json(listed.item)) {
            return false;
        }
        if let Some(record) = self.diagnostic_settings(&vault, listed, emit, collected) {
            if !emit.record(record) {
                return false;
            }
        }
        let Some(uri) = vault.properties.vault_uri.as_deref() else {
            collected.fail(
                KEY_VAULT_KEY,
                format!("vault {} has no vaultUri", vault.name),
            );
            return true;
        };
        let token = self.token_for(uri);
        let mut rotatable = Vec::new();
        let mut keys_listed = false;
        for (kind, record_type, reference_key) in [
            ("keys", KEY_VAULT_KEY, "kid"),
            ("secrets", KEY_VAULT_SECRET, "id"),
        ] {
            let url = format!(
                "{}/{kind}?api-version={DATA_PLANE_API}",
                uri.trim_end_matches('/')
            );
            let what = format!("vault {}: listing {kind}", vault.name);
            let mut alive = true;
            let mut count = 0;
            let listed_items = azure::list(&self.session.http, &what, &url, &token, |items| {
                for item in items {
                    count += 1;
                    if record_type == KEY_VAULT_KEY {
                        rotatable.extend(dataplane::rotatable_key(&item));
                    }
                    alive &= emit.record(item_record(
                        item,
                        record_type,
                        reference_key,
                        &vault.id,
                        listed.subscription,
                    ));
                }
            });
            match listed_items {
                Ok(_) => {
                    collected.count(record_type, count);
                    keys_listed |= record_type == KEY_VAULT_KEY;
                }
                Err(e) => {
                    log::warn!("Cannot list the {kind} of Key Vault {}: {e}", vault.name);
                    emit.problem(PluginError::partial(
                        0,
                        format!("azkv: vault {}: {e}", vault.name),
                    ));
                    collected.fail(record_type, format!("vault {}: {e}", vault.name));
                }
            }
            if !alive {
                return false;
            }
        }
        let plane = DataPlane {
            http: &self.session.http,
            token: &token,
            uri: uri.trim_end_matches('/'),
            vault_id: &vault.id,
            vault_name: &vault.name,
            subscription: listed.subscription,
        };
        if keys_listed {
            if !plane.rotation_policies(&rotatable, emit, collected) {
                return false;
            }
        } else {
            collected.fail(
                KEY_VAULT_KEY_ROTATION_POLICY,
                format!("vault {}: its keys could not be listed", vault.name),
            );
        }
        plane.certificates(emit, collected)
    }

    /// The vault's diagnostic settings record (see
    /// [`diagnostic_settings_record`]); a vault whose settings cannot be
    /// listed is counted as failed, without a record.
    fn diagnostic_settings(
        &self,
        vault: &Vault,
        listed: &Listed<'_>,
        emit: &Emitter,
        collected: &mut Collected,
    ) -> Option<String> {
        if vault.id.is_empty() {
            return None;
        }
        let url = format!(
            "{}{}/providers/Microsoft.Insights/diagnosticSettings?api-version={DIAGNOSTIC_API}",
            self.session.resource_manager, vault.id
        );
        let what = format!("vault {}: listing diagnostic settings", vault.name);
        let mut settings = Vec::new();
        let read = azure::list(
            &self.session.http,
            &what,
            &url,
            &self.session.token,
            |page| settings.extend(page),
        );
        if let Err(e) = read {
            log::warn!(
                "Cannot list the diagnostic settings of Key Vault {}: {e}",
                vault.name
            );
            emit.problem(PluginError::partial(0, format!("azkv: {e}")));
            collected.fail(KEY_VAULT_DIAGNOSTIC_SETTINGS, e.to_string());
            return None;
        }
        collected.count(KEY_VAULT_DIAGNOSTIC_SETTINGS, 1);
        Some(diagnostic_settings_record(
            settings,
            &vault.id,
            &vault.name,
            listed.subscription,
        ))
    }

    /// The data plane token cache for the vault at `uri`.
    fn token_for(&self, uri: &str) -> Arc<Bearer> {
        let scope = data_plane_scope(uri);
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            tokens
                .entry(scope.clone())
                .or_insert_with(|| Arc::new(self.session.token_for(&scope))),
        )
    }
}

/// The token scope of a vault's data plane, from its DNS suffix: Azure's
/// public cloud and the sovereign clouds differ.
fn data_plane_scope(uri: &str) -> String {
    let host = uri
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    let suffix = [
        "vault.azure.cn",
        "vault.usgovcloudapi.net",
        "vault.microsoftazure.de",
    ]
    .into_iter()
    .find(|s| host.ends_with(s))
    .unwrap_or("vault.azure.net");
    format!("https://{suffix}/.default")
}

/// A vault's diagnostic settings: `raw.diagnosticSettings` as listed; in
/// `ext`, `key_vault` (its name), `key_vault_id` and `audit_settings`: the
/// names of the settings that send the `AuditEvent` log category (named,
/// or in the `audit` or `allLogs` category group) to a destination (a Log
/// Analytics workspace, a storage account, an event hub or a partner).
fn diagnostic_settings_record(
    settings: Vec<Value>,
    vault_id: &str,
    vault_name: &str,
    subscription: &Map<String, Value>,
) -> String {
    let audit: Vec<Value> = settings
        .iter()
        .filter(|s| sends_audit_events(s))
        .filter_map(|s| s.get("name").cloned())
        .collect();
    azure::record(subscription, KEY_VAULT_DIAGNOSTIC_SETTINGS)
        .reference(vault_id)
        .ext("key_vault", vault_name)
        .ext("key_vault_id", vault_id)
        .ext("audit_settings", audit)
        .to_json(&serde_json::json!({ "diagnosticSettings": settings }))
}

/// Whether a diagnostic setting sends a vault's audit events somewhere.
fn sends_audit_events(setting: &Value) -> bool {
    let properties = setting.get("properties");
    let field = |name: &str| {
        properties
            .and_then(|p| p.get(name))
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    let destination = [
        "workspaceId",
        "storageAccountId",
        "eventHubAuthorizationRuleId",
        "marketplacePartnerId",
    ]
    .into_iter()
    .any(field);
    let audited = properties
        .and_then(|p| p.get("logs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|l| l.get("enabled").and_then(Value::as_bool) == Some(true))
        .any(|l| {
            let is = |key: &str, names: &[&str]| {
                l.get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|v| names.iter().any(|n| v.eq_ignore_ascii_case(n)))
            };
            is("category", &["AuditEvent"]) || is("categoryGroup", &["audit", "allLogs"])
        });
    destination && audited
}

/// The record of one key or secret (upstream's shape: `expiry_set`,
/// `enabled`, `reference`), with the vault's id.
fn item_record(
    item: Value,
    record_type: &str,
    reference_key: &str,
    vault_id: &str,
    subscription: &Map<String, Value>,
) -> String {
    let reference = item.get(reference_key).cloned().unwrap_or(Value::Null);
    let attributes = item.get("attributes");
    let expiry_set = attributes
        .and_then(|a| a.get("exp"))
        .is_some_and(|e| !e.is_null());
    let enabled = attributes
        .and_then(|a| a.get("enabled"))
        .cloned()
        .unwrap_or(Value::Null);
    azure::record(subscription, record_type)
        .reference(reference.clone())
        .ext("expiry_set", expiry_set)
        .ext("enabled", enabled)
        // Upstream's records repeat the reference in `ext`.
        .ext(com::REFERENCE, reference)
        .ext("key_vault_id", vault_id)
        .to_json(&item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_data_plane_scope_follows_the_cloud() {
        assert_eq!(
            data_plane_scope("https://kv1.vault.azure.net/"),
            "https://vault.azure.net/.default"
        );
        assert_eq!(
            data_plane_scope("https://kv1.vault.azure.cn/"),
            "https://vault.azure.cn/.default"
        );
        assert_eq!(
            data_plane_scope("http://127.0.0.1:8080/vaults/kv1/"),
            "https://vault.azure.net/.default"
        );
    }

    #[test]
    fn a_setting_audits_when_it_sends_audit_events_somewhere() {
        let setting = |props: Value| json!({"name": "s", "properties": props});
        let law = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w";
        assert!(sends_audit_events(&setting(json!({
            "workspaceId": law, "logs": [{"category": "AuditEvent", "enabled": true}]}))));
        assert!(sends_audit_events(&setting(json!({
            "storageAccountId": "/s", "logs": [{"categoryGroup": "audit", "enabled": true}]}))));
        assert!(!sends_audit_events(&setting(json!({
            "workspaceId": law, "logs": [{"category": "AuditEvent", "enabled": false}]}))));
        assert!(!sends_audit_events(&setting(json!({
            "workspaceId": law, "logs": [{"category": "AzurePolicyEvaluationDetails", "enabled": true}],
            "metrics": [{"category": "AllMetrics", "enabled": true}]}))));
        assert!(!sends_audit_events(&setting(json!({
            "logs": [{"categoryGroup": "allLogs", "enabled": true}]}))));
        let record: Value = serde_json::from_str(&diagnostic_settings_record(
            vec![setting(
                json!({"workspaceId": law, "logs": [{"category": "AuditEvent", "enabled": true}]}),
            )],
            "/vaults/kv",
            "kv",
            &Map::new(),
        ))
        .unwrap();
        assert_eq!(record["ext"]["audit_settings"], json!(["s"]));
        assert_eq!(record["com"]["reference"], "/vaults/kv");
    }

    #[test]
    fn keys_and_secrets_say_whether_they_expire() {
        let sub = Map::new();
        let key =
            json!({"kid": "https://kv.vault.azure.net/keys/k", "attributes": {"enabled": true}});
        let record: Value =
            serde_json::from_str(&item_record(key, KEY_VAULT_KEY, "kid", "vault-id", &sub))
                .unwrap();
        assert_eq!(record["ext"]["expiry_set"], false);
        assert_eq!(record["ext"]["enabled"], true);
        assert_eq!(
            record["com"][com::REFERENCE],
            "https://kv.vault.azure.net/keys/k"
        );
        let secret = json!({"id": "https://kv.vault.azure.net/secrets/s", "attributes": {"enabled": false, "exp": 1}});
        let record: Value = serde_json::from_str(&item_record(
            secret,
            KEY_VAULT_SECRET,
            "id",
            "vault-id",
            &sub,
        ))
        .unwrap();
        assert_eq!(record["ext"]["expiry_set"], true);
        assert_eq!(record["ext"]["key_vault_id"], "vault-id");
    }
}
