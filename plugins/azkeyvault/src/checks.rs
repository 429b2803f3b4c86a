//! Upstream Cloudmarker's Key Vault checks: keys and secrets without an
//! expiry date, and vaults whose deleted contents cannot be recovered.

use crate::azkv::{KEY_VAULT, KEY_VAULT_KEY, KEY_VAULT_SECRET};
use cloudmarker_plugin_api::sdk::check::Select;
use cloudmarker_plugin_api::sdk::check::Severity;
use cloudmarker_plugin_api::sdk::rule::{azure_group_and_name, Rule, RuleCheck, Verdict};
use serde::Deserialize;

/// The `ext` fields of a key or secret the checks judge.
#[derive(Default, Deserialize)]
pub struct ItemExt {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    expiry_set: Option<bool>,
}

impl ItemExt {
    fn never_expires(&self) -> bool {
        self.enabled == Some(true) && self.expiry_set == Some(false)
    }
}

/// The `ext` field of a vault the checks judge.
#[derive(Default, Deserialize)]
pub struct VaultExt {
    #[serde(default)]
    recoverable: Option<bool>,
}

/// `(vault, item)` names of a data plane id such as
/// `https://kv1.vault.azure.net/keys/key1` (or a local test vault
/// `http://host/vaults/kv1/keys/key1`).
fn vault_and_item(id: &str) -> (&str, &str) {
    let parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let item = parts.iter().rposition(|p| *p == "keys" || *p == "secrets");
    let name = item.and_then(|i| parts.get(i + 1)).copied().unwrap_or("?");
    let vault = match item {
        Some(i) if i >= 2 && parts[i - 2] == "vaults" => parts[i - 1],
        _ => parts
            .get(2)
            .and_then(|host| host.split('.').next())
            .unwrap_or("?"),
    };
    (vault, name)
}

/// `azkvkeynoexpiryevent`: enabled keys without an expiry date.
pub enum KeyNoExpiryRule {}

impl Rule for KeyNoExpiryRule {
    const NAME: &'static str = "azkvkeynoexpiryevent";
    const CLASS: Option<&'static str> = Some("AzKVKeyNoExpiryEvent");
    const DESCRIPTION: &'static str = "Flags enabled Azure Key Vault keys that never expire.";
    const SELECT: Select = Select::ext(&[KEY_VAULT_KEY]).in_cloud("azure");
    const EVENT: &'static str = "key_vault_key_no_expiry_event";
    const SEVERITY: Severity = Severity::Low;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 8.1"];
    type Ext = ItemExt;
    fn judge(key: &ItemExt, reference: &str) -> Verdict {
        key.never_expires().then(|| {
            let (vault, key) = vault_and_item(reference);
            (
                format!("Azure Key Vault key {reference} has no expiry date: it stays usable forever."),
                format!("Set an expiry date on key {key} of vault {vault} and rotate it before then: in the portal, Key Vault > Keys > {key} > the current version > Set expiration date; or az keyvault key set-attributes --vault-name {vault} --name {key} --expires YYYY-MM-DDThh:mm:ssZ"),
            )
        })
    }
}

/// `azkvsecretnoexpiryevent`: enabled secrets without an expiry date.
pub enum SecretNoExpiryRule {}

impl Rule for SecretNoExpiryRule {
    const NAME: &'static str = "azkvsecretnoexpiryevent";
    const CLASS: Option<&'static str> = Some("AzKVSecretNoExpiryEvent");
    const DESCRIPTION: &'static str = "Flags enabled Azure Key Vault secrets that never expire.";
    const SELECT: Select = Select::ext(&[KEY_VAULT_SECRET]).in_cloud("azure");
    const EVENT: &'static str = "key_vault_secret_no_expiry_event";
    const SEVERITY: Severity = Severity::Low;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 8.2"];
    type Ext = ItemExt;
    fn judge(secret: &ItemExt, reference: &str) -> Verdict {
        secret.never_expires().then(|| {
            let (vault, secret) = vault_and_item(reference);
            (
                format!("Azure Key Vault secret {reference} has no expiry date: it stays usable forever."),
                format!("Set an expiry date on secret {secret} of vault {vault} and rotate it before then: in the portal, Key Vault > Secrets > {secret} > the current version > Set expiration date; or az keyvault secret set-attributes --vault-name {vault} --name {secret} --expires YYYY-MM-DDThh:mm:ssZ"),
            )
        })
    }
}

/// `azkvnonrecoverableevent`: vaults without both soft delete and purge
/// protection.
pub enum NonRecoverableRule {}

