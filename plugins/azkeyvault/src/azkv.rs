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

/// Vaults, from the management plane.
const VAULTS: ResourceType = ResourceType {
    record_type: KEY_VAULT,
    path: "providers/Microsoft.KeyVault/vaults",
    api_version: "2023-07-01",
};

/// The data plane's api-version.
const DATA_PLANE_API: &str = "7.4";

/// Reads every Key Vault of every subscription: one `key_vault` record per
/// vault, one `key_vault_key` / `key_vault_secret` record per key and secret
/// (from the vault's own endpoint, with a token for Key Vault), then one
/// `collection_summary` per subscription. A vault whose data plane refuses
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
        let Some(uri) = vault.properties.vault_uri.as_deref() else {
            collected.fail(
                KEY_VAULT_KEY,
                format!("vault {} has no vaultUri", vault.name),
            );
            return true;
        };
        let token = self.token_for(uri);
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
                Ok(_) => collected.count(record_type, count),
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
        true
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
