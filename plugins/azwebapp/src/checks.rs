//! The checks of `web_app_config` records: upstream Cloudmarker's four
//! (HTTPS only, client certificates, HTTP/2, minimum TLS version) and FTP.

use crate::azwebapp::{WebApp, WEB_APP_CONFIG};
use cloudmarker_plugin_api::sdk::check::Select;
use cloudmarker_plugin_api::sdk::check::Severity;
use cloudmarker_plugin_api::sdk::rule::{
    azure_group_and_name, ParamRule, ParamRuleCheck, Rule, RuleCheck, Verdict,
};
use cloudmarker_plugin_api::sdk::schema;
use serde::{Deserialize, Serialize};

/// The records every web app check reads.
const WEB_APPS: Select = Select::ext(&[WEB_APP_CONFIG]).in_cloud("azure");

/// `azwebapphttpsevent`.
pub enum HttpsOnlyRule {}

impl Rule for HttpsOnlyRule {
    const NAME: &'static str = "azwebapphttpsevent";
    const CLASS: Option<&'static str> = Some("AzWebAppHttpsEvent");
    const DESCRIPTION: &'static str = "Flags Azure web apps that serve plain HTTP.";
    const SELECT: Select = WEB_APPS;
    const EVENT: &'static str = "web_app_https_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 9.2"];
    type Ext = WebApp;
    fn judge(app: &WebApp, id: &str) -> Verdict {
        let (group, name) = azure_group_and_name(id);
        (app.https_only == Some(false)).then(|| {
            (
                format!("Azure web app {id} serves plain HTTP: it does not redirect HTTP to HTTPS."),
                format!("Turn on HTTPS Only for web app {name}: in the portal, App Service > Configuration > General settings > HTTPS Only > On; or az webapp update --resource-group {group} --name {name} --https-only true"),
            )
        })
    }
}

/// `azwebappclientcertevent`.
pub enum ClientCertRule {}

impl Rule for ClientCertRule {
    const NAME: &'static str = "azwebappclientcertevent";
    const CLASS: Option<&'static str> = Some("AzWebAppClientCertEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure web apps that do not require client certificates.";
    const SELECT: Select = WEB_APPS;
    const EVENT: &'static str = "web_app_client_certificate_event";
    const SEVERITY: Severity = Severity::Low;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 9.4"];
    type Ext = WebApp;
    fn judge(app: &WebApp, id: &str) -> Verdict {
        let (group, name) = azure_group_and_name(id);
        (app.client_cert_enabled == Some(false)).then(|| {
            (
                format!("Azure web app {id} does not require client certificates."),
                format!("Require incoming client certificates for web app {name}: in the portal, App Service > Configuration > General settings > Client certificate mode > Require; or az webapp update --resource-group {group} --name {name} --set clientCertEnabled=true"),
            )
        })
    }
}

/// `azwebapphttp20event`.
pub enum Http20Rule {}

impl Rule for Http20Rule {
    const NAME: &'static str = "azwebapphttp20event";
    const CLASS: Option<&'static str> = Some("AzWebAppHttp20Event");
    const DESCRIPTION: &'static str = "Flags Azure web apps without HTTP/2.";
    const SELECT: Select = WEB_APPS;
    const EVENT: &'static str = "web_app_http20_event";
    const SEVERITY: Severity = Severity::Low;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 9.9"];
    type Ext = WebApp;
    fn judge(app: &WebApp, id: &str) -> Verdict {
        let (group, name) = azure_group_and_name(id);
        (app.http20_enabled == Some(false)).then(|| {
            (
                format!("Azure web app {id} does not have HTTP/2 enabled."),
                format!("Enable HTTP/2 for web app {name}: in the portal, App Service > Configuration > General settings > HTTP version > 2.0; or az webapp config set --resource-group {group} --name {name} --http20-enabled true"),
            )
        })
    }
}

/// `azwebappftpevent` (beyond upstream).
pub enum FtpRule {}

impl Rule for FtpRule {
    const NAME: &'static str = "azwebappftpevent";
    const DESCRIPTION: &'static str = "Flags Azure web apps that accept unencrypted FTP.";
    const SELECT: Select = WEB_APPS;
    const EVENT: &'static str = "web_app_ftp_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 9.10"];
    type Ext = WebApp;
    fn judge(app: &WebApp, id: &str) -> Verdict {
        let (group, name) = azure_group_and_name(id);
        (app.ftps_state.as_deref() == Some("AllAllowed")).then(|| {
            (
                format!("Azure web app {id} accepts unencrypted FTP deployments (ftpsState AllAllowed): credentials and content cross the network in clear."),
                format!("Allow FTPS only, or no FTP at all, for web app {name}: in the portal, App Service > Configuration > General settings > FTP state > FTPS only (or Disabled); or az webapp config set --resource-group {group} --name {name} --ftps-state FtpsOnly"),
            )
        })
    }
}

/// `azwebapphttpsevent`.
pub type HttpsOnly = RuleCheck<HttpsOnlyRule>;
/// `azwebappclientcertevent`.
pub type ClientCert = RuleCheck<ClientCertRule>;
/// `azwebapphttp20event`.
pub type Http20 = RuleCheck<Http20Rule>;
/// `azwebappftpevent`.
pub type Ftp = RuleCheck<FtpRule>;

/// The parameters of [`MinTls`].
#[derive(Debug, Clone, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct MinTlsParams {
    /// The lowest TLS version a web app may accept (upstream's param and
    /// default).
    pub _min_tls_version: f64,
}

