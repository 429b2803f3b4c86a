//! Azure: signing in to Microsoft Entra ID (see [`CredentialKind`]) and ARM
//! list paging.

mod certificate;
mod collect;
mod credential;
mod plugin;

pub use crate::Collected;
pub use collect::{
    collect, item_id, list_request, record, summary_record, tasks, Listed, ResourceType,
    CLOUD_TYPE, SUBSCRIPTION,
};
pub use credential::{CredentialKind, SignIn};
pub use plugin::{AzurePlugin, AzureReading, Reader};

use crate::{Bearer, Http, HttpError, Limits, Pager};
use cloudmarker_plugin_api::sdk::{files, shard, Secret};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::time::Duration;

/// GETs `url` and every `nextLink` after it, handing each page's `value`
/// items to `page`. Returns how many items there were. A `nextLink` seen
/// before, or more than `max_pages` pages, ends the listing with an error
/// (the items already handed over stay handed over).
pub fn list(
    http: &Http,
    what: &str,
    url: &str,
    token: &Bearer,
    mut page: impl FnMut(Vec<Value>),
) -> Result<usize, HttpError> {
    list_raw(http, what, url, token, |items| {
        page(
            items
                .iter()
                .filter_map(|item| serde_json::from_str(item.get()).ok())
                .collect(),
        )
    })
}

/// One page of an ARM list, its items left as JSON text.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow, default)]
    value: Option<Vec<&'a RawValue>>,
    #[serde(default, rename = "nextLink")]
    next_link: Option<String>,
}

/// Like [`list`], handing each page's items as JSON text, for callers that
/// pass most of an item through and read only a few of its fields (parsing
/// items into a JSON tree and writing them out again is most of the CPU a
/// listing costs).
pub fn list_raw(
    http: &Http,
    what: &str,
    url: &str,
    token: &Bearer,
    mut page: impl FnMut(&[&RawValue]),
) -> Result<usize, HttpError> {
    let mut url = url.to_string();
    let mut count = 0;
    let mut pager = Pager::new(what, http.limits().max_pages, &url);
    loop {
        let token = token.get().map_err(HttpError::Transport)?;
        let body = http.get_bytes(what, &url, &token)?;
        let parsed: Page<'_> = serde_json::from_slice(&body)
            .map_err(|e| crate::http::not_expected(what, &url, "a list page", &body, &e))?;
        let items = parsed.value.unwrap_or_default();
        count += items.len();
        page(&items);
        match parsed.next_link.filter(|next| !next.is_empty()) {
            Some(next) => {
                pager.next(&next)?;
                url = next;
            }
            None => return Ok(count),
        }
    }
}

/// The parameters of the Azure cloud plugins (`azcloud`, `azvm`).
#[derive(
    Debug,
    Clone,
    serde::Deserialize,
    serde::Serialize,
    cloudmarker_plugin_api::sdk::schema::JsonSchema,
)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct AzureParams {
    /// How to sign in (see [`CredentialKind`]); when not given,
    /// `client_secret` if `secret` is given, `client_certificate` if
    /// `certificate` is, else `default`.
    pub credential: Option<CredentialKind>,
    /// The tenant (directory) id.
    pub tenant: String,
    /// The application (client) id; with `managed_identity`, the client id
    /// of a user-assigned identity.
    pub client: String,
    /// The client secret (never logged).
    pub secret: Secret,
    /// The client certificate with its private key: a PEM file, or a
    /// PKCS#12 file (`.pfx`, `.p12`).
    pub certificate: String,
    /// The password of a PKCS#12 certificate file (never logged).
    pub certificate_password: Secret,
    /// A PEM file of CA certificates to trust besides the built-in ones,
    /// for the authority and Resource Manager (a TLS-inspecting proxy's).
    pub ca_cert: Option<String>,
    /// Read at most this many subscriptions (0: all), for trials.
    #[serde(rename = "_max_subs")]
    pub max_subs: usize,
    /// Read at most this many records per subscription and type (0: all).
    #[serde(rename = "_max_recs")]
    pub max_recs: usize,
    /// The Entra ID authority (sovereign clouds have their own).
    pub authority_host: String,
    /// The Resource Manager endpoint.
    pub resource_manager: String,
    /// The Microsoft Graph endpoint (the plugins that read Microsoft Entra
    /// ID; sovereign clouds have their own).
    pub graph: String,
    /// Requests in flight at most.
    pub max_concurrency: usize,
    /// Upstream Cloudmarker's name for `max_concurrency`; wins when given.
    pub threads: Option<usize>,
    /// Upstream Cloudmarker's worker processes: accepted so that its configs
    /// run, with a notice that it has no effect (see `max_concurrency`).
    pub processes: Option<usize>,
    /// Seconds per request.
    pub timeout: f64,
    /// Retries of a throttled (429) or failed (5xx) request.
    pub max_retries: u32,
    /// Pages one listing may have; a longer one is cut and reported.
    pub max_pages: usize,
    /// Bytes one API answer may have; a larger one is refused and reported.
    pub max_response_bytes: u64,
}

