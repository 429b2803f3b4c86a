//! The checks of `storage_account_properties` records: upstream's three
//! (secure transfer, default network access, trusted services) and two more
//! (public blob access, minimum TLS version). Each is an event plugin of the
//! upstream name, raising upstream's `record_type`.

use crate::account::{group_and_name, Account, STORAGE_ACCOUNT_PROPERTIES};
use cloudmarker_plugin_api::record::Text;
use cloudmarker_plugin_api::sdk::check::{Check, Finding, Findings, Select};
use cloudmarker_plugin_api::sdk::{self, schema, PluginError, PluginType};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::marker::PhantomData;

/// A storage account record, as the checks read it.
#[derive(Deserialize)]
pub struct AccountRecord<'a> {
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

/// What one rule says about an account: `Some((what is wrong, how to fix
/// it))` when the account breaks it.
type Verdict = Option<(String, String)>;

/// One storage account rule: the plugin it is, the event it raises.
pub trait Rule: Send + 'static {
    /// The plugin's name (upstream's module name).
    const NAME: &'static str;
    /// What the plugin does.
    const DESCRIPTION: &'static str;
    /// The event's `record_type`.
    const EVENT: &'static str;
    /// Judges `account` (`group`/`name` for the fix).
    fn judge(account: &Account, id: &str, group: &str, name: &str) -> Verdict;
}

/// The parameters of the checks without any.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct NoParams {}

/// A check of one [`Rule`] without parameters.
pub struct RuleCheck<R>(PhantomData<R>);

impl<R: Rule> PluginType for RuleCheck<R> {
    type Params = NoParams;
    const NAME: &'static str = R::NAME;
    const DESCRIPTION: &'static str = R::DESCRIPTION;

    fn params_schema() -> Option<serde_json::Value> {
        Some(schema::of::<NoParams>())
    }

    fn new(_: NoParams) -> sdk::Result<Self> {
        Ok(Self(PhantomData))
    }
}

impl<R: Rule> Check for RuleCheck<R> {
    const SELECT: Select = Select::ext(&[STORAGE_ACCOUNT_PROPERTIES]).in_cloud("azure");
    type Record<'a> = AccountRecord<'a>;

    fn check(&mut self, record: AccountRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        raise(record, R::EVENT, findings, R::judge)
    }
}

/// Reads the account of `record` and raises `event` when `judge` finds
/// something wrong; the event keeps the account's `ext`, as upstream's do.
fn raise(
    record: AccountRecord<'_>,
    event: &str,
    findings: &mut Findings,
    judge: impl FnOnce(&Account, &str, &str, &str) -> Verdict,
) -> sdk::Result<()> {
    let account: Account = serde_json::from_str(record.ext.get())
        .map_err(|e| PluginError::failed(format!("unreadable storage account ext: {e}")))?;
    let id = record.com.reference.as_str().unwrap_or("(unknown)");
    let (group, name) = group_and_name(id);
    if let Some((description, recommendation)) = judge(&account, id, group, name) {
        findings.push(
            Finding::new(event, description, recommendation)
                .cloud_type(Some("azure"))
                .reference(record.com.reference.as_str())
                .ext_from(Some(record.ext)),
        );
    }
    Ok(())
}

/// `azstorageaccountsecuretransferevent`.
pub enum SecureTransferRule {}

impl Rule for SecureTransferRule {
    const NAME: &'static str = "azstorageaccountsecuretransferevent";
    const DESCRIPTION: &'static str = "Flags Azure storage accounts that accept plain HTTP.";
    const EVENT: &'static str = "storage_account_secure_transfer_event";
    fn judge(account: &Account, id: &str, group: &str, name: &str) -> Verdict {
        (account.secure_transfer_required == Some(false)).then(|| {
            (
                format!("Azure storage account {id} does not require secure transfer: it accepts requests over plain HTTP."),
                format!("Require secure transfer on storage account {name}: in the portal, Configuration > Secure transfer required > Enabled; or az storage account update --resource-group {group} --name {name} --https-only true"),
            )
        })
    }
}

/// `azstorageaccountdefaultnetworkaccessevent`.
pub enum DefaultNetworkAccessRule {}

impl Rule for DefaultNetworkAccessRule {
    const NAME: &'static str = "azstorageaccountdefaultnetworkaccessevent";
    const DESCRIPTION: &'static str =
        "Flags Azure storage accounts that accept connections from any network.";
    const EVENT: &'static str = "storage_account_default_network_access_event";
    fn judge(account: &Account, id: &str, group: &str, name: &str) -> Verdict {
        (account.default_network_access_allowed == Some(true)).then(|| {
            (
                format!("Azure storage account {id} has default network access set to allowed: any network may connect."),
                format!("Deny access by default and allow only the networks that need it: in the portal, Networking > Public network access > Enabled from selected virtual networks and IP addresses; or az storage account update --resource-group {group} --name {name} --default-action Deny"),
            )
        })
    }
}