impl Default for MinTlsParams {
    fn default() -> Self {
        Self {
            _min_tls_version: 1.2,
        }
    }
}

/// `azwebapptlsevent`: web apps that accept TLS versions older than
/// `_min_tls_version`. An app whose configuration does not say is left
/// alone (upstream failed on it).
pub struct MinTlsRule {
    minimum: f64,
}

impl ParamRule for MinTlsRule {
    const NAME: &'static str = "azwebapptlsevent";
    const CLASS: Option<&'static str> = Some("AzWebAppTLSEvent");
    const DESCRIPTION: &'static str =
        "Flags Azure web apps that accept TLS versions older than _min_tls_version.";
    const SELECT: Select = WEB_APPS;
    const EVENT: &'static str = "web_app_tls_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS Microsoft Azure Foundations 1.3.0 9.3"];
    type Params = MinTlsParams;
    type Ext = WebApp;

    fn new(params: MinTlsParams) -> Result<Self, String> {
        let minimum = params._min_tls_version;
        if !(1.0..=1.3).contains(&minimum) {
            return Err(format!(
                "_min_tls_version must be between 1.0 and 1.3, not {minimum}"
            ));
        }
        Ok(Self { minimum })
    }

    fn judge(&self, app: &WebApp, id: &str) -> Verdict {
        let minimum = self.minimum;
        let (group, name) = azure_group_and_name(id);
        let accepted = app.min_tls_version.as_deref()?;
        let version: f64 = accepted.parse().ok()?;
        (version < minimum).then(|| {
            (
                format!("Azure web app {id} accepts TLS {accepted}, older than {minimum:.1}."),
                format!("Raise the minimum TLS version of web app {name}: in the portal, App Service > Configuration > General settings > Minimum Inbound TLS Version > {minimum:.1}; or az webapp config set --resource-group {group} --name {name} --min-tls-version {minimum:.1}"),
            )
        })
    }
}

/// `azwebapptlsevent`.
pub type MinTls = ParamRuleCheck<MinTlsRule>;

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use cloudmarker_plugin_api::sdk::rule::NoParams;
    use cloudmarker_plugin_api::sdk::PluginType;
    use cloudrest::azure;
    use serde_json::{json, Map, Value};

    const ID: &str = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Web/sites/app1";

    /// A web app record with `ext` fields over a compliant baseline.
    fn app(fields: Value) -> Value {
        let mut subscription = Map::new();
        subscription.insert("subscription_id".into(), "s1".into());
        azure::record(&subscription, "web_app_config")
            .reference(ID)
            .ext_extend(
                json!({"https_only": true, "client_cert_enabled": true, "http20_enabled": true,
                       "min_tls_version": "1.2", "ftps_state": "FtpsOnly"})
                .as_object()
                .unwrap()
                .clone(),
            )
            .ext_extend(fields.as_object().unwrap().clone())
            .to_value(&json!({"id": ID}))
    }

    fn others() -> Vec<Value> {
        vec![azure::record(&Map::new(), "storage_account_properties")
            .ext_extend(
                json!({"https_only": false, "http20_enabled": false, "client_cert_enabled": false,
                       "ftps_state": "AllAllowed", "min_tls_version": "1.0"})
                .as_object()
                .unwrap()
                .clone(),
            )
            .to_value(&json!({}))]
    }

    #[test]
    fn each_rule_fires_on_its_misconfiguration_only() {
        assert_check(
            &mut HttpsOnly::new(NoParams {}).unwrap(),
            "web_app_https_event",
            &app(json!({"https_only": false})),
            &app(json!({})),
            &others(),
        );
        assert_check(
            &mut ClientCert::new(NoParams {}).unwrap(),
            "web_app_client_certificate_event",
            &app(json!({"client_cert_enabled": false})),
            &app(json!({})),
            &others(),
        );
        assert_check(
            &mut Http20::new(NoParams {}).unwrap(),
            "web_app_http20_event",
            &app(json!({"http20_enabled": false})),
            &app(json!({})),
            &others(),
        );
        let events = assert_check(
            &mut Ftp::new(NoParams {}).unwrap(),
            "web_app_ftp_event",
            &app(json!({"ftps_state": "AllAllowed"})),
            &app(json!({"ftps_state": "Disabled"})),
            &others(),
        );
        assert!(events[0]["com"]["recommendation"]
            .as_str()
            .unwrap()
            .contains(
                "az webapp config set --resource-group rg1 --name app1 --ftps-state FtpsOnly"
            ));
    }

    #[test]
    fn min_tls_compares_versions_as_numbers() {
        let mut check = MinTls::new(MinTlsParams::default()).unwrap();
        let events = assert_check(
            &mut check,
            "web_app_tls_event",
            &app(json!({"min_tls_version": "1.0"})),
            &app(json!({"min_tls_version": "1.3"})),
            &others(),
        );
        assert!(events[0]["com"]["description"]
            .as_str()
            .unwrap()
            .contains("accepts TLS 1.0, older than 1.2"));
        assert_check(
            &mut check,
            "web_app_tls_event",
            &app(json!({"min_tls_version": "1.1"})),
            &app(json!({"min_tls_version": null})),
            &[],
        );
        assert!(MinTls::new(MinTlsParams {
            _min_tls_version: 2.0
        })
        .is_err());
    }
}