impl Default for AzureParams {
    fn default() -> Self {
        Self {
            credential: None,
            tenant: String::new(),
            client: String::new(),
            secret: Secret::default(),
            certificate: String::new(),
            certificate_password: Secret::default(),
            ca_cert: None,
            max_subs: 0,
            max_recs: 0,
            authority_host: "https://login.microsoftonline.com".into(),
            resource_manager: "https://management.azure.com".into(),
            graph: "https://graph.microsoft.com".into(),
            max_concurrency: 8,
            threads: None,
            processes: None,
            timeout: 30.0,
            max_retries: 5,
            max_pages: crate::DEFAULT_MAX_PAGES,
            max_response_bytes: crate::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// A ready Azure session: HTTP client, sign-in and endpoints.
pub struct Session {
    /// The HTTP client.
    pub http: Http,
    /// How the plugin signs in.
    pub sign_in: SignIn,
    /// The Resource Manager token.
    pub token: Bearer,
    /// The Resource Manager base URL, without a trailing slash.
    pub resource_manager: String,
    /// The parameters.
    pub params: AzureParams,
    /// In a sharded run, what this shard took of the subscriptions.
    taken: std::sync::Mutex<Option<shard::Taken>>,
}

impl Session {
    /// Checks the parameters and prepares the session (no request yet).
    pub fn new(mut params: AzureParams) -> Result<Self, String> {
        params.max_concurrency =
            crate::upstream_threads(params.max_concurrency, params.threads, params.processes);
        let roots = match &params.ca_cert {
            Some(path) => files::read_limited(std::path::Path::new(path), files::MAX_PEM_BYTES)
                .map_err(|e| format!("cannot read ca_cert {path}: {e}"))?,
            None => Vec::new(),
        };
        let http = Http::with_roots(
            params.timeout,
            params.max_retries,
            Duration::from_millis(500),
            &roots,
        )?
        .with_limits(Limits {
            max_pages: params.max_pages,
            max_response_bytes: params.max_response_bytes,
        });
        let sign_in = SignIn::new(&params, &roots)?;
        let resource_manager = params.resource_manager.trim_end_matches('/').to_string();
        let token = Bearer::new(sign_in.source(&format!("{resource_manager}/.default")));
        Ok(Self {
            http,
            sign_in,
            token,
            resource_manager,
            params,
            taken: std::sync::Mutex::new(None),
        })
    }

    /// Tokens of the same identity for another resource, e.g.
    /// `https://vault.azure.net/.default` for Key Vault's data plane.
    pub fn token_for(&self, scope: &str) -> Bearer {
        Bearer::new(self.sign_in.source(scope))
    }

    /// The health check of every Azure plugin: signs in (a token for the
    /// Resource Manager) and lists the subscriptions the identity can read.
    pub fn health(&self) -> Result<String, String> {
        let subscriptions = self.subscriptions().map_err(|e| e.to_string())?;
        Ok(format!(
            "signed in with {} and listed {} subscription(s) at {}",
            self.sign_in.kind.name(),
            subscriptions.len(),
            self.resource_manager
        ))
    }

    /// [`Session::subscriptions`], or `None` after reporting why not to
    /// `emit` (and the log) as `plugin`'s problem: a reader that cannot
    /// list subscriptions reads nothing.
    pub fn subscriptions_for(&self, plugin: &str, emit: &crate::Emitter) -> Option<Vec<Value>> {
        match self.subscriptions() {
            Ok(subscriptions) => Some(subscriptions),
            Err(e) => {
                let message = format!("{plugin}: cannot list subscriptions: {e}");
                log::error!("{message}");
                emit.problem(cloudmarker_plugin_api::PluginError::unavailable(message));
                None
            }
        }
    }

    /// The subscriptions the identity can read (at most `_max_subs`), and
    /// of those, in a sharded run, only the shard's.
    pub fn subscriptions(&self) -> Result<Vec<Value>, HttpError> {
        let url = format!(
            "{}/subscriptions?api-version=2022-12-01",
            self.resource_manager
        );
        let mut subscriptions = Vec::new();
        list(
            &self.http,
            "listing subscriptions",
            &url,
            &self.token,
            |items| subscriptions.extend(items),
        )?;
        if self.params.max_subs > 0 {
            subscriptions.truncate(self.params.max_subs);
        }
        let (subscriptions, taken) = shard::partition(subscriptions, "subscription(s)", |s| {
            subscription_id(s).to_string()
        });
        *self.taken.lock().unwrap_or_else(|e| e.into_inner()) = taken;
        Ok(subscriptions)
    }

    /// The `collection_summary` fields that say which shard read the
    /// subscription and how many of how many it took (none when the run is
    /// not sharded).
    pub fn shard_fields(&self) -> serde_json::Map<String, Value> {
        self.taken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|taken| taken.summary_fields())
            .unwrap_or_default()
    }
}

/// A listed subscription's `subscriptionId`.
fn subscription_id(subscription: &Value) -> &str {
    subscription
        .get("subscriptionId")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The `ext` identity fields of a subscription (upstream's names).
pub fn subscription_ext(subscription: &Value) -> serde_json::Map<String, Value> {
    let mut ext = serde_json::Map::new();
    for (key, field) in [
        ("subscription_id", "subscriptionId"),
        ("subscription_name", "displayName"),
        ("subscription_state", "state"),
        ("tenant_id", "tenantId"),
    ] {
        ext.insert(
            key.into(),
            subscription.get(field).cloned().unwrap_or(Value::Null),
        );
    }
    ext
}
