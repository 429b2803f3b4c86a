//! Cloud KMS crypto keys (`kms_crypto_key`): rotation and who may use them.

use crate::{last_segment, Project};
use cloudrest::Collected;
use serde_json::Value;

/// One `kms_crypto_key` record per crypto key of every key ring of every
/// location: `ext.location` and `ext.key_ring` (short names),
/// `ext.rotation_period_days` (`rotationPeriod` in days, null without one)
/// and `ext.iam_bindings` (the key's IAM policy bindings, [] when none).
/// A key whose IAM policy cannot be read gets `iam_bindings: null`, and
/// `kms_crypto_key` is reported failed. Cost: one key ring list per KMS
/// location (about 40), one key list per key ring, one getIamPolicy per
/// key, sequentially.
pub fn read_crypto_keys(project: &Project<'_>) -> Collected {
    // Cloud KMS takes no read-only scope.
    let project = &project.full_scope();
    let reader = &project.reader;
    let mut collected = Collected::default();
    let url = project.url(reader.cloudkms_url, "/locations");
    let locations = match project.list_of("listing KMS locations", &url, "locations") {
        Ok(locations) => locations,
        Err(why) => return crate::collected("kms_crypto_key", Err(why)),
    };
    collected.count("kms_crypto_key", 0);
    for location in &locations {
        let Some(location) = location.get("locationId").and_then(Value::as_str) else {
            continue;
        };
        let url = project.url(
            reader.cloudkms_url,
            &format!("/locations/{location}/keyRings"),
        );
        let doing = format!("listing the key rings of {location}");
        let rings = match project.list_of(&doing, &url, "keyRings") {
            Ok(rings) => rings,
            Err(why) => {
                collected.fail("kms_crypto_key", why);
                continue;
            }
        };
        for ring in &rings {
            let Some(ring_name) = ring.get("name").and_then(Value::as_str) else {
                continue;
            };
            let url = format!("{}/{ring_name}/cryptoKeys", reader.cloudkms_url);
            let keys = match reader.list_of(
                &format!("key ring {ring_name}: listing its keys"),
                &url,
                "cryptoKeys",
            ) {
                Ok(keys) => keys,
                Err(why) => {
                    collected.fail("kms_crypto_key", why);
                    continue;
                }
            };
            for key in &keys {
                let name = key.get("name").and_then(Value::as_str).unwrap_or_default();
                let url = format!(
                    "{}/{name}:getIamPolicy?options.requestedPolicyVersion=3",
                    reader.cloudkms_url
                );
                let bindings =
                    match reader.get(&format!("key {name}: reading its IAM policy"), &url) {
                        Ok(policy) => policy
                            .get("bindings")
                            .cloned()
                            .unwrap_or(Value::Array(Vec::new())),
                        Err(why) => {
                            collected.fail("kms_crypto_key", why);
                            Value::Null
                        }
                    };
                collected.count("kms_crypto_key", 1);
                let record = project
                    .record("kms_crypto_key")
                    .reference(name)
                    .ext("key_ring", last_segment(ring.get("name")))
                    .ext("location", location)
                    .ext("iam_bindings", bindings)
                    .ext(
                        "rotation_period_days",
                        rotation_days(key.get("rotationPeriod")),
                    );
                if !project.emit(record, key) {
                    return collected;
                }
            }
        }
    }
    collected
}

/// Days of a `rotationPeriod` (`"7776000s"`, a protobuf Duration): a whole
/// number when it is one; null when missing or not a duration.
fn rotation_days(period: Option<&Value>) -> Value {
    let Some(seconds) = period
        .and_then(Value::as_str)
        .and_then(|p| p.strip_suffix('s'))
        .and_then(|p| p.parse::<f64>().ok())
    else {
        return Value::Null;
    };
    let days = seconds / 86_400.0;
    if days.fract() == 0.0 && days.abs() < 1e15 {
        Value::from(days as i64)
    } else {
        Value::from(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rotation_periods_in_days() {
        assert_eq!(rotation_days(Some(&json!("7776000s"))), json!(90));
        assert_eq!(rotation_days(Some(&json!("129600s"))), json!(1.5));
        assert_eq!(rotation_days(Some(&json!("soon"))), Value::Null);
        assert_eq!(rotation_days(None), Value::Null);
    }
}
