use super::*;
use cloudmarker_plugin_api::sdk::check::assert_check;
use cloudmarker_plugin_api::sdk::rule::NoParams;
use cloudmarker_plugin_api::sdk::PluginType;
use serde_json::{json, Value};

const ID: &str =
    "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/sto1";

/// A storage account record with `ext` fields over a compliant baseline.
fn account(fields: Value) -> Value {
    let mut ext = json!({
        "cloud_type": "azure", "record_type": "storage_account_properties",
        "secure_transfer_required": true, "default_network_access_allowed": false,
        "trusted_services_allowed": true, "allow_blob_public_access": false,
        "minimum_tls_version": "TLS1_2", "allow_shared_key_access": true,
        "subscription_id": "s1",
    });
    for (k, v) in fields.as_object().unwrap() {
        ext[k] = v.clone();
    }
    json!({"raw": {"id": ID}, "ext": ext, "com": {"cloud_type": "azure", "record_type": "storage_account_properties", "reference": ID}})
}

/// Records no storage check may raise anything for.
fn others() -> Vec<Value> {
    let mut other_cloud = account(json!({"secure_transfer_required": false}));
    other_cloud["com"]["cloud_type"] = "gcp".into();
    vec![
        json!({"raw": {}, "ext": {"record_type": "storage_account", "secure_transfer_required": false}, "com": {"cloud_type": "azure"}}),
        other_cloud,
    ]
}

#[test]
fn secure_transfer() {
    let events = assert_check(
        &mut SecureTransfer::new(NoParams {}).unwrap(),
        "storage_account_secure_transfer_event",
        &account(json!({"secure_transfer_required": false})),
        &account(json!({})),
        &others(),
    );
    let event = &events[0];
    assert_eq!(event["com"]["reference"], ID);
    assert_eq!(
        event["ext"]["subscription_id"], "s1",
        "the account's ext is kept"
    );
    assert!(event["com"]["recommendation"]
        .as_str()
        .unwrap()
        .contains("az storage account update --resource-group rg1 --name sto1 --https-only true"));
}

#[test]
fn default_network_access() {
    assert_check(
        &mut DefaultNetworkAccess::new(NoParams {}).unwrap(),
        "storage_account_default_network_access_event",
        &account(json!({"default_network_access_allowed": true})),
        &account(json!({})),
        &others(),
    );
}

#[test]
fn allow_trusted_services() {
    assert_check(
        &mut AllowTrustedServices::new(NoParams {}).unwrap(),
        "storage_account_allow_trusted_services_event",
        &account(json!({"trusted_services_allowed": false})),
        &account(json!({})),
        &others(),
    );
}

#[test]
fn public_blob_access() {
    assert_check(
        &mut PublicBlobAccess::new(NoParams {}).unwrap(),
        "storage_account_public_blob_access_event",
        &account(json!({"allow_blob_public_access": true})),
        &account(json!({})),
        &others(),
    );
}

#[test]
fn min_tls_version() {
    let mut check = MinTlsVersion::new(MinTlsParams::default()).unwrap();
    let events = assert_check(
        &mut check,
        "storage_account_min_tls_event",
        &account(json!({"minimum_tls_version": "TLS1_0"})),
        &account(json!({})),
        &others(),
    );
    assert!(events[0]["com"]["description"]
        .as_str()
        .unwrap()
        .contains("accepts TLS1_0, older than TLS1_2"));
    let mut lenient = MinTlsVersion::new(MinTlsParams {
        _min_tls_version: "TLS1_1".into(),
    })
    .unwrap();
    assert_check(
        &mut lenient,
        "storage_account_min_tls_event",
        &account(json!({"minimum_tls_version": "TLS1_0"})),
        &account(json!({"minimum_tls_version": "TLS1_1"})),
        &[],
    );
    assert!(MinTlsVersion::new(MinTlsParams {
        _min_tls_version: "TLS1_3".into()
    })
    .is_err());
}
