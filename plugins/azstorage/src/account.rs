//! The `storage_account_properties` record: what the cloud plugin derives
//! from a listed storage account, and what the checks read back.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The `record_type` of a storage account record (upstream's name).
pub const STORAGE_ACCOUNT_PROPERTIES: &str = "storage_account_properties";

/// The security-relevant properties of a storage account, as its record's
/// `ext` carries them (upstream's names, and four more).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// `supportsHttpsTrafficOnly`: requests over plain HTTP are refused.
    #[serde(default)]
    pub secure_transfer_required: Option<bool>,
    /// Whether networks not listed in the firewall may connect
    /// (`networkAcls.defaultAction` is not `Deny`; no rules means allowed).
    #[serde(default)]
    pub default_network_access_allowed: Option<bool>,
    /// Whether trusted Azure services may bypass the firewall
    /// (`networkAcls.bypass` has `AzureServices`; Azure's default).
    #[serde(default)]
    pub trusted_services_allowed: Option<bool>,
    /// `allowBlobPublicAccess`: containers may be made public.
    #[serde(default)]
    pub allow_blob_public_access: Option<bool>,
    /// `minimumTlsVersion` (`TLS1_0` when the account does not say, as
    /// Azure reads it).
    #[serde(default)]
    pub minimum_tls_version: Option<String>,
    /// `allowSharedKeyAccess` (Azure's default: allowed).
    #[serde(default)]
    pub allow_shared_key_access: Option<bool>,
    /// The age in whole days of the older of the two access keys, from
    /// `keyCreationTime` (when each key was created or last regenerated);
    /// `None` when Azure does not say for either key. Computed here because
    /// the rules have no clock.
    #[serde(default)]
    pub access_key_age_days: Option<i64>,
}

/// The parts of a listed storage account that [`Account`] comes from.
#[derive(Deserialize)]
struct Listed {
    #[serde(default)]
    properties: Properties,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties {
    supports_https_traffic_only: Option<bool>,
    network_acls: Option<NetworkAcls>,
    allow_blob_public_access: Option<bool>,
    minimum_tls_version: Option<String>,
    allow_shared_key_access: Option<bool>,
    key_creation_time: Option<KeyCreationTime>,
}

#[derive(Deserialize)]
struct KeyCreationTime {
    key1: Option<String>,
    key2: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NetworkAcls {
    default_action: Option<String>,
    bypass: Option<String>,
}

impl Account {
    /// The properties of a storage account as the Resource Manager lists it.
    pub fn of_listed(item: &RawValue) -> Self {
        Self::of_listed_at(item, chrono::Utc::now())
    }

    /// [`Self::of_listed`] as of `now` (for the key age).
    fn of_listed_at(item: &RawValue, now: chrono::DateTime<chrono::Utc>) -> Self {
        let listed: Listed = serde_json::from_str(item.get()).unwrap_or(Listed {
            properties: Properties::default(),
        });
        let p = listed.properties;
        let acls = p.network_acls.as_ref();
        Self {
            secure_transfer_required: p.supports_https_traffic_only,
            default_network_access_allowed: Some(
                acls.and_then(|a| a.default_action.as_deref()) != Some("Deny"),
            ),
            trusted_services_allowed: Some(match acls {
                None => true,
                Some(acls) => acls
                    .bypass
                    .as_deref()
                    .unwrap_or_default()
                    .split(',')
                    .any(|b| b.trim() == "AzureServices"),
            }),
            allow_blob_public_access: p.allow_blob_public_access,
            minimum_tls_version: Some(p.minimum_tls_version.unwrap_or_else(|| "TLS1_0".into())),
            allow_shared_key_access: Some(p.allow_shared_key_access.unwrap_or(true)),
            access_key_age_days: p
                .key_creation_time
                .as_ref()
                .and_then(|k| key_age_days(k, now)),
        }
    }
}

/// The age in days of the older of the two keys whose creation time Azure
/// gives (a key without one, or with one that does not parse, is left out).
fn key_age_days(times: &KeyCreationTime, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    [&times.key1, &times.key2]
        .into_iter()
        .flatten()
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| now.signed_duration_since(t).num_days())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(json: &str) -> Account {
        Account::of_listed(&serde_json::value::RawValue::from_string(json.into()).unwrap())
    }

    #[test]
    fn azure_defaults_apply_where_the_account_says_nothing() {
        let bare = account(r#"{"id": "x", "properties": {}}"#);
        assert_eq!(bare.default_network_access_allowed, Some(true));
        assert_eq!(bare.trusted_services_allowed, Some(true));
        assert_eq!(bare.minimum_tls_version.as_deref(), Some("TLS1_0"));
        assert_eq!(bare.secure_transfer_required, None);
        let locked = account(
            r#"{"properties": {"supportsHttpsTrafficOnly": true, "minimumTlsVersion": "TLS1_2",
                "networkAcls": {"defaultAction": "Deny", "bypass": "Logging, Metrics"}}}"#,
        );
        assert_eq!(locked.default_network_access_allowed, Some(false));
        assert_eq!(locked.trusted_services_allowed, Some(false));
        assert_eq!(locked.secure_transfer_required, Some(true));
        assert_eq!(locked.access_key_age_days, None);
    }

    #[test]
    fn the_key_age_is_the_older_keys() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let item = serde_json::value::RawValue::from_string(
            r#"{"properties": {"keyCreationTime": {"key1": "2026-11-07T13:00:00.0000000Z",
                "key2": "2026-09-08T12:00:00Z"}}}"#
                .into(),
        )
        .unwrap();
        assert_eq!(
            Account::of_listed_at(&item, now).access_key_age_days,
            Some(90)
        );
        let one = serde_json::value::RawValue::from_string(
            r#"{"properties": {"keyCreationTime": {"key1": "2026-11-07T13:00:00Z", "key2": null}}}"#
                .into(),
        )
        .unwrap();
        assert_eq!(
            Account::of_listed_at(&one, now).access_key_age_days,
            Some(29)
        );
    }
}
