//! Azure security settings, as one plugin library: the `azdefender` cloud
//! plugin (Microsoft Defender for Cloud plans and security contacts), the
//! `azactivitylogalerts` cloud plugin (activity log alerts), the `aznetwork`
//! cloud plugin (virtual networks, Bastion hosts, Network Watchers, flow
//! logs, Application Gateway WAF policies, virtual network gateways), the
//! `azauthorization` cloud plugin (custom roles, subscription owners, User
//! Access Administrators at the root scope), the `azdatabricks` cloud plugin
//! (Databricks workspaces, their subnets' network security groups and their
//! diagnostic settings), the `azappinsights` cloud plugin (Application
//! Insights components) and the `azentra` cloud plugin (Microsoft Entra ID
//! security defaults and users' multifactor registration, from Microsoft
//! Graph). Their checks are bundled rules
//! (rules/azure/defender.yaml, activitylog.yaml, network.yaml,
//! authorization.yaml, databricks.yaml, appinsights.yaml, entra.yaml).

mod alerts;
mod authorization;
mod databricks;
mod defender;
mod entra;
mod insights;
mod lists;
mod network;
mod vpn;

pub use alerts::{AzActivityLogAlerts, ACTIVITY_LOG_ALERTS};
pub use authorization::{
    AzAuthorization, CUSTOM_ROLE, ROOT_USER_ACCESS_ADMINISTRATORS, SUBSCRIPTION_OWNERS,
};
pub use databricks::{
    AzDatabricks, DATABRICKS_DIAGNOSTIC_SETTINGS, DATABRICKS_SUBNETS, DATABRICKS_WORKSPACE,
};
pub use defender::{
    AzDefender, DEFENDER_ASSESSMENTS, DEFENDER_PRICING, DEFENDER_SETTINGS, SECURITY_CONTACTS,
};
pub use entra::{AzEntra, ENTRA_SECURITY_DEFAULTS, ENTRA_USER_MFA};
pub use insights::{AzAppInsights, APPLICATION_INSIGHTS};
pub use network::{
    AzNetwork, BASTION_HOSTS, FLOW_LOG, NETWORK_WATCHERS, VIRTUAL_NETWORK, WAF_POLICY,
};
pub use vpn::VPN_GATEWAY;

cloudmarker_plugin_api::export_plugins!(
    cloud: AzDefender,
    cloud: AzActivityLogAlerts,
    cloud: AzNetwork,
    cloud: AzAuthorization,
    cloud: AzDatabricks,
    cloud: AzAppInsights,
    cloud: AzEntra,
);
