//! Google Cloud: signing in through `google-cloud-auth` (see [`Kind`]) and
//! list paging.

use crate::bearer::{TokenFuture, TokenSource};
use crate::{Bearer, Http, HttpError, Pager};
use cloudmarker_plugin_api::record::Envelope;
use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use cloudmarker_plugin_api::sdk::{files, secret};
use google_cloud_auth::credentials::{
    external_account, impersonated, service_account, AccessTokenCredentials,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The `cloud_type` of Google Cloud's records.
pub const CLOUD_TYPE: &str = "gcp";

/// The envelope of a Google Cloud record of the plugin's type
/// `record_type` in the project whose `ext` identity is `project`
/// (`project_id`, `project_name`, ...): `ext` starts with the project's
/// fields, and `cloud_type` and `record_type` are set in both buckets. Add
/// the record's `reference` and own fields, then write it with
/// [`Envelope::to_json`].
pub fn record(project: &Map<String, Value>, record_type: &str) -> Envelope {
    Envelope::with_ext(project.clone(), CLOUD_TYPE, record_type)
}

/// The ways to sign in (`credentials:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub enum Kind {
    /// A service-account key file (`key_file_path`).
    KeyFile,
    /// Application default credentials: the file `GOOGLE_APPLICATION_CREDENTIALS`
    /// names, else gcloud's (`gcloud auth application-default login`), else
    /// the metadata server of GCE, GKE or Cloud Run.
    ApplicationDefault,
    /// Workload identity federation: an `external_account` configuration
    /// file (`credentials_file`), e.g. for AWS, Azure or an OIDC token file.
    ExternalAccount,
}

impl Kind {
    /// The name used in params, logs and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::KeyFile => "key_file",
            Self::ApplicationDefault => "application_default",
            Self::ExternalAccount => "external_account",
        }
    }
}

/// What signing in needs.
pub struct Settings<'a> {
    /// How; `None`: `key_file` when `key_file_path` is given, else
    /// `application_default`.
    pub kind: Option<Kind>,
    /// The service-account key file.
    pub key_file_path: &'a str,
    /// The external account configuration file.
    pub credentials_file: &'a str,
    /// The service account to act as, through the IAM Credentials API.
    pub impersonate_service_account: Option<&'a str>,
    /// The IAM Credentials API base URL (for impersonation with a key file
    /// or an external account; with application default credentials the
    /// crate uses its universe's endpoint).
    pub iam_credentials_url: &'a str,
    /// The OAuth scope of the tokens.
    pub scope: &'a str,
}

/// A signed-in identity.
pub struct SignIn {
    /// How it signs in.
    pub kind: Kind,
    /// The project the credentials name, if they do (a key file's).
    pub project: Option<String>,
    /// Who signs in, for records and messages: the service account's email,
    /// or the kind of credentials when they do not say.
    pub identity: String,
    credentials: AccessTokenCredentials,
}

impl SignIn {
    /// Prepares the credentials (files are read now; no request yet).
    pub fn new(settings: &Settings<'_>) -> Result<Self, String> {
        crate::bearer::in_runtime(|| Self::build(settings))
    }

    fn build(settings: &Settings<'_>) -> Result<Self, String> {
        let kind = settings
            .kind
            .unwrap_or(if settings.key_file_path.is_empty() {
                Kind::ApplicationDefault
            } else {
                Kind::KeyFile
            });
        let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", kind.name());
        let scopes = [settings.scope];
        let target = settings.impersonate_service_account;
        let (credentials, project, identity) = match kind {
            Kind::KeyFile => {
                if settings.key_file_path.is_empty() {
                    return Err("key_file: key_file_path must be set".into());
                }
                let key = read_json("key_file_path", settings.key_file_path, "service_account")?;
                if let Some(private_key) = key.get("private_key").and_then(Value::as_str) {
                    secret::register(private_key);
                    if private_key.contains("BEGIN RSA PRIVATE KEY") {
                        return Err(format!(
                            "key_file: the key in {} is PKCS#1 (BEGIN RSA PRIVATE KEY); Google issues PKCS#8 keys and only those are read: convert it with `openssl pkcs8 -topk8 -nocrypt`",
                            settings.key_file_path
                        ));
                    }
                }
                let project = text(&key, "project_id");
                let email = text(&key, "client_email").unwrap_or_default();
                let credentials = match target {
                    Some(target) => impersonate(&key, target, settings).map_err(|e| failed(&e))?,
                    None => service_account::Builder::new(key)
                        .with_access_specifier(service_account::AccessSpecifier::from_scopes(
                            scopes,
                        ))
                        .build_access_token_credentials()
                        .map_err(|e| failed(&e))?,
                };
                (credentials, project, target.map_or(email, str::to_string))
            }
            Kind::ExternalAccount => {
                if settings.credentials_file.is_empty() {
                    return Err("external_account: credentials_file must be set".into());
                }
                let config = read_json(
                    "credentials_file",
                    settings.credentials_file,
                    "external_account",
                )?;
                let identity = target
                    .map(str::to_string)
                    .or_else(|| impersonated_email(&config))
                    .unwrap_or_else(|| "an external account".to_string());
                let credentials = match target {
                    Some(target) => {
                        impersonate(&config, target, settings).map_err(|e| failed(&e))?
                    }
                    None => external_account::Builder::new(config)
                        .with_scopes(scopes)
                        .build_access_token_credentials()
                        .map_err(|e| failed(&e))?,
                };
                (credentials, None, identity)
            }
            Kind::ApplicationDefault => {
                let adc = google_cloud_auth::credentials::Builder::default().with_scopes(scopes);
                let credentials = match target {
                    Some(target) => {
                        let source = adc.build().map_err(|e| failed(&e))?;
                        impersonated::Builder::from_source_credentials(source)
                            .with_target_principal(target)
                            .with_scopes(scopes)
                            .build_access_token_credentials()
                            .map_err(|e| failed(&e))?
                    }
                    None => adc
                        .build_access_token_credentials()
                        .map_err(|e| failed(&e))?,
                };
                let identity = target.unwrap_or("application default credentials");
                (credentials, None, identity.to_string())
            }
        };
        Ok(Self {
            kind,
            project,
            identity,
            credentials,
        })
    }

