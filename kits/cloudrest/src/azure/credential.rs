//! How an Azure plugin signs in: the `credential:` param, built into an
//! `azure_identity` credential. The crate does the token exchanges, caches
//! tokens and refreshes them before they expire (except the CLI's, see
//! [`CliCache`]).

use super::certificate::CertificateAssertion;
use super::AzureParams;
use crate::bearer::{TokenFuture, TokenSource};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::http::{
    AsyncRawResponse, ClientOptions, ExponentialRetryOptions, HttpClient, Request, RetryOptions,
    Transport, Url,
};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
    WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use cloudmarker_plugin_api::sdk::secret::excerpt;
use cloudmarker_plugin_api::sdk::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The ways to sign in (`credential:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub enum CredentialKind {
    /// A service principal's secret: `tenant`, `client`, `secret`.
    ClientSecret,
    /// A service principal's certificate: `tenant`, `client`, `certificate`
    /// (PEM or PKCS#12) and `certificate_password` for PKCS#12.
    ClientCertificate,
    /// The managed identity of the Azure VM, App Service or container the
    /// plugin runs on; user-assigned with `client`.
    ManagedIdentity,
    /// AKS workload identity: the federated token file, client and tenant
    /// that AKS injects (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`,
    /// `AZURE_TENANT_ID`; `client` and `tenant` override the last two).
    WorkloadIdentity,
    /// The Azure CLI's login (`az login`).
    AzureCli,
    /// The first that works of: the environment's service principal
    /// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET` or
    /// `AZURE_CLIENT_CERTIFICATE_PATH`), workload identity, managed
    /// identity, the Azure CLI.
    Default,
}

impl CredentialKind {
    /// The name used in params, logs and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientSecret => "client_secret",
            Self::ClientCertificate => "client_certificate",
            Self::ManagedIdentity => "managed_identity",
            Self::WorkloadIdentity => "workload_identity",
            Self::AzureCli => "azure_cli",
            Self::Default => "default",
        }
    }
}

/// How long the default chain waits for a managed identity endpoint to
/// accept a connection (off Azure, the IMDS address goes nowhere).
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A signed-in identity: its kind and the crate's credential.
#[derive(Clone)]
pub struct SignIn {
    /// How it signs in.
    pub kind: CredentialKind,
    credential: Arc<dyn TokenCredential>,
}

impl fmt::Debug for SignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignIn").field("kind", &self.kind).finish()
    }
}

impl SignIn {
    /// The credential that `params` ask for; checks what it needs (no
    /// request yet). `roots` are extra CA certificates (PEM) to trust.
    pub fn new(params: &AzureParams, roots: &[u8]) -> Result<Self, String> {
        let kind = params.credential.unwrap_or({
            if !params.secret.is_empty() {
                CredentialKind::ClientSecret
            } else if !params.certificate.is_empty() {
                CredentialKind::ClientCertificate
            } else {
                CredentialKind::Default
            }
        });
        if params.credential.is_none()
            && kind == CredentialKind::Default
            && !(params.tenant.trim().is_empty() && params.client.trim().is_empty())
        {
            // A `secret: ${AZURE_SECRET:-}` that came out empty, or a
            // forgotten one: not the service principal that was meant.
            log::warn!(
                "Azure: tenant or client is set but secret and certificate are empty, so the plugin signs in with credential: default (the environment's service principal, workload identity, managed identity, the Azure CLI), not with a client secret. Set the secret, or say `credential: default` (or the way meant) to silence this."
            );
        }
        let setup = Setup::new(params, roots)?;
        let credential = match kind {
            CredentialKind::Default => Arc::new(DefaultChain::new(&setup)) as Arc<_>,
            kind => setup.build(kind)?,
        };
        Ok(Self { kind, credential })
    }

    /// Tokens for `scope` (e.g. `https://management.azure.com/.default`).
    pub fn source(&self, scope: &str) -> impl TokenSource {
        AzureToken {
            sign_in: self.clone(),
            scope: scope.to_string(),
        }
    }
}

/// What building a credential needs.
struct Setup {
    tenant: Option<String>,
    client: Option<String>,
    secret: Secret,
    certificate: String,
    certificate_password: Secret,
    authority_host: String,
    timeout: Duration,
    max_retries: u32,
    roots: Vec<u8>,
}

