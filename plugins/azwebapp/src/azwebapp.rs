//! The `azwebapp` cloud plugin (upstream's `AzWebApp`).

use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, AzurePlugin, Collected, Listed, Reader, ResourceType, Session};
use cloudrest::Emitter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `record_type` of a web app record (upstream's name).
pub const WEB_APP_CONFIG: &str = "web_app_config";

/// Web apps (App Service sites).
const SITES: ResourceType = ResourceType {
    record_type: WEB_APP_CONFIG,
    path: "providers/Microsoft.Web/sites",
    api_version: "2023-12-01",
};

/// The security-relevant settings of a web app, as its record's `ext`
/// carries them (upstream's names, and `ftps_state`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebApp {
    /// `properties.httpsOnly`: plain HTTP is redirected to HTTPS.
    #[serde(default)]
    pub https_only: Option<bool>,
    /// `properties.clientCertEnabled`: clients must present a certificate.
    #[serde(default)]
    pub client_cert_enabled: Option<bool>,
    /// The site configuration's `http20Enabled`.
    #[serde(default)]
    pub http20_enabled: Option<bool>,
    /// The site configuration's `minTlsVersion` (`1.0`, `1.1`, `1.2`, `1.3`).
    #[serde(default)]
    pub min_tls_version: Option<String>,
    /// The site configuration's `ftpsState` (`AllAllowed`, `FtpsOnly`,
    /// `Disabled`).
    #[serde(default)]
    pub ftps_state: Option<String>,
}

/// Reads every web app of every subscription with its site configuration
/// (`config/web`): one `web_app_config` record each, then one
/// `collection_summary` per subscription.
pub enum AzWebAppReader {}

impl Reader for AzWebAppReader {
    const NAME: &'static str = "azwebapp";
    const CLASS: Option<&'static str> = Some("AzWebApp");
    const DESCRIPTION: &'static str =
        "Reads the web apps of every Azure subscription with their site configuration.";

    const TYPES: &'static [ResourceType] = &[SITES];

    fn item(session: &Session, item: &Listed<'_>, emit: &Emitter, done: &mut Collected) -> bool {
        web_app(session, item, emit, done)
    }
}

/// The `azwebapp` cloud plugin (upstream's class of that name).
pub type AzWebApp = AzurePlugin<AzWebAppReader>;

/// Reads the app's site configuration and emits its record; an app whose
/// configuration cannot be read is counted as a failure, without a record.
fn web_app(
    session: &Session,
    listed: &Listed<'_>,
    emit: &Emitter,
    collected: &mut Collected,
) -> bool {
    let Ok(mut app) = serde_json::from_str::<Value>(listed.item.get()) else {
        collected.fail(
            WEB_APP_CONFIG,
            "a listed web app is not a JSON object".into(),
        );
        return true;
    };
    let id = app
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let url = format!(
        "{}{id}/config/web?api-version={}",
        session.resource_manager, SITES.api_version
    );
    let name = app
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let config = session.token.get().and_then(|token| {
        session
            .http
            .get_json(&format!("web app {name}: reading config/web"), &url, &token)
            .map_err(|e| e.to_string())
    });
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            log::warn!("Cannot read the configuration of web app {name}: {e}");
            emit.problem(PluginError::partial(
                0,
                format!("azwebapp: web app {name}: {e}"),
            ));
            collected.fail(WEB_APP_CONFIG, format!("web app {name}: {e}"));
            return true;
        }
    };
    let site = config.get("properties").cloned().unwrap_or(Value::Null);
    let settings = WebApp {
        https_only: app
            .pointer("/properties/httpsOnly")
            .and_then(Value::as_bool),
        client_cert_enabled: app
            .pointer("/properties/clientCertEnabled")
            .and_then(Value::as_bool),
        http20_enabled: site.get("http20Enabled").and_then(Value::as_bool),
        min_tls_version: site
            .get("minTlsVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        ftps_state: site
            .get("ftpsState")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    // Upstream keeps the configuration in the raw record.
    if let Some(object) = app.as_object_mut() {
        object.insert("config".into(), config);
    }
    let fields = match serde_json::to_value(&settings) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let record = azure::record(listed.subscription, WEB_APP_CONFIG)
        .reference(id)
        .ext_extend(fields);
    emit.record(record.to_json(&app))
}
