//! Upstream Cloudmarker's Key Vault checks: keys and secrets without an
//! expiry date, and vaults whose deleted contents cannot be recovered.

use crate::azkv::{KEY_VAULT, KEY_VAULT_KEY, KEY_VAULT_SECRET};
use cloudmarker_plugin_api::record::Text;
use cloudmarker_plugin_api::sdk::check::{Check, Finding, Findings, Select};
use cloudmarker_plugin_api::sdk::{self, schema, PluginType};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The parameters of the checks: there are none.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct NoParams {}

/// A key, secret or vault record, as the checks read it.
#[derive(Deserialize)]
pub struct KvRecord<'a> {
    #[serde(borrow)]
    ext: &'a RawValue,
    #[serde(borrow, default)]
    com: Com<'a>,
}

#[derive(Default, Deserialize)]
struct Com<'a> {
    #[serde(borrow, default)]
    reference: Text<'a>,
}

/// The fields of `ext` the checks judge.
#[derive(Default, Deserialize)]
struct Ext {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    expiry_set: Option<bool>,
    #[serde(default)]
    recoverable: Option<bool>,
}

impl KvRecord<'_> {
    fn ext(&self) -> Ext {
        serde_json::from_str(self.ext.get()).unwrap_or_default()
    }

    fn reference(&self) -> &str {
        self.com.reference.as_str().unwrap_or("(unknown)")
    }

    /// An event of `event_type` about this record, keeping its `ext`.
    fn finding(&self, event_type: &str, description: String, recommendation: String) -> Finding {
        Finding::new(event_type, description, recommendation)
            .cloud_type(Some("azure"))
            .reference(self.com.reference.as_str())
            .ext_from(Some(self.ext))
    }
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

macro_rules! no_params_plugin {
    ($ty:ident, $name:literal, $description:literal) => {
        impl PluginType for $ty {
            type Params = NoParams;
            const NAME: &'static str = $name;
            const DESCRIPTION: &'static str = $description;

            fn params_schema() -> Option<serde_json::Value> {
                Some(schema::of::<NoParams>())
            }

            fn new(_: NoParams) -> sdk::Result<Self> {
                Ok(Self)
            }
        }
    };
}

/// `azkvkeynoexpiryevent`: enabled keys without an expiry date.
pub struct KeyNoExpiry;
no_params_plugin!(
    KeyNoExpiry,
    "azkvkeynoexpiryevent",
    "Flags enabled Azure Key Vault keys that never expire."
);

impl Check for KeyNoExpiry {
    const SELECT: Select = Select::ext(&[KEY_VAULT_KEY]).in_cloud("azure");
    type Record<'a> = KvRecord<'a>;

    fn check(&mut self, record: KvRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        let ext = record.ext();
        if ext.enabled == Some(true) && ext.expiry_set == Some(false) {
            let (vault, key) = vault_and_item(record.reference());
            findings.push(record.finding(
                "key_vault_key_no_expiry_event",
                format!("Azure Key Vault key {} has no expiry date: it stays usable forever.", record.reference()),
                format!("Set an expiry date on key {key} of vault {vault} and rotate it before then: in the portal, Key Vault > Keys > {key} > the current version > Set expiration date; or az keyvault key set-attributes --vault-name {vault} --name {key} --expires YYYY-MM-DDThh:mm:ssZ"),
            ));
        }
        Ok(())
    }
}

/// `azkvsecretnoexpiryevent`: enabled secrets without an expiry date.
pub struct SecretNoExpiry;
no_params_plugin!(
    SecretNoExpiry,
    "azkvsecretnoexpiryevent",
    "Flags enabled Azure Key Vault secrets that never expire."
);

impl Check for SecretNoExpiry {
    const SELECT: Select = Select::ext(&[KEY_VAULT_SECRET]).in_cloud("azure");
    type Record<'a> = KvRecord<'a>;

    fn check(&mut self, record: KvRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        let ext = record.ext();
        if ext.enabled == Some(true) && ext.expiry_set == Some(false) {
            let (vault, secret) = vault_and_item(record.reference());
            findings.push(record.finding(
                "key_vault_secret_no_expiry_event",
                format!("Azure Key Vault secret {} has no expiry date: it stays usable forever.", record.reference()),
                format!("Set an expiry date on secret {secret} of vault {vault} and rotate it before then: in the portal, Key Vault > Secrets > {secret} > the current version > Set expiration date; or az keyvault secret set-attributes --vault-name {vault} --name {secret} --expires YYYY-MM-DDThh:mm:ssZ"),
            ));
        }
        Ok(())
    }
}

/// `azkvnonrecoverableevent`: vaults without both soft delete and purge
/// protection.
pub struct NonRecoverable;
no_params_plugin!(
    NonRecoverable,
    "azkvnonrecoverableevent",
    "Flags Azure Key Vaults whose deleted keys and secrets could be lost for good."
);

impl Check for NonRecoverable {
    const SELECT: Select = Select::ext(&[KEY_VAULT]).in_cloud("azure");
    type Record<'a> = KvRecord<'a>;

    fn check(&mut self, record: KvRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        if record.ext().recoverable != Some(true) {
            let id = record.reference();
            let parts: Vec<&str> = id.split('/').collect();
            let after = |key: &str| {
                parts
                    .iter()
                    .position(|p| p.eq_ignore_ascii_case(key))
                    .and_then(|i| parts.get(i + 1))
                    .copied()
                    .unwrap_or("?")
            };
            let (group, vault) = (after("resourceGroups"), after("vaults"));
            findings.push(record.finding(
                "key_vault_non_recoverable_event",
                format!("Azure Key Vault {id} is not recoverable: without both soft delete and purge protection, a deleted vault, key or secret can be lost for good."),
                format!("Enable soft delete and purge protection on vault {vault} (purge protection cannot be turned off again): in the portal, Key Vault > Properties > Purge protection > Enable; or az keyvault update --resource-group {group} --name {vault} --enable-purge-protection true"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use serde_json::{json, Value};

    fn record(record_type: &str, reference: &str, ext: Value) -> Value {
        let mut full =
            json!({"cloud_type": "azure", "record_type": record_type, "subscription_id": "s1"});
        for (k, v) in ext.as_object().unwrap() {
            full[k] = v.clone();
        }
        json!({"raw": {}, "ext": full, "com": {"cloud_type": "azure", "record_type": record_type, "reference": reference}})
    }

    const KEY: &str = "https://kv1.vault.azure.net/keys/key1";
    const SECRET: &str = "https://kv1.vault.azure.net/secrets/secret1";
    const VAULT: &str =
        "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1";

    #[test]
    fn keys_without_expiry() {
        let events = assert_check(
            &mut KeyNoExpiry,
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
            &mut SecretNoExpiry,
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
            &mut NonRecoverable,
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