impl Setup {
    fn new(params: &AzureParams, roots: &[u8]) -> Result<Self, String> {
        let given = |value: &str| Some(value.trim().to_string()).filter(|v| !v.is_empty());
        if !params.authority_host.starts_with("https://") {
            return Err(format!(
                "authority_host must be an https:// URL, not {}",
                params.authority_host
            ));
        }
        Ok(Self {
            tenant: given(&params.tenant),
            client: given(&params.client),
            secret: params.secret.clone(),
            certificate: params.certificate.clone(),
            certificate_password: params.certificate_password.clone(),
            authority_host: params.authority_host.trim_end_matches('/').to_string(),
            timeout: Duration::from_secs_f64(params.timeout),
            max_retries: params.max_retries,
            roots: roots.to_vec(),
        })
    }

    /// The crate's HTTP options: our TLS settings, timeout, retries and
    /// authority; a `probe` (the default chain's managed identity) gives up
    /// at once when nothing answers. The transport notes in `answers` what
    /// the sign-in endpoint answered instead of a token.
    fn client_options(&self, probe: bool, answers: &Answers) -> Result<ClientOptions, String> {
        crate::bearer::install_crypto_provider();
        let mut builder = reqwest13::Client::builder().timeout(self.timeout);
        if probe {
            builder = builder.connect_timeout(PROBE_CONNECT_TIMEOUT);
        }
        if !self.roots.is_empty() {
            for root in reqwest13::Certificate::from_pem_bundle(&self.roots)
                .map_err(|e| format!("ca_cert is not PEM: {e}"))?
            {
                builder = builder.add_root_certificate(root);
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up HTTP for signing in: {e}"))?;
        let mut cloud = CustomConfiguration::default();
        cloud.authority_host.clone_from(&self.authority_host);
        // The plugin's retry bound (`max_retries`), not the crate's minute.
        let retry = ExponentialRetryOptions {
            initial_delay: azure_core::time::Duration::milliseconds(500),
            max_retries: self.max_retries,
            max_total_elapsed: azure_core::time::Duration::seconds(60),
            ..ExponentialRetryOptions::default()
        };
        Ok(ClientOptions {
            retry: if probe {
                RetryOptions::none()
            } else {
                RetryOptions::exponential(retry)
            },
            transport: Some(Transport::new(Arc::new(Noting {
                client,
                answers: answers.clone(),
            }))),
            cloud: Some(Arc::new(CloudConfiguration::from(cloud))),
            ..ClientOptions::default()
        })
    }

    fn required(&self, kind: CredentialKind) -> Result<(String, String), String> {
        match (&self.tenant, &self.client) {
            (Some(tenant), Some(client)) => Ok((tenant.clone(), client.clone())),
            _ => Err(format!("{}: tenant and client must be set", kind.name())),
        }
    }

    /// The crate's credential of one kind (not the default chain); its
    /// errors say what the sign-in endpoint answered.
    fn build(&self, kind: CredentialKind) -> Result<Arc<dyn TokenCredential>, String> {
        let answers = Answers::default();
        let credential = self.build_with(kind, &answers)?;
        Ok(match kind {
            CredentialKind::AzureCli => credential,
            _ => Arc::new(Explained {
                credential,
                answers,
            }),
        })
    }

    fn build_with(
        &self,
        kind: CredentialKind,
        answers: &Answers,
    ) -> Result<Arc<dyn TokenCredential>, String> {
        let failed = |e: azure_core::Error| format!("{}: {e}", kind.name());
        Ok(match kind {
            CredentialKind::ClientSecret => {
                let (tenant, client) = self.required(kind)?;
                if self.secret.expose().trim().is_empty() {
                    return Err(
                        "client_secret: secret must be set (it is empty; credential: client_secret signs in with tenant, client and secret)"
                            .into(),
                    );
                }
                let options = ClientSecretCredentialOptions {
                    client_options: self.client_options(false, answers)?,
                };
                ClientSecretCredential::new(
                    &tenant,
                    client,
                    self.secret.expose().to_string().into(),
                    Some(options),
                )
                .map_err(failed)?
            }
            CredentialKind::ClientCertificate => {
                let (tenant, client) = self.required(kind)?;
                if self.certificate.trim().is_empty() {
                    return Err("client_certificate: certificate must be set".into());
                }
                let audience = format!("{}/{tenant}/oauth2/v2.0/token", self.authority_host);
                let assertion = CertificateAssertion::read(
                    &self.certificate,
                    &self.certificate_password,
                    &client,
                    &audience,
                )
                .map_err(|e| format!("client_certificate: {e}"))?;
                let options = ClientAssertionCredentialOptions {
                    client_options: self.client_options(false, answers)?,
                };
                ClientAssertionCredential::new(tenant, client, assertion, Some(options))
                    .map_err(failed)?
            }
            CredentialKind::ManagedIdentity => self.managed_identity_with(false, answers)?,
            CredentialKind::WorkloadIdentity => {
                let options = WorkloadIdentityCredentialOptions {
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: self.client_options(false, answers)?,
                    },
                    client_id: self.client.clone(),
                    tenant_id: self.tenant.clone(),
                    ..WorkloadIdentityCredentialOptions::default()
                };
                WorkloadIdentityCredential::new(Some(options)).map_err(failed)?
            }
            CredentialKind::AzureCli => {
                let options = AzureCliCredentialOptions {
                    tenant_id: self.tenant.clone(),
                    ..AzureCliCredentialOptions::default()
                };
                Arc::new(CliCache::new(
                    AzureCliCredential::new(Some(options)).map_err(failed)?,
                ))
            }
            CredentialKind::Default => unreachable!("the default chain is built by DefaultChain"),
        })
    }

    /// The default chain's managed identity (a `probe`).
    fn managed_identity(&self, probe: bool) -> Result<Arc<dyn TokenCredential>, String> {
        let answers = Answers::default();
        let credential = self.managed_identity_with(probe, &answers)?;
        Ok(Arc::new(Explained {
            credential,
            answers,
        }))
    }

    fn managed_identity_with(
        &self,
        probe: bool,
        answers: &Answers,
    ) -> Result<Arc<dyn TokenCredential>, String> {
        let options = ManagedIdentityCredentialOptions {
            user_assigned_id: self.client.clone().map(UserAssignedId::ClientId),
            client_options: self.client_options(probe, answers)?,
        };
        ManagedIdentityCredential::new(Some(options))
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| format!("managed_identity: {e}"))
    }
}

