//! What `azkv` reads of a vault's data plane beyond its keys and secrets:
//! each key's rotation policy and each certificate with its policy.

use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, Collected};
use cloudrest::{Bearer, Emitter, Http};
use serde_json::{Map, Value};

/// `record_type` of a key's rotation policy.
pub const KEY_VAULT_KEY_ROTATION_POLICY: &str = "key_vault_key_rotation_policy";
/// `record_type` of a certificate (with its policy).
pub const KEY_VAULT_CERTIFICATE: &str = "key_vault_certificate";

/// The data plane's api-version.
pub const DATA_PLANE_API: &str = "7.4";

/// One vault's data plane, as the reads need it.
pub struct DataPlane<'a> {
    /// The HTTP client.
    pub http: &'a Http,
    /// A token for the vault's data plane.
    pub token: &'a Bearer,
    /// The vault's `vaultUri`, without a trailing `/`.
    pub uri: &'a str,
    /// The vault's resource id and name.
    pub vault_id: &'a str,
    /// The vault's name.
    pub vault_name: &'a str,
    /// The subscription's `ext` identity fields.
    pub subscription: &'a Map<String, Value>,
}

/// The name of a listed key whose rotation policy is worth reading: an
/// enabled key that Key Vault does not manage for a certificate.
pub fn rotatable_key(item: &Value) -> Option<String> {
    let enabled = item
        .pointer("/attributes/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let managed = item.get("managed").and_then(Value::as_bool) == Some(true);
    if !enabled || managed {
        return None;
    }
    segment_after(item.get("kid")?.as_str()?, "keys")
}

/// The path segment after the last `/<kind>/` of an item id
/// (`https://v.vault.azure.net/keys/<name>[/<version>]`).
fn segment_after(id: &str, kind: &str) -> Option<String> {
    let marker = format!("/{kind}/");
    let at = id.rfind(&marker)? + marker.len();
    id[at..]
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl DataPlane<'_> {
    /// GETs `path` (under the vault's URI).
    fn get(&self, what: &str, path: &str) -> Result<Value, String> {
        let url = format!("{}/{path}?api-version={DATA_PLANE_API}", self.uri);
        self.token.get().and_then(|token| {
            self.http
                .get_json(what, &url, &token)
                .map_err(|e| e.to_string())
        })
    }

    /// Notes that `record_type` could not be read in this vault.
    fn failed(
        &self,
        record_type: &'static str,
        e: &str,
        emit: &Emitter,
        collected: &mut Collected,
    ) {
        log::warn!("azkv: vault {}: {e}", self.vault_name);
        emit.problem(PluginError::partial(
            0,
            format!("azkv: vault {}: {e}", self.vault_name),
        ));
        collected.fail(record_type, format!("vault {}: {e}", self.vault_name));
    }

    /// Reads the rotation policy of each of `keys` (`keys/<name>/
    /// rotationpolicy`, permission keys/getrotationpolicy): one
    /// `key_vault_key_rotation_policy` record each; false once the host
    /// stops reading.
    pub fn rotation_policies(
        &self,
        keys: &[String],
        emit: &Emitter,
        collected: &mut Collected,
    ) -> bool {
        collected.count(KEY_VAULT_KEY_ROTATION_POLICY, 0);
        for key in keys {
            let what = format!(
                "vault {}: reading the rotation policy of key {key}",
                self.vault_name
            );
            match self.get(&what, &format!("keys/{key}/rotationpolicy")) {
                Ok(policy) => {
                    collected.count(KEY_VAULT_KEY_ROTATION_POLICY, 1);
                    if !emit.record(self.rotation_policy_record(key, &policy)) {
                        return false;
                    }
                }
                Err(e) => self.failed(KEY_VAULT_KEY_ROTATION_POLICY, &e, emit, collected),
            }
        }
        true
    }

    /// A key's rotation policy: `raw` as read; in `ext`, `key` (its name),
    /// `key_vault_id`, `auto_rotates` (a lifetime action rotates the key)
    /// and `rotate_trigger` (that action's trigger, e.g. `timeAfterCreate:
    /// P90D`; null when none).
    fn rotation_policy_record(&self, key: &str, policy: &Value) -> String {
        let rotate = policy
            .get("lifetimeActions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|a| {
                a.pointer("/action/type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("rotate"))
            });
        let trigger = rotate
            .and_then(|a| a.get("trigger"))
            .and_then(Value::as_object)
            .and_then(|t| t.iter().next())
            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()));
        let reference = policy
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}/keys/{key}/rotationpolicy", self.uri));
        azure::record(self.subscription, KEY_VAULT_KEY_ROTATION_POLICY)
            .reference(reference)
            .ext("key", key)
            .ext("key_vault", self.vault_name)
            .ext("key_vault_id", self.vault_id)
            .ext("auto_rotates", rotate.is_some())
            .ext("rotate_trigger", trigger)
            .to_json(policy)
    }

    /// Lists the vault's certificates (paged, permission certificates/list)
    /// and reads each one's policy (certificates/get): one
    /// `key_vault_certificate` record each; false once the host stops
    /// reading.
    pub fn certificates(&self, emit: &Emitter, collected: &mut Collected) -> bool {
        let url = format!("{}/certificates?api-version={DATA_PLANE_API}", self.uri);
        let what = format!("vault {}: listing certificates", self.vault_name);
        let mut listed = Vec::new();
        if let Err(e) = azure::list(self.http, &what, &url, self.token, |items| {
            listed.extend(items)
        }) {
            self.failed(KEY_VAULT_CERTIFICATE, &e.to_string(), emit, collected);
            return true;
        }
        collected.count(KEY_VAULT_CERTIFICATE, 0);
        for mut certificate in listed {
            let id = certificate
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let Some(name) = segment_after(&id, "certificates") else {
                self.failed(
                    KEY_VAULT_CERTIFICATE,
                    &format!("a listed certificate has no name in its id {id:?}"),
                    emit,
                    collected,
                );
                continue;
            };
            let what = format!(
                "vault {}: reading the policy of certificate {name}",
                self.vault_name
            );
            let policy = match self.get(&what, &format!("certificates/{name}/policy")) {
                Ok(policy) => policy,
                Err(e) => {
                    self.failed(KEY_VAULT_CERTIFICATE, &e, emit, collected);
                    continue;
                }
            };
            collected.count(KEY_VAULT_CERTIFICATE, 1);
            let validity = policy.pointer("/x509_props/validity_months").cloned();
            let enabled = certificate.pointer("/attributes/enabled").cloned();
            if let Some(object) = certificate.as_object_mut() {
                object.insert("policy".into(), policy);
            }
            let record = azure::record(self.subscription, KEY_VAULT_CERTIFICATE)
                .reference(id.as_str())
                .ext("certificate", name.as_str())
                .ext("key_vault", self.vault_name)
                .ext("key_vault_id", self.vault_id)
                .ext("enabled", enabled)
                .ext("validity_months", validity)
                .to_json(&certificate);
            if !emit.record(record) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_enabled_keys_of_their_own_have_a_rotation_policy_to_read() {
        let key = |attributes: Value, managed: Option<bool>| {
            let mut key =
                json!({"kid": "https://kv.vault.azure.net/keys/k1", "attributes": attributes});
            if let Some(managed) = managed {
                key["managed"] = managed.into();
            }
            key
        };
        assert_eq!(
            rotatable_key(&key(json!({"enabled": true}), None)).as_deref(),
            Some("k1")
        );
        assert_eq!(rotatable_key(&key(json!({"enabled": false}), None)), None);
        assert_eq!(
            rotatable_key(&key(json!({"enabled": true}), Some(true))),
            None
        );
        assert_eq!(
            segment_after(
                "https://kv.vault.azure.net/certificates/c1/0f0e",
                "certificates"
            )
            .as_deref(),
            Some("c1")
        );
        assert_eq!(
            segment_after("https://kv.vault.azure.net/keys/", "keys"),
            None
        );
    }
}