impl Rule for NonRecoverableRule {
    const NAME: &'static str = "azkvnonrecoverableevent";
    const CLASS: Option<&'static str> = Some("AzKVNonRecoverableEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure Key Vaults whose deleted keys and secrets could be lost for good.";
    const SELECT: Select = Select::ext(&[KEY_VAULT]).in_cloud("azure");
    const EVENT: &'static str = "key_vault_non_recoverable_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 8.4"];
    type Ext = VaultExt;
    fn judge(vault: &VaultExt, id: &str) -> Verdict {
        (vault.recoverable != Some(true)).then(|| {
            let (group, name) = azure_group_and_name(id);
            (
                format!("Azure Key Vault {id} is not recoverable: without both soft delete and purge protection, a deleted vault, key or secret can be lost for good."),
                format!("Enable soft delete and purge protection on vault {name} (purge protection cannot be turned off again): in the portal, Key Vault > Properties > Purge protection > Enable; or az keyvault update --resource-group {group} --name {name} --enable-purge-protection true"),
            )
        })
    }
}

/// `azkvkeynoexpiryevent`.
pub type KeyNoExpiry = RuleCheck<KeyNoExpiryRule>;
/// `azkvsecretnoexpiryevent`.
pub type SecretNoExpiry = RuleCheck<SecretNoExpiryRule>;
/// `azkvnonrecoverableevent`.
pub type NonRecoverable = RuleCheck<NonRecoverableRule>;

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use cloudmarker_plugin_api::sdk::rule::NoParams;
    use cloudmarker_plugin_api::sdk::PluginType;
    use cloudrest::azure;
    use serde_json::{json, Map, Value};

    /// A record of `record_type` as `azkv` writes it, with the `ext` fields
    /// `ext`.
    fn record(record_type: &str, reference: &str, ext: Value) -> Value {
        let mut subscription = Map::new();
        subscription.insert("subscription_id".into(), "s1".into());
        azure::record(&subscription, record_type)
            .reference(reference)
            .ext_extend(ext.as_object().unwrap().clone())
            .to_value(&json!({}))
    }

    const KEY: &str = "https://kv1.vault.azure.net/keys/key1";
    const SECRET: &str = "https://kv1.vault.azure.net/secrets/secret1";
    const VAULT: &str =
        "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1";

    #[test]
    fn keys_without_expiry() {
        let events = assert_check(
            &mut KeyNoExpiry::new(NoParams {}).unwrap(),
            "key_vault_key_no_expiry_event",
            &record(
                KEY_VAULT_KEY,
                KEY,
                json!({"enabled": true, "expiry_set": false}),
            ),
            &record(
                KEY_VAULT_KEY,
                KEY,
                json!({"enabled": true, "expiry_set": true}),
            ),
            &[
                record(
                    KEY_VAULT_KEY,
                    KEY,
                    json!({"enabled": false, "expiry_set": false}),
                ),
                record(
                    KEY_VAULT_SECRET,
                    SECRET,
                    json!({"enabled": true, "expiry_set": false}),
                ),
            ],
        );
        assert!(events[0]["com"]["recommendation"]
            .as_str()
            .unwrap()
            .contains("az keyvault key set-attributes --vault-name kv1 --name key1"));
        assert_eq!(events[0]["ext"]["subscription_id"], "s1");
    }

    #[test]
    fn secrets_without_expiry() {
        assert_check(
            &mut SecretNoExpiry::new(NoParams {}).unwrap(),
            "key_vault_secret_no_expiry_event",
            &record(
                KEY_VAULT_SECRET,
                SECRET,
                json!({"enabled": true, "expiry_set": false}),
            ),
            &record(
                KEY_VAULT_SECRET,
                SECRET,
                json!({"enabled": true, "expiry_set": true}),
            ),
            &[record(
                KEY_VAULT_KEY,
                KEY,
                json!({"enabled": true, "expiry_set": false}),
            )],
        );
    }

    #[test]
    fn vaults_that_are_not_recoverable() {
        let events = assert_check(
            &mut NonRecoverable::new(NoParams {}).unwrap(),
            "key_vault_non_recoverable_event",
            &record(KEY_VAULT, VAULT, json!({"recoverable": false})),
            &record(KEY_VAULT, VAULT, json!({"recoverable": true})),
            &[record(KEY_VAULT_KEY, KEY, json!({"recoverable": false}))],
        );
        assert!(events[0]["com"]["recommendation"]
            .as_str()
            .unwrap()
            .contains(
                "az keyvault update --resource-group rg1 --name kv1 --enable-purge-protection true"
            ));
    }

    #[test]
    fn item_ids_give_vault_and_name() {
        assert_eq!(vault_and_item(KEY), ("kv1", "key1"));
        assert_eq!(
            vault_and_item("http://127.0.0.1:9/vaults/kv2/secrets/s2"),
            ("kv2", "s2")
        );
    }
}