/// `azstorageaccountallowtrustedservicesevent`.
pub enum AllowTrustedServicesRule {}

impl Rule for AllowTrustedServicesRule {
    const NAME: &'static str = "azstorageaccountallowtrustedservicesevent";
    const DESCRIPTION: &'static str =
        "Flags Azure storage accounts whose firewall keeps out trusted Azure services.";
    const EVENT: &'static str = "storage_account_allow_trusted_services_event";
    fn judge(account: &Account, id: &str, group: &str, name: &str) -> Verdict {
        (account.trusted_services_allowed == Some(false)).then(|| {
            (
                format!("Azure storage account {id} does not allow access to trusted Azure services (such as Azure Backup and Monitor) through its firewall."),
                format!("Allow trusted Microsoft services: in the portal, Networking > Exceptions > Allow Azure services on the trusted services list; or az storage account update --resource-group {group} --name {name} --bypass AzureServices"),
            )
        })
    }
}

/// `azstorageaccountpublicblobaccessevent` (beyond upstream).
pub enum PublicBlobAccessRule {}

impl Rule for PublicBlobAccessRule {
    const NAME: &'static str = "azstorageaccountpublicblobaccessevent";
    const DESCRIPTION: &'static str =
        "Flags Azure storage accounts whose containers may be made public.";
    const EVENT: &'static str = "storage_account_public_blob_access_event";
    fn judge(account: &Account, id: &str, group: &str, name: &str) -> Verdict {
        (account.allow_blob_public_access == Some(true)).then(|| {
            (
                format!("Azure storage account {id} allows public access to blobs: any of its containers may be made readable by anyone."),
                format!("Disallow blob public access: in the portal, Configuration > Allow Blob anonymous access > Disabled; or az storage account update --resource-group {group} --name {name} --allow-blob-public-access false"),
            )
        })
    }
}

/// `azstorageaccountsecuretransferevent`.
pub type SecureTransfer = RuleCheck<SecureTransferRule>;
/// `azstorageaccountdefaultnetworkaccessevent`.
pub type DefaultNetworkAccess = RuleCheck<DefaultNetworkAccessRule>;
/// `azstorageaccountallowtrustedservicesevent`.
pub type AllowTrustedServices = RuleCheck<AllowTrustedServicesRule>;
/// `azstorageaccountpublicblobaccessevent`.
pub type PublicBlobAccess = RuleCheck<PublicBlobAccessRule>;

/// The parameters of [`MinTlsVersion`].
#[derive(Debug, Clone, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct MinTlsParams {
    /// The lowest TLS version an account may accept: `TLS1_0`, `TLS1_1` or
    /// `TLS1_2` (the underscore marks a tuning knob, as upstream's do).
    pub _min_tls_version: String,
}

impl Default for MinTlsParams {
    fn default() -> Self {
        Self {
            _min_tls_version: "TLS1_2".into(),
        }
    }
}

/// `azstorageaccountmintlsevent` (beyond upstream): flags accounts that
/// accept TLS versions older than `_min_tls_version`.
pub struct MinTlsVersion {
    minimum: String,
}

impl PluginType for MinTlsVersion {
    type Params = MinTlsParams;
    const NAME: &'static str = "azstorageaccountmintlsevent";
    const DESCRIPTION: &'static str =
        "Flags Azure storage accounts that accept TLS versions older than _min_tls_version.";

    fn params_schema() -> Option<serde_json::Value> {
        Some(schema::of::<MinTlsParams>())
    }

    fn new(params: MinTlsParams) -> sdk::Result<Self> {
        match params._min_tls_version.as_str() {
            "TLS1_0" | "TLS1_1" | "TLS1_2" => Ok(Self {
                minimum: params._min_tls_version,
            }),
            other => Err(PluginError::config(format!(
                "{}: _min_tls_version must be TLS1_0, TLS1_1 or TLS1_2, not {other:?}",
                Self::NAME
            ))),
        }
    }
}

impl Check for MinTlsVersion {
    const SELECT: Select = Select::ext(&[STORAGE_ACCOUNT_PROPERTIES]).in_cloud("azure");
    type Record<'a> = AccountRecord<'a>;

    fn check(&mut self, record: AccountRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        let minimum = self.minimum.as_str();
        raise(
            record,
            "storage_account_min_tls_event",
            findings,
            |account, id, group, name| {
                // TLS1_0 < TLS1_1 < TLS1_2 compare as text.
                let accepted = account.minimum_tls_version.as_deref().unwrap_or("TLS1_0");
                (accepted < minimum).then(|| {
                (
                    format!("Azure storage account {id} accepts {accepted}, older than {minimum}."),
                    format!("Raise the minimum TLS version of storage account {name}: in the portal, Configuration > Minimum TLS version > {minimum}; or az storage account update --resource-group {group} --name {name} --min-tls-version {minimum}"),
                )
            })
            },
        )
    }
}

#[cfg(test)]
mod tests;
