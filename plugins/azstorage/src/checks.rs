//! The checks of `storage_account_properties` records: upstream's three
//! (secure transfer, default network access, trusted services) and two more
//! (public blob access, minimum TLS version). Each is an event plugin of the
//! upstream name, raising upstream's `record_type`.

use crate::account::{Account, STORAGE_ACCOUNT_PROPERTIES};
use cloudmarker_plugin_api::sdk::check::Select;
use cloudmarker_plugin_api::sdk::check::Severity;
use cloudmarker_plugin_api::sdk::rule::{
    azure_group_and_name, ParamRule, ParamRuleCheck, Rule, RuleCheck, Verdict,
};
use cloudmarker_plugin_api::sdk::schema;
use serde::{Deserialize, Serialize};

/// The records every storage check reads.
const ACCOUNTS: Select = Select::ext(&[STORAGE_ACCOUNT_PROPERTIES]).in_cloud("azure");

/// `azstorageaccountsecuretransferevent`.
pub enum SecureTransferRule {}

impl Rule for SecureTransferRule {
    const NAME: &'static str = "azstorageaccountsecuretransferevent";
    const CLASS: Option<&'static str> = Some("AzStorageAccountSecureTransferEvent");
    const DESCRIPTION: &'static str = "Flags Azure storage accounts that accept plain HTTP.";
    const EVENT: &'static str = "storage_account_secure_transfer_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 3.1"];
    const SELECT: Select = ACCOUNTS;
    type Ext = Account;
    fn judge(account: &Account, id: &str) -> Verdict {
        let (group, name) = azure_group_and_name(id);
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
    const CLASS: Option<&'static str> = Some("AzStorageAccountDefaultNetworkAccessEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure storage accounts that accept connections from any network.";
    const EVENT: &'static str = "storage_account_default_network_access_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 3.6"];
    const SELECT: Select = ACCOUNTS;
    type Ext = Account;
    fn judge(account: &Account, id: &str) -> Verdict {
        let (group, name) = azure_group_and_name(id);
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
    const CLASS: Option<&'static str> = Some("AzStorageAccountAllowTrustedServicesEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure storage accounts whose firewall keeps out trusted Azure services.";
    const EVENT: &'static str = "storage_account_allow_trusted_services_event";
    const SEVERITY: Severity = Severity::Low;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 3.7"];
    const SELECT: Select = ACCOUNTS;
    type Ext = Account;
    fn judge(account: &Account, id: &str) -> Verdict {
        let (group, name) = azure_group_and_name(id);
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
    const SEVERITY: Severity = Severity::High;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 3.5"];
    const SELECT: Select = ACCOUNTS;
    type Ext = Account;
    fn judge(account: &Account, id: &str) -> Verdict {
        let (group, name) = azure_group_and_name(id);
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
pub struct MinTlsVersionRule {
    minimum: String,
}

impl ParamRule for MinTlsVersionRule {
    const NAME: &'static str = "azstorageaccountmintlsevent";
    const DESCRIPTION: &'static str =
        "Flags Azure storage accounts that accept TLS versions older than _min_tls_version.";
    const SELECT: Select = ACCOUNTS;
    const EVENT: &'static str = "storage_account_min_tls_event";
    const SEVERITY: Severity = Severity::Medium;
    type Params = MinTlsParams;
    type Ext = Account;

    fn new(params: MinTlsParams) -> Result<Self, String> {
        match params._min_tls_version.as_str() {
            "TLS1_0" | "TLS1_1" | "TLS1_2" => Ok(Self {
                minimum: params._min_tls_version,
            }),
            other => Err(format!(
                "_min_tls_version must be TLS1_0, TLS1_1 or TLS1_2, not {other:?}"
            )),
        }
    }

    fn judge(&self, account: &Account, id: &str) -> Verdict {
        let minimum = self.minimum.as_str();
        let (group, name) = azure_group_and_name(id);
        // TLS1_0 < TLS1_1 < TLS1_2 compare as text.
        let accepted = account.minimum_tls_version.as_deref().unwrap_or("TLS1_0");
        (accepted < minimum).then(|| {
            (
                format!("Azure storage account {id} accepts {accepted}, older than {minimum}."),
                format!("Raise the minimum TLS version of storage account {name}: in the portal, Configuration > Minimum TLS version > {minimum}; or az storage account update --resource-group {group} --name {name} --min-tls-version {minimum}"),
            )
        })
    }
}

/// `azstorageaccountmintlsevent`.
pub type MinTlsVersion = ParamRuleCheck<MinTlsVersionRule>;

#[cfg(test)]
mod tests;