/// What a sign-in endpoint last answered instead of a token, noted by the
/// transport: the crate's error says only the server's description, or
/// only `expected value at line 1 column 1` when the answer is not JSON.
#[derive(Debug, Default, Clone)]
struct Answers(Arc<Mutex<Option<Answer>>>);

impl Answers {
    /// Notes the answer `status` and `body` from `url` (forgets the last
    /// one when this is a token).
    fn note(&self, url: &Url, status: u16, body: &[u8]) {
        let answer = Answer::read(url, status, body);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = answer;
    }

    fn take(&self) -> Option<Answer> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// An answer of a sign-in endpoint that was not a token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    /// The endpoint: its URL without the query.
    endpoint: String,
    status: u16,
    /// OAuth's `error` (`invalid_client`, `server_error`) or an error
    /// object's `code`.
    error: Option<String>,
    /// Entra ID's `error_codes` as `AADSTS` numbers, or the one its
    /// description starts with.
    codes: Vec<String>,
    /// An error object's `message`, when there is no `error_description`
    /// (which the crate quotes itself).
    message: Option<String>,
    /// The start of an answer that is not a JSON object (`""`: empty).
    not_json: Option<String>,
}

impl Answer {
    /// What `status` and `body` from `url` say, unless they are a token
    /// (a success with a JSON object).
    fn read(url: &Url, status: u16, body: &[u8]) -> Option<Self> {
        let json = serde_json::from_slice::<Value>(body)
            .ok()
            .filter(Value::is_object);
        if (200..300).contains(&status) && json.is_some() {
            return None;
        }
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        endpoint.set_fragment(None);
        let _ = endpoint.set_username("");
        let _ = endpoint.set_password(None);
        let mut answer = Self {
            endpoint: endpoint.to_string(),
            status,
            error: None,
            codes: Vec::new(),
            message: None,
            not_json: None,
        };
        let Some(json) = json else {
            answer.not_json = Some(excerpt(&String::from_utf8_lossy(body)));
            return Some(answer);
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(excerpt);
        answer.error = match json.get("error") {
            Some(Value::Object(error)) => {
                answer.message = text(error.get("message"));
                text(error.get("code"))
            }
            error => text(error),
        };
        let numbers = json.get("error_codes").and_then(Value::as_array);
        answer.codes = numbers
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .map(|n| format!("AADSTS{n}"))
            .collect();
        let description = json.get("error_description").and_then(Value::as_str);
        if answer.codes.is_empty() {
            answer.codes.extend(description.and_then(aadsts_code));
        }
        if description.is_none() && answer.message.is_none() {
            answer.message = text(json.get("message"));
        }
        Some(answer)
    }
}

/// `AADSTS7000215` from `AADSTS7000215: Invalid client secret provided.`
fn aadsts_code(text: &str) -> Option<String> {
    let start = text.find("AADSTS")?;
    let digits: String = text[start + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = azure_core::http::StatusCode::from(self.status).canonical_reason();
        write!(f, "{} answered HTTP {}", self.endpoint, self.status)?;
        if !reason.starts_with("HTTP") {
            write!(f, " {reason}")?;
        }
        let said: Vec<&str> = self
            .error
            .iter()
            .chain(&self.codes)
            .chain(&self.message)
            .map(String::as_str)
            .collect();
        if !said.is_empty() {
            write!(f, ": {}", said.join(", "))?;
        }
        match self.not_json.as_deref() {
            Some("") => f.write_str(", with an empty body instead of the expected JSON"),
            Some(start) => write!(f, ", not with the expected JSON but: {start}"),
            None => Ok(()),
        }
    }
}

/// The identity crates' transport: reqwest with the plugin's settings,
/// noting each answer in [`Answers`].
#[derive(Debug)]
struct Noting {
    client: reqwest13::Client,
    answers: Answers,
}

#[async_trait::async_trait]
impl HttpClient for Noting {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let response = self.client.execute_request(request).await?;
        // Sign-in answers are small; the crate reads them whole too.
        let (status, headers, body) = response.deconstruct();
        let body = body.collect().await?;
        self.answers.note(request.url(), u16::from(status), &body);
        Ok(AsyncRawResponse::from_bytes(status, headers, body))
    }
}