    /// Tokens for the scope the credentials were built with.
    pub fn bearer(&self) -> Bearer {
        Bearer::new(GoogleToken {
            kind: self.kind,
            credentials: self.credentials.clone(),
        })
    }
}

/// Credentials that act as `target`, from the source credentials `source`
/// (a key file's or an external account configuration's JSON).
fn impersonate(
    source: &Value,
    target: &str,
    settings: &Settings<'_>,
) -> Result<AccessTokenCredentials, String> {
    let url = format!(
        "{}/v1/projects/-/serviceAccounts/{target}:generateAccessToken",
        settings.iam_credentials_url.trim_end_matches('/')
    );
    let config = json!({
        "type": "impersonated_service_account",
        "service_account_impersonation_url": url,
        "source_credentials": source,
    });
    impersonated::Builder::new(config)
        .with_scopes([settings.scope])
        .build_access_token_credentials()
        .map_err(|e| format!("impersonating {target}: {e}"))
}

/// A JSON credentials file of the expected `type`.
fn read_json(param: &str, path: &str, expected: &str) -> Result<Value, String> {
    // Credentials files are a few KB; a wrong path must not fill memory.
    let bytes = files::read_limited(Path::new(path), files::MAX_PEM_BYTES)
        .map_err(|e| format!("cannot read {param} {path}: {e}"))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{param} {path} is not JSON: {e}"))?;
    match value.get("type").and_then(Value::as_str) {
        Some(kind) if kind == expected => Ok(value),
        other => Err(format!(
            "{param} {path} is not a {expected} credentials file (its type is {})",
            other.unwrap_or("missing")
        )),
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The service account an external account configuration impersonates.
fn impersonated_email(config: &Value) -> Option<String> {
    let url = config.get("service_account_impersonation_url")?.as_str()?;
    let account = url.rsplit('/').next()?;
    Some(account.split(':').next()?.to_string())
}

/// A token from google-cloud-auth, for [`Bearer`].
struct GoogleToken {
    kind: Kind,
    credentials: AccessTokenCredentials,
}

impl TokenSource for GoogleToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            self.credentials
                .access_token()
                .await
                .map(|token| token.token)
                .map_err(|e| {
                    format!(
                        "signing in with {} failed: {}",
                        self.kind.name(),
                        crate::bearer::describe(&e)
                    )
                })
        })
    }
}

/// GETs `url` and the pages after it (`nextPageToken`), handing each page's
/// body to `page`. Returns how many pages there were. A token seen before,
/// or more than `max_pages` pages, ends the listing with an error.
pub fn list(
    http: &Http,
    what: &str,
    url: &str,
    token: &Bearer,
    mut page: impl FnMut(Value),
) -> Result<usize, HttpError> {
    let mut page_token: Option<String> = None;
    let mut pager = Pager::new(what, http.limits().max_pages, "");
    for pages in 1.. {
        let token = token.get().map_err(HttpError::Transport)?;
        let page_url = match &page_token {
            None => url.to_string(),
            Some(t) => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}pageToken={}", percent_encode(t))
            }
        };
        let body = http.get_json(what, &page_url, &token)?;
        page_token = body
            .get("nextPageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        page(body);
        match &page_token {
            None => return Ok(pages),
            Some(next) => pager.next(next)?,
        }
    }
    unreachable!("the page loop ends by returning")
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_starts_with_the_project() {
        let mut project = Map::new();
        project.insert("project_id".into(), "p1".into());
        let record = record(&project, "compute")
            .reference("https://x/instances/i1")
            .ext("zone", "z1")
            .to_json(&json!({"name": "i1"}));
        assert_eq!(
            record,
            concat!(
                r#"{"raw":{"name":"i1"},"#,
                r#""ext":{"project_id":"p1","cloud_type":"gcp","record_type":"compute","zone":"z1"},"#,
                r#""com":{"cloud_type":"gcp","record_type":"compute","reference":"https://x/instances/i1"}}"#
            )
        );
    }

    #[test]
    fn page_tokens_are_encoded() {
        assert_eq!(percent_encode("a b/c=="), "a%20b%2Fc%3D%3D");
    }

    #[test]
    fn the_impersonated_account_of_a_federation_config() {
        let config = json!({"service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/scanner@p.iam.gserviceaccount.com:generateAccessToken"});
        assert_eq!(
            impersonated_email(&config).as_deref(),
            Some("scanner@p.iam.gserviceaccount.com")
        );
        assert_eq!(impersonated_email(&json!({})), None);
    }

    #[test]
    fn a_key_file_of_another_type_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("user.json");
        std::fs::write(&path, r#"{"type": "authorized_user"}"#).unwrap();
        let error =
            read_json("key_file_path", path.to_str().unwrap(), "service_account").unwrap_err();
        assert!(
            error.contains(
                "is not a service_account credentials file (its type is authorized_user)"
            ),
            "{error}"
        );
    }
}
