//! KMS: every key of the region, with whether automatic rotation is on for
//! the customer-managed symmetric keys (the only ones it applies to).

use crate::scope::Scope;
use crate::session::describe;
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState};
use aws_sdk_kms::Client;
use serde_json::{json, Value};

/// `ext.record_type` of a key.
pub const KMS_KEY: &str = "kms_key";

/// Every key of the region: `kms_key` records with `key_manager`,
/// `key_state`, `key_spec` and `rotation_enabled` (`null` where rotation
/// does not apply).
pub async fn keys(scope: Scope<'_>) -> Result<usize, String> {
    let client = Client::new(&scope.account.in_region(scope.region));
    let mut ids = Vec::new();
    let mut pages = client.list_keys().into_paginator().send();
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        ids.extend(
            page.keys()
                .iter()
                .filter_map(|k| k.key_id().map(String::from)),
        );
    }
    if let Some(max) = scope.max_recs() {
        ids.truncate(max);
    }
    let mut count = 0;
    for id in ids {
        let described = scope
            .call(client.describe_key().key_id(&id).send())
            .await
            .map_err(|e| format!("key {id}: {}", describe(&e)))?;
        let Some(key) = described.key_metadata() else {
            continue;
        };
        let customer = key.key_manager() == Some(&KeyManagerType::Customer);
        let rotates = customer
            && key.key_spec() == Some(&KeySpec::SymmetricDefault)
            && key.key_state() == Some(&KeyState::Enabled);
        let rotation = if rotates {
            let status = scope
                .call(client.get_key_rotation_status().key_id(&id).send())
                .await
                .map_err(|e| format!("key {id}: rotation status: {}", describe(&e)))?;
            json!(status.key_rotation_enabled())
        } else {
            Value::Null
        };
        let arn = key
            .arn()
            .map_or_else(|| scope.arn("kms", &format!("key/{id}")), String::from);
        let raw = json!({
            "KeyId": id,
            "Arn": arn,
            "KeyManager": key.key_manager().map(|m| m.as_str()),
            "KeyState": key.key_state().map(|s| s.as_str()),
            "KeySpec": key.key_spec().map(|s| s.as_str()),
            "Origin": key.origin().map(|o| o.as_str()),
            "Description": key.description(),
            "KeyRotationEnabled": rotation,
        });
        let record = scope
            .record(KMS_KEY)
            .reference(arn)
            .ext("key_id", id.as_str())
            .ext("key_manager", raw["KeyManager"].clone())
            .ext("key_state", raw["KeyState"].clone())
            .ext("key_spec", raw["KeySpec"].clone())
            .ext("rotation_enabled", rotation);
        count += 1;
        if !scope.emit(&raw, &record) {
            break;
        }
    }
    Ok(count)
}