/// A credential whose errors end with what the sign-in endpoint answered
/// (its URL, the HTTP status, the server's error and AADSTS codes, the
/// start of an answer that is not JSON), never with what was sent.
#[derive(Debug)]
struct Explained {
    credential: Arc<dyn TokenCredential>,
    answers: Answers,
}

#[async_trait::async_trait]
impl TokenCredential for Explained {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let error = match self.credential.get_token(scopes, options).await {
            Ok(token) => return Ok(token),
            Err(error) => error,
        };
        match self.answers.take() {
            Some(answer) => Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                format!("{} ({answer})", describe(&error)),
            )),
            None => Err(error),
        }
    }
}

/// A token for one scope from a [`SignIn`], for [`crate::Bearer`].
struct AzureToken {
    sign_in: SignIn,
    scope: String,
}

impl TokenSource for AzureToken {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let token = self
                .sign_in
                .credential
                .get_token(&[self.scope.as_str()], None)
                .await
                .map_err(|e| {
                    format!(
                        "signing in with {} failed: {}",
                        self.sign_in.kind.name(),
                        describe(&e)
                    )
                })?;
            Ok(token.token.secret().to_string())
        })
    }
}

/// One line for an identity error, without the crate's troubleshooting
/// link (and its `#client-secret` anchor).
fn describe(error: &azure_core::Error) -> String {
    const LINK: &str = " To troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot";
    let mut text = crate::bearer::describe(error);
    while let Some(start) = text.find(LINK) {
        let rest = &text[start + LINK.len()..];
        let anchor = rest.strip_prefix('#').map_or(0, |a| {
            1 + a
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .unwrap_or(a.len())
        });
        text = format!("{}{}", &text[..start], &rest[anchor..]);
    }
    text
}

/// The crate's Azure CLI credential runs `az` on every call and keeps
/// nothing; this keeps its token until five minutes before it expires, as
/// the crate's other credentials do.
#[derive(Debug)]
struct CliCache {
    cli: Arc<AzureCliCredential>,
    tokens: Mutex<Vec<(String, AccessToken)>>,
}

impl CliCache {
    fn new(cli: Arc<AzureCliCredential>) -> Self {
        Self {
            cli,
            tokens: Mutex::default(),
        }
    }
}

#[async_trait::async_trait]
impl TokenCredential for CliCache {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let key = scopes.join(" ");
        let fresh = |token: &AccessToken| {
            token.expires_on
                > azure_core::time::OffsetDateTime::now_utc()
                    + azure_core::time::Duration::minutes(5)
        };
        {
            let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, token)) = tokens.iter().find(|(k, t)| *k == key && fresh(t)) {
                return Ok(token.clone());
            }
        }
        let token = self.cli.get_token(scopes, options).await?;
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|(k, _)| *k != key);
        tokens.push((key, token.clone()));
        Ok(token)
    }
}

/// One way of the default chain: its credential, or why it cannot be used.
type Member = Result<Arc<dyn TokenCredential>, String>;

/// `credential: default`: tries each way in the documented order, keeps
/// the first that gives a token and says which in the log.
#[derive(Debug)]
struct DefaultChain {
    members: Vec<(&'static str, Member)>,
    /// The member that worked, once one has (`usize::MAX`: none yet).
    chosen: AtomicUsize,
}

impl DefaultChain {
    fn new(setup: &Setup) -> Self {
        let environment = Self::environment(setup);
        let workload = match std::env::var_os("AZURE_FEDERATED_TOKEN_FILE") {
            Some(_) => setup.build(CredentialKind::WorkloadIdentity),
            None => Err("AZURE_FEDERATED_TOKEN_FILE is not set".into()),
        };
        let members = vec![
            ("environment", environment),
            ("workload_identity", workload),
            ("managed_identity", setup.managed_identity(true)),
            ("azure_cli", setup.build(CredentialKind::AzureCli)),
        ];
        Self {
            members,
            chosen: AtomicUsize::new(usize::MAX),
        }
    }

    /// The service principal of `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and
    /// `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH` (with
    /// `AZURE_CLIENT_CERTIFICATE_PASSWORD`).
    fn environment(setup: &Setup) -> Member {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(tenant), Some(client)) = (var("AZURE_TENANT_ID"), var("AZURE_CLIENT_ID")) else {
            return Err("AZURE_TENANT_ID and AZURE_CLIENT_ID are not set".into());
        };
        let mut from_env = Setup {
            tenant: Some(tenant),
            client: Some(client),
            secret: Secret::default(),
            certificate: String::new(),
            certificate_password: Secret::default(),
            authority_host: setup.authority_host.clone(),
            timeout: setup.timeout,
            max_retries: setup.max_retries,
            roots: setup.roots.clone(),
        };
        if let Some(secret) = var("AZURE_CLIENT_SECRET") {
            from_env.secret = Secret::new(secret);
            from_env.build(CredentialKind::ClientSecret)
        } else if let Some(path) = var("AZURE_CLIENT_CERTIFICATE_PATH") {
            from_env.certificate = path;
            from_env.certificate_password =
                Secret::new(var("AZURE_CLIENT_CERTIFICATE_PASSWORD").unwrap_or_default());
            from_env.build(CredentialKind::ClientCertificate)
        } else {
            Err("neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set".into())
        }
    }
}

#[async_trait::async_trait]
impl TokenCredential for DefaultChain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let chosen = self.chosen.load(Ordering::Acquire);
        if let Some((_, Ok(credential))) = self.members.get(chosen) {
            return credential.get_token(scopes, options).await;
        }
        let mut failures = Vec::new();
        for (index, (name, member)) in self.members.iter().enumerate() {
            match member {
                Err(why) => failures.push(format!("{name}: {why}")),
                Ok(credential) => match credential.get_token(scopes, options.clone()).await {
                    Ok(token) => {
                        if self.chosen.swap(index, Ordering::AcqRel) != index {
                            log::info!("Signed in to Azure with {name} (credential: default).");
                        }
                        return Ok(token);
                    }
                    Err(e) => failures.push(format!("{name}: {}", describe(&e))),
                },
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!("no way of signing in worked ({})", failures.join("; ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_sign_in_endpoint_answered_instead_of_a_token() {
        let url = Url::parse("https://login.example/tenant-1/oauth2/v2.0/token?x=1").unwrap();
        let said = |status: u16, body: &str| {
            Answer::read(&url, status, body.as_bytes()).map(|a| a.to_string())
        };
        assert_eq!(
            said(200, r#"{"access_token": "t", "expires_in": 3599}"#),
            None
        );
        let endpoint = "https://login.example/tenant-1/oauth2/v2.0/token";
        assert_eq!(
            said(401, r#"{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]}"#).unwrap(),
            format!("{endpoint} answered HTTP 401 Unauthorized: invalid_client, AADSTS7000215")
        );
        assert_eq!(
            said(400, r#"{"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain client_id."}"#).unwrap(),
            format!("{endpoint} answered HTTP 400 Bad Request: invalid_request, AADSTS900144")
        );
        assert_eq!(
            said(500, r#"{"error": {"code": "InternalServerError", "message": "Try again."}}"#)
                .unwrap(),
            format!("{endpoint} answered HTTP 500 Internal Server Error: InternalServerError, Try again.")
        );
        assert_eq!(
            said(200, "<html>\n<p>Sign in</p></html>").unwrap(),
            format!("{endpoint} answered HTTP 200 OK, not with the expected JSON but: <html> <p>Sign in</p></html>")
        );
        assert_eq!(
            said(503, "").unwrap(),
            format!("{endpoint} answered HTTP 503 Service Unavailable, with an empty body instead of the expected JSON")
        );
    }

    #[test]
    fn the_troubleshooting_link_goes_with_its_anchor() {
        let error = azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided.\nTo troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot#client-secret",
        );
        assert_eq!(
            describe(&error),
            "ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret provided."
        );
    }
}
