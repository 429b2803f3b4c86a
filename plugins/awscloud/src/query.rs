//! EC2 through its Query API: a small client in place of the `aws-sdk-ec2`
//! crate, which is 88 MB of generated code (660 s of CPU, about a fifth of
//! a cold release build of the workspace) for the few read-only calls
//! `ec2.rs` makes. The same client calls the services read with one or two
//! calls each (AWS Config in JSON 1.1; EFS, IAM Access Analyzer and
//! Security Hub in REST; Organizations in JSON 1.1), each a [`Service`]
//! (its endpoint id, signing name and host prefix): their SDK crates would
//! each add minutes to a cold build for those calls.
//!
//! It uses what the SDK already brings: the account's `SdkConfig` (region,
//! endpoint, credentials, retry and timeout settings), `aws-sigv4` to sign,
//! the SDK's own HTTPS connector (rustls on ring, the platform's roots) and
//! `aws-smithy-xml` to read the answers. Each call is an HTTPS POST of
//! `Action=...&Version=2016-11-15&...` to the regional endpoint, signed
//! with SigV4; lists come in pages linked by `nextToken`; errors are
//! `<Response><Errors><Error><Code>..</Code><Message>..` with the HTTP
//! status. Throttling and transient failures are retried as the SDK's
//! standard retry strategy does: at most `max_attempts` attempts, with
//! exponential backoff and full jitter.
//!
//! Only the fields `ec2.rs` reads are parsed (with the SDK's element names
//! and value rules: a number or boolean that does not parse fails the page,
//! as it did in the SDK); everything else in an answer is skipped.

use crate::session::causes;
use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::identity::{IdentityCachePartition, ResolveIdentity};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_types::primitive::Parse;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_xml::decode::{try_data, Document, ScopedDecoder, XmlDecodeError};
use aws_types::service_config::ServiceConfigKey;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The API version every EC2 Query request names.
pub const VERSION: &str = "2016-11-15";
/// The SigV4 signing name of EC2.
const SERVICE: &str = "ec2";
/// What the SDK sends for the Query protocols.
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// What the SDK sends for the JSON 1.1 protocol.
const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const USER_AGENT: &str = concat!("cloudmarker-awscloud/", env!("CARGO_PKG_VERSION"));

/// Error codes the SDK retries as throttling (`aws-runtime`'s list).
const THROTTLING: [&str; 14] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];
/// Error codes the SDK retries as transient.
const TRANSIENT: [&str; 2] = ["RequestTimeout", "RequestTimeoutException"];
/// HTTP statuses the SDK retries as transient.
const TRANSIENT_STATUS: [u16; 4] = [500, 502, 503, 504];

/// Why a call failed. When the service answered with an error, its text
/// is what `session::describe` made of the SDK's error: `Code: message`
/// (or `Code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The service answered with an error status.
    Service {
        /// The HTTP status.
        status: u16,
        /// The error's `Code`, if the answer had one.
        code: Option<String>,
        /// The error's `Message`, if the answer had one.
        message: Option<String>,
    },
    /// No answer: the connection failed, or the answer broke off.
    Dispatch {
        /// What failed, with its causes.
        message: String,
        /// Whether the SDK would retry it (I/O and timeouts, not a bad request).
        retry: bool,
    },
    /// An attempt or the whole call took longer than the timeout allows.
    Timeout(String),
    /// A success status with an answer that does not parse.
    Response(String),
    /// The request could not be made: no endpoint, credentials or signature.
    Request(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service {
                code: Some(code),
                message: Some(message),
                ..
            } => write!(f, "{code}: {message}"),
            Self::Service {
                code: Some(code), ..
            } => f.write_str(code),
            Self::Service { status, .. } => {
                write!(f, "service error: HTTP {status} without an error code")
            }
            Self::Dispatch { message, .. } => write!(f, "dispatch failure: {message}"),
            Self::Timeout(message) => write!(f, "timeout: {message}"),
            Self::Response(message) => write!(f, "response error: {message}"),
            Self::Request(message) => write!(f, "failed to construct request: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Whether the SDK's standard strategy retries it, and if so whether
    /// as throttling (`Some(true)`) or as a transient failure.
    fn retry(&self) -> Option<bool> {
        match self {
            Self::Service { status, code, .. } => {
                let code = code.as_deref().unwrap_or_default();
                if THROTTLING.contains(&code) {
                    Some(true)
                } else if TRANSIENT.contains(&code) || TRANSIENT_STATUS.contains(status) {
                    Some(false)
                } else {
                    None
                }
            }
            Self::Dispatch { retry: true, .. } | Self::Timeout(_) => Some(false),
            _ => None,
        }
    }
}

/// A page of a list: its items and the token of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// `nextToken`, if the answer had one.
    pub next_token: Option<String>,
}

/// Reads an answer (the XML text) into what the caller wants.
pub type Parser<T> = fn(&str) -> Result<T, XmlDecodeError>;

/// An AWS service as the client addresses it: its id for the configured
/// endpoints (`AWS_ENDPOINT_URL_<ID>`, the profile's `services` section),
/// its SigV4 signing name and its endpoint prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The SDK's service id (`EC2`, `Config Service`).
    pub id: &'static str,
    /// The SigV4 signing name.
    pub signing_name: &'static str,
    /// The first label of the regional host name.
    pub prefix: &'static str,
}

/// EC2 (the Query API).
pub const EC2: Service = Service {
    id: "EC2",
    signing_name: SERVICE,
    prefix: "ec2",
};

/// What one call sends.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// A Query API call: a form POST of `Action`, `Version` and these
    /// params (EC2).
    Form(&'a str),
    /// A JSON 1.1 call: a POST of this body with `X-Amz-Target` (AWS
    /// Config).
    Json {
        /// `X-Amz-Target`: `Service_Version.Operation`.
        target: &'a str,
        /// The JSON body.
        body: &'a str,
    },
    /// A REST call: a GET of this path and query (EFS, Access Analyzer,
    /// Security Hub).
    Get(&'a str),
}

/// A client of one AWS service (EC2 unless made with [`Client::of`]) in
/// one region.
pub type Ec2 = Client;

/// A client of an AWS service in one region.
pub struct Client {
    service: Service,
    region: String,
    endpoint: Result<String, String>,
    credentials: Option<SharedCredentialsProvider>,
    retry: RetryConfig,
    attempt_timeout: Option<Duration>,
    operation_timeout: Option<Duration>,
    http: SharedHttpConnector,
}

impl Client {
    /// A client of EC2 for `config`'s region, endpoint and credentials.
    pub fn new(config: &SdkConfig) -> Self {
        Self::of(EC2, config)
    }

    /// A client of `service` for `config`'s region, endpoint and
    /// credentials.
    pub fn of(service: Service, config: &SdkConfig) -> Self {
        let connect_timeout = config.timeout_config().and_then(|t| t.connect_timeout());
        Self::with_connector_of(service, config, connector(connect_timeout))
    }

    /// A client of EC2 sending its requests through `http`.
    #[cfg(test)]
    pub fn with_connector(config: &SdkConfig, http: SharedHttpConnector) -> Self {
        Self::with_connector_of(EC2, config, http)
    }

    /// A client of `service` sending its requests through `http`.
    pub fn with_connector_of(
        service: Service,
        config: &SdkConfig,
        http: SharedHttpConnector,
    ) -> Self {
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        let timeouts = config.timeout_config();
        Self {
            endpoint: service_endpoint(service, config, &region),
            service,
            region,
            credentials: config.credentials_provider(),
            retry: config
                .retry_config()
                .cloned()
                .unwrap_or_else(RetryConfig::standard),
            attempt_timeout: timeouts.and_then(|t| t.operation_attempt_timeout()),
            operation_timeout: timeouts.and_then(|t| t.operation_timeout()),
            http,
        }
    }

    /// Calls `action` with `params` and reads the answer with `parse`.
    pub async fn read<T>(
        &self,
        action: &str,
        params: &[(&str, &str)],
        parse: Parser<T>,
    ) -> Result<T, Error> {
        let xml = self.call(action, params).await?;
        parse(&xml).map_err(|e| Error::Response(format!("cannot read the {action} answer: {e}")))
    }

    /// Sends `request` (the operation `action`) and reads its JSON answer.
    pub async fn json(
        &self,
        action: &str,
        request: Request<'_>,
    ) -> Result<serde_json::Value, Error> {
        let text = self.send(action, request).await?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Response(format!("cannot read the {action} answer: {e}")))
    }

    /// The pages of the list `action` answers, read with `parse`.
    pub fn pages<T>(&self, action: &'static str, parse: Parser<Page<T>>) -> Pages<'_, T> {
        Pages {
            ec2: self,
            action,
            parse,
            token: None,
            done: false,
        }
    }

    /// Calls `action` with `params`, retrying throttled and failed attempts;
    /// returns the answer's text.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<String, Error> {
        let body = form(action, params);
        self.send(action, Request::Form(&body)).await
    }

    /// Sends `request` (the operation `action`), retrying throttled and
    /// failed attempts; returns the answer's text.
    pub async fn send(&self, action: &str, request: Request<'_>) -> Result<String, Error> {
        let attempts = self.attempts(action, request);
        match self.operation_timeout {
            Some(limit) => tokio::time::timeout(limit, attempts)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Timeout(format!(
                        "{action} took longer than {limit:?}"
                    )))
                }),
            None => attempts.await,
        }
    }

    async fn attempts(&self, action: &str, body: Request<'_>) -> Result<String, Error> {
        let max_attempts = self.retry.max_attempts().max(1);
        let mut attempt = 1;
        loop {
            let result = match self.attempt_timeout {
                Some(limit) => tokio::time::timeout(limit, self.attempt(action, body))
                    .await
                    .unwrap_or_else(|_| {
                        Err(Error::Timeout(format!(
                            "an attempt at {action} took longer than {limit:?}"
                        )))
                    }),
                None => self.attempt(action, body).await,
            };
            let error = match result {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
            match error.retry() {
                Some(throttled) if attempt < max_attempts => {
                    let delay = backoff(&self.retry, throttled, attempt, jitter());
                    log::debug!(
                        "awscloud: {} {action} in {}: attempt {attempt} failed ({error}); retrying in {delay:?}",
                        self.service.id,
                        self.region
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                _ => return Err(error),
            }
        }
    }

    /// One attempt: sign, send, and read the whole answer.
    async fn attempt(&self, action: &str, body: Request<'_>) -> Result<String, Error> {
        let url = self
            .endpoint
            .as_ref()
            .map_err(|e| Error::Request(e.clone()))?;
        let credentials = match &self.credentials {
            Some(provider) => credentials(provider).await?,
            None => {
                return Err(Error::Request(
                    "no credentials provider is configured".into(),
                ))
            }
        };
        let name = self.service.signing_name;
        let request = match body {
            Request::Form(body) => signed_request(
                url,
                &self.region,
                name,
                body,
                &credentials,
                SystemTime::now(),
            ),
            Request::Json { target, body } => signed(
                http::Method::POST,
                url,
                (&self.region, name),
                &[
                    ("content-type", JSON_CONTENT_TYPE),
                    ("x-amz-target", target),
                ],
                body,
                &credentials,
                SystemTime::now(),
            ),
            Request::Get(path) => signed(
                http::Method::GET,
                &format!("{}{}", url.trim_end_matches('/'), path),
                (&self.region, name),
                &[],
                "",
                &credentials,
                SystemTime::now(),
            ),
        }
        .map_err(Error::Request)?;
        let request = HttpRequest::try_from(request.map(SdkBody::from))
            .map_err(|e| Error::Request(causes(&e)))?;
        let response = self.http.call(request).await.map_err(dispatch)?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .map(|t| t.split(':').next().unwrap_or_default().to_string());
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| Error::Dispatch {
                message: format!("the answer broke off: {}", causes(&e)),
                retry: true,
            })?
            .into_bytes();
        let text = String::from_utf8(bytes.to_vec());
        if (200..300).contains(&status) {
            text.map_err(|_| Error::Response(format!("the {action} answer is not UTF-8")))
        } else {
            let (code, message) = match body {
                Request::Form(_) => text.map(|t| error_document(&t)).unwrap_or_default(),
                _ => {
                    let (code, message) = text.map(|t| json_error(&t)).unwrap_or_default();
                    (error_type.filter(|t| !t.is_empty()).or(code), message)
                }
            };
            Err(Error::Service {
                status,
                code,
                message,
            })
        }
    }
}

/// The pages of a list, fetched one at a time (see [`Ec2::pages`]). Like
/// the SDK's paginators, it stops after a page without a `nextToken` (or
/// with an empty one, or the one it just sent) and after an error.
pub struct Pages<'a, T> {
    ec2: &'a Ec2,
    action: &'static str,
    parse: Parser<Page<T>>,
    token: Option<String>,
    done: bool,
}

impl<T> Pages<'_, T> {
    /// The next page's items; `None` after the last page.
    pub async fn next(&mut self) -> Option<Result<Vec<T>, Error>> {
        if self.done {
            return None;
        }
        let params: Vec<(&str, &str)> = self
            .token
            .as_deref()
            .map(|token| ("NextToken", token))
            .into_iter()
            .collect();
        match self.ec2.read(self.action, &params, self.parse).await {
            Ok(page) => {
                let next = page.next_token.filter(|token| !token.is_empty());
                self.done = next.is_none() || next == self.token;
                self.token = next;
                Some(Ok(page.items))
            }
            Err(error) => {
                self.done = true;
                Some(Err(error))
            }
        }
    }
}

/// The request body: `Action`, `Version`, then `params`, form-encoded.
pub fn form(action: &str, params: &[(&str, &str)]) -> String {
    let mut body = format!("Action={}&Version={}", encode(action), encode(VERSION));
    for (name, value) in params {
        body.push('&');
        body.push_str(&encode(name));
        body.push('=');
        body.push_str(&encode(value));
    }
    body
}

/// Percent-encodes everything but the unreserved characters (RFC 3986), as
/// the SDK's query writer does.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The POST of `body` to `url`, signed with SigV4 for `service` in `region`
/// at `time`: `content-type`, `host`, `x-amz-date` and (with a session
/// token) `x-amz-security-token` are signed.
pub fn signed_request(
    url: &str,
    region: &str,
    service: &str,
    body: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<http::Request<String>, String> {
    signed(
        http::Method::POST,
        url,
        (region, service),
        &[(http::header::CONTENT_TYPE.as_str(), CONTENT_TYPE)],
        body,
        credentials,
        time,
    )
}

/// The `method` request of `body` to `url` with `headers`, signed with
/// SigV4 for `(region, service)` at `time`: `headers`, `host`,
/// `x-amz-date` and (with a session token) `x-amz-security-token` are
/// signed.
pub fn signed(
    method: http::Method,
    url: &str,
    (region, service): (&str, &str),
    headers: &[(&str, &str)],
    body: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<http::Request<String>, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("the endpoint {url} is not a URL: {e}"))?;
    let host = host_header(&uri).ok_or_else(|| format!("the endpoint {url} names no host"))?;
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    all.push((http::header::HOST.as_str(), host.as_str()));
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("cannot sign the request: {e}"))?
        .into();
    let signable = SignableRequest::new(
        method.as_str(),
        url,
        all.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| format!("cannot sign the request: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("cannot sign the request: {e}"))?
        .into_parts();
    let mut request = http::Request::builder().method(method).uri(uri);
    for (name, value) in &all {
        request = request.header(*name, *value);
    }
    let mut request = request
        .header(http::header::USER_AGENT, USER_AGENT)
        .body(body.to_string())
        .map_err(|e| format!("cannot make the request: {e}"))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

/// The `Host` header of `uri`, as the signer computes it: the port only
/// when it is not the scheme's default.
fn host_header(uri: &http::Uri) -> Option<String> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    };
    Some(match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host.to_string(),
    })
}

/// The URL of EC2 for `region`, resolved as the SDK's endpoint rules do:
/// the configured endpoint (the EC2-specific one of the environment or
/// profile first, unless the code set one), else the regional endpoint of
/// the region's partition, FIPS and dual-stack as configured.
#[cfg(test)]
fn endpoint(config: &SdkConfig, region: &str) -> Result<String, String> {
    service_endpoint(EC2, config, region)
}

/// The URL of `service` for `region` (see [`endpoint`]).
fn service_endpoint(service: Service, config: &SdkConfig, region: &str) -> Result<String, String> {
    let configured = if config.get_origin("endpoint_url").is_client_config() {
        config.endpoint_url().map(String::from)
    } else {
        config
            .service_config()
            .and_then(|loader| {
                let key = ServiceConfigKey::builder()
                    .service_id(service.id)
                    .env("AWS_ENDPOINT_URL")
                    .profile("endpoint_url")
                    .build()
                    .ok()?;
                loader.load_config(key)
            })
            .or_else(|| config.endpoint_url().map(String::from))
    };
    let fips = config.use_fips().unwrap_or(false);
    let dual_stack = config.use_dual_stack().unwrap_or(false);
    endpoint_of(service, configured.as_deref(), region, fips, dual_stack)
}

/// The endpoint rules of EC2 (see [`endpoint`]).
#[cfg(test)]
fn regional_endpoint(
    configured: Option<&str>,
    region: &str,
    fips: bool,
    dual_stack: bool,
) -> Result<String, String> {
    endpoint_of(EC2, configured, region, fips, dual_stack)
}

/// The endpoint rules of `service`: EC2's, with its prefix.
fn endpoint_of(
    service: Service,
    configured: Option<&str>,
    region: &str,
    fips: bool,
    dual_stack: bool,
) -> Result<String, String> {
    let prefix = service.prefix;
    if let Some(url) = configured {
        if fips {
            return Err("Invalid Configuration: FIPS and custom endpoint are not supported".into());
        }
        if dual_stack {
            return Err(
                "Invalid Configuration: Dualstack and custom endpoint are not supported".into(),
            );
        }
        return Ok(if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        });
    }
    let valid = !region.is_empty()
        && !region.starts_with('-')
        && !region.ends_with('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(format!("{region:?} is not a region"));
    }
    let (partition, dns_suffix, dual_stack_suffix) = partition(region);
    Ok(match (fips, dual_stack) {
        (true, true) => format!("https://{prefix}-fips.{region}.{dual_stack_suffix}/"),
        (true, false) if partition == "aws-us-gov" => {
            format!("https://{prefix}.{region}.amazonaws.com/")
        }
        (true, false) => format!("https://{prefix}-fips.{region}.{dns_suffix}/"),
        (false, true) => format!("https://{prefix}.{region}.{dual_stack_suffix}/"),
        (false, false) => format!("https://{prefix}.{region}.{dns_suffix}/"),
    })
}

/// The partition of `region`: its name, DNS suffix and dual-stack DNS
/// suffix (the SDK's partitions; `aws` for a region none claims).
fn partition(region: &str) -> (&'static str, &'static str, &'static str) {
    const PARTITIONS: [(&str, &str, &str, &str); 7] = [
        ("us-gov-", "aws-us-gov", "amazonaws.com", "api.aws"),
        ("us-iso-", "aws-iso", "c2s.ic.gov", "api.aws.ic.gov"),
        ("us-isob-", "aws-iso-b", "sc2s.sgov.gov", "api.aws.scloud"),
        (
            "us-isof-",
            "aws-iso-f",
            "csp.hci.ic.gov",
            "api.aws.hci.ic.gov",
        ),
        (
            "eu-isoe-",
            "aws-iso-e",
            "cloud.adc-e.uk",
            "api.cloud-aws.adc-e.uk",
        ),
        (
            "eusc-",
            "aws-eusc",
            "amazonaws.eu",
            "api.amazonwebservices.eu",
        ),
        (
            "cn-",
            "aws-cn",
            "amazonaws.com.cn",
            "api.amazonwebservices.com.cn",
        ),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, ..)| region.starts_with(prefix))
        .map_or(
            ("aws", "amazonaws.com", "api.aws"),
            |&(_, name, dns, dual)| (name, dns, dual),
        )
}

/// The HTTPS connector (the SDK's: hyper, rustls on ring, the platform's
/// roots) with `connect_timeout`, one per runtime so that its pooled
/// connections are shared by the calls of one read and never outlive the
/// runtime that drives them.
fn connector(connect_timeout: Option<Duration>) -> SharedHttpConnector {
    type Cache = Vec<(tokio::runtime::Id, Option<Duration>, SharedHttpConnector)>;
    static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
    let runtime = tokio::runtime::Handle::try_current().ok().map(|h| h.id());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, http)) = cache
        .iter()
        .find(|(id, timeout, _)| Some(*id) == runtime && *timeout == connect_timeout)
    {
        return http.clone();
    }
    let mut settings = HttpConnectorSettings::builder();
    if let Some(timeout) = connect_timeout {
        settings = settings.connect_timeout(timeout);
    }
    let http = SharedHttpConnector::new(
        Connector::builder()
            .connector_settings(settings.build())
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build(),
    );
    if let Some(id) = runtime {
        // The runtimes of earlier reads are gone: keep only a few.
        if cache.len() >= 4 {
            cache.remove(0);
        }
        cache.push((id, connect_timeout, http.clone()));
    }
    http
}

/// Credentials of `provider`, cached until shortly before they expire (a
/// quarter of an hour when they do not say), as the SDK's identity cache
/// does: an assumed role is not assumed again for every request.
async fn credentials(provider: &SharedCredentialsProvider) -> Result<Credentials, Error> {
    type Slot = Arc<tokio::sync::Mutex<Option<(Credentials, SystemTime)>>>;
    static CACHE: Mutex<Vec<(IdentityCachePartition, Slot)>> = Mutex::new(Vec::new());
    const DEFAULT_EXPIRATION: Duration = Duration::from_secs(15 * 60);
    const BUFFER: Duration = Duration::from_secs(10);

    let fetch = || async {
        provider
            .provide_credentials()
            .await
            .map_err(|e| Error::Request(format!("cannot load the credentials: {}", causes(&e))))
    };
    let Some(partition) = provider.cache_partition() else {
        return fetch().await;
    };
    let slot = {
        let now = SystemTime::now();
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        // Forget what nobody is reading and has gone stale.
        cache.retain(|(_, slot)| {
            Arc::strong_count(slot) > 1
                || slot
                    .try_lock()
                    .map_or(true, |cached| cached.as_ref().is_some_and(|c| c.1 > now))
        });
        match cache.iter().find(|(p, _)| *p == partition) {
            Some((_, slot)) => slot.clone(),
            None => {
                let slot = Slot::default();
                cache.push((partition, slot.clone()));
                slot
            }
        }
    };
    let mut cached = slot.lock().await;
    if let Some((credentials, refresh)) = cached.as_ref() {
        if *refresh > SystemTime::now() {
            return Ok(credentials.clone());
        }
    }
    let credentials = fetch().await?;
    let refresh = match credentials.expiry() {
        Some(expiry) => expiry.checked_sub(BUFFER).unwrap_or(expiry),
        None => SystemTime::now() + DEFAULT_EXPIRATION,
    };
    *cached = Some((credentials.clone(), refresh));
    Ok(credentials)
}

/// A connector's error as [`Error::Dispatch`], retried as the SDK does
/// (I/O failures and timeouts, and what the connector says is retryable).
fn dispatch(e: ConnectorError) -> Error {
    let retry = e.is_io() || e.is_timeout() || e.as_other().is_some();
    Error::Dispatch {
        message: causes(&e),
        retry,
    }
}

/// The delay before retrying after failed attempt number `attempt` (from
/// 1): the SDK's `2^(attempt-1)` times the initial backoff (for throttling
/// the configured one, else the retry spec's), at most the maximum
/// backoff, times `jitter` (in 0..1; 1 when the configuration asks for no
/// jitter).
fn backoff(retry: &RetryConfig, throttled: bool, attempt: u32, jitter: f64) -> Duration {
    let initial = match retry.retry_spec() {
        Some(spec) if !throttled => spec.non_throttling_initial_backoff(),
        _ => retry.initial_backoff(),
    };
    let base = if retry.use_static_exponential_base() {
        1.0
    } else {
        jitter
    };
    initial
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(retry.max_backoff())
        .mul_f64(base)
}

/// A random number in 0..1 (no random crate needed for a backoff's jitter:
/// the standard library's hasher keys are random).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

// ---------------------------------------------------------------------------
// The answers.

/// The item types of answers and their parsers: each field named with the
/// element it is read from (its doc, with any further lines) and how the
/// element is read (a function of its decoder). An element that repeats
/// sets its field the last time; any other element is skipped.
macro_rules! items {
    ($(
        $(#[$doc:meta])*
        $name:ident, parsed by $parse:ident {
            $($tag:literal => $field:ident: $ty:ty = $read:expr $(, #[$note:meta])*;)*
        }
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $(
                #[doc = concat!("`", $tag, "`.")]
                $(#[$note])*
                pub $field: $ty,
            )*
        }

        fn $parse(tag: &mut Decoder<'_, '_>) -> Result<$name, XmlDecodeError> {
            let mut out = $name::default();
            while let Some(mut child) = tag.next_tag() {
                match child.start_el().local() {
                    $($tag => out.$field = ($read)(&mut child)?,)*
                    _ => {}
                }
            }
            Ok(out)
        }
    )*};
}

items! {
    /// A region of `DescribeRegions`.
    Region, parsed by region {
        "regionName" => region_name: Option<String> = some_text;
    }

    /// An instance of `DescribeInstances`.
    Instance, parsed by instance {
        "instanceId" => instance_id: Option<String> = some_text;
        "instanceType" => instance_type: Option<String> = some_text;
        "instanceState" => state: Option<String> = |c| child_text(c, "name"), #[doc = "Its `name`."];
        "imageId" => image_id: Option<String> = some_text;
        "vpcId" => vpc_id: Option<String> = some_text;
        "ipAddress" => public_ip_address: Option<String> = some_text;
        "iamInstanceProfile" => iam_instance_profile_arn: Option<String> = |c| child_text(c, "arn"),
            #[doc = "Its `arn`."];
        "metadataOptions" => metadata_http_tokens: Option<String> = |c| child_text(c, "httpTokens"),
            #[doc = "Its `httpTokens`."];
        "groupSet" => security_groups: Vec<String> = |c| ids(c, group_id),
            #[doc = "Its `groupId`s: the instance's own groups, not those of its network"],
            #[doc = "interfaces."];
    }

    /// A security group of `DescribeSecurityGroups`.
    SecurityGroup, parsed by security_group {
        "groupId" => group_id: Option<String> = some_text;
        "groupName" => group_name: Option<String> = some_text;
        "groupDescription" => description: Option<String> = some_text;
        "vpcId" => vpc_id: Option<String> = some_text;
        "ownerId" => owner_id: Option<String> = some_text;
        "ipPermissions" => ingress_rules: usize = count,
            #[doc = "How many: its inbound permissions."];
        "ipPermissionsEgress" => egress_rules: usize = count,
            #[doc = "How many: its outbound permissions."];
    }

    /// A VPC of `DescribeVpcs`.
    Vpc, parsed by vpc {
        "vpcId" => vpc_id: Option<String> = some_text;
        "isDefault" => is_default: Option<bool> = some_value;
        "state" => state: Option<String> = some_text;
        "cidrBlock" => cidr_block: Option<String> = some_text;
        "ownerId" => owner_id: Option<String> = some_text;
    }

    /// A flow log of `DescribeFlowLogs`.
    FlowLog, parsed by flow_log {
        "flowLogId" => flow_log_id: Option<String> = some_text;
        "resourceId" => resource_id: Option<String> = some_text, #[doc = "The VPC, subnet or interface."];
        "flowLogStatus" => status: Option<String> = some_text, #[doc = "`ACTIVE`."];
        "trafficType" => traffic_type: Option<String> = some_text, #[doc = "`ACCEPT`, `REJECT` or `ALL`."];
        "logDestinationType" => destination_type: Option<String> = some_text;
    }

    /// A network ACL of `DescribeNetworkAcls`.
    NetworkAcl, parsed by network_acl {
        "networkAclId" => network_acl_id: Option<String> = some_text;
        "vpcId" => vpc_id: Option<String> = some_text;
        "default" => is_default: Option<bool> = some_value;
        "entrySet" => entries: Vec<NetworkAclEntry> = |c| items(c, network_acl_entry);
    }

    /// An entry of a network ACL.
    NetworkAclEntry, parsed by network_acl_entry {
        "ruleNumber" => rule_number: Option<i32> = some_value;
        "protocol" => protocol: Option<String> = some_text, #[doc = "A protocol number; `-1`: all."];
        "ruleAction" => rule_action: Option<String> = some_text, #[doc = "`allow` or `deny`."];
        "egress" => egress: Option<bool> = some_value;
        "cidrBlock" => cidr_block: Option<String> = some_text;
        "ipv6CidrBlock" => ipv6_cidr_block: Option<String> = some_text;
        "portRange" => port_range: Option<PortRange> = |c| port_range(c).map(Some);
    }

    /// The ports of a network ACL entry (inclusive).
    PortRange, parsed by port_range {
        "from" => from: Option<i32> = some_value;
        "to" => to: Option<i32> = some_value;
    }

    /// A rule of `DescribeSecurityGroupRules`.
    SecurityGroupRule, parsed by security_group_rule {
        "securityGroupRuleId" => security_group_rule_id: Option<String> = some_text;
        "groupId" => group_id: Option<String> = some_text;
        "isEgress" => is_egress: Option<bool> = some_value;
        "ipProtocol" => ip_protocol: Option<String> = some_text, #[doc = "`-1`: all."];
        "fromPort" => from_port: Option<i32> = some_value;
        "toPort" => to_port: Option<i32> = some_value;
        "cidrIpv4" => cidr_ipv4: Option<String> = some_text;
        "cidrIpv6" => cidr_ipv6: Option<String> = some_text;
        "prefixListId" => prefix_list_id: Option<String> = some_text;
        "referencedGroupInfo" => referenced_group_id: Option<String> = group_id,
            #[doc = "Its `groupId`."];
        "description" => description: Option<String> = some_text;
    }

    /// A volume of `DescribeVolumes`.
    Volume, parsed by volume {
        "volumeId" => volume_id: Option<String> = some_text;
        "encrypted" => encrypted: Option<bool> = some_value;
        "kmsKeyId" => kms_key_id: Option<String> = some_text;
        "status" => state: Option<String> = some_text;
        "size" => size: Option<i32> = some_value, #[doc = "GiB."];
        "volumeType" => volume_type: Option<String> = some_text;
        "availabilityZone" => availability_zone: Option<String> = some_text;
        "attachmentSet" => attached_to: Vec<String> = |c| ids(c, instance_id),
            #[doc = "Its `instanceId`s."];
    }
}

/// The regions of a `DescribeRegions` answer.
pub fn regions(xml: &str) -> Result<Vec<Region>, XmlDecodeError> {
    Ok(page(xml, "DescribeRegionsResponse", "regionInfo", region)?.items)
}

/// The instances of a `DescribeInstances` page (of all its reservations).
pub fn instances(xml: &str) -> Result<Page<Instance>, XmlDecodeError> {
    let reservations = page(
        xml,
        "DescribeInstancesResponse",
        "reservationSet",
        reservation,
    )?;
    Ok(Page {
        items: reservations.items.into_iter().flatten().collect(),
        next_token: reservations.next_token,
    })
}

/// A `DescribeSecurityGroups` page.
pub fn security_groups(xml: &str) -> Result<Page<SecurityGroup>, XmlDecodeError> {
    page(
        xml,
        "DescribeSecurityGroupsResponse",
        "securityGroupInfo",
        security_group,
    )
}

/// A `DescribeSecurityGroupRules` page.
pub fn security_group_rules(xml: &str) -> Result<Page<SecurityGroupRule>, XmlDecodeError> {
    page(
        xml,
        "DescribeSecurityGroupRulesResponse",
        "securityGroupRuleSet",
        security_group_rule,
    )
}

/// A `DescribeVpcs` page.
pub fn vpcs(xml: &str) -> Result<Page<Vpc>, XmlDecodeError> {
    page(xml, "DescribeVpcsResponse", "vpcSet", vpc)
}

/// A `DescribeFlowLogs` page.
pub fn flow_logs(xml: &str) -> Result<Page<FlowLog>, XmlDecodeError> {
    page(xml, "DescribeFlowLogsResponse", "flowLogSet", flow_log)
}

/// A `DescribeNetworkAcls` page.
pub fn network_acls(xml: &str) -> Result<Page<NetworkAcl>, XmlDecodeError> {
    page(
        xml,
        "DescribeNetworkAclsResponse",
        "networkAclSet",
        network_acl,
    )
}

/// The `ebsEncryptionByDefault` of a `GetEbsEncryptionByDefault` answer.
pub fn ebs_encryption_by_default(xml: &str) -> Result<bool, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    if !root.start_el().matches("GetEbsEncryptionByDefaultResponse") {
        return Err(XmlDecodeError::custom(format!(
            "expected GetEbsEncryptionByDefaultResponse, got <{}>",
            root.start_el().local()
        )));
    }
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches("ebsEncryptionByDefault") {
            return value(&mut tag);
        }
    }
    Err(XmlDecodeError::custom("no <ebsEncryptionByDefault>"))
}

/// A `DescribeVolumes` page.
pub fn volumes(xml: &str) -> Result<Page<Volume>, XmlDecodeError> {
    page(xml, "DescribeVolumesResponse", "volumeSet", volume)
}

/// The `Code` and `Message` of an error answer
/// (`<Response><Errors><Error>...`); none when it is not one.
pub fn error_document(xml: &str) -> (Option<String>, Option<String>) {
    fn read(xml: &str) -> Result<(Option<String>, Option<String>), XmlDecodeError> {
        let (mut code, mut message) = (None, None);
        let mut doc = Document::new(xml);
        let mut root = doc.root_element()?;
        while let Some(mut errors) = root.next_tag() {
            if !errors.start_el().matches("Errors") {
                continue;
            }
            while let Some(mut error) = errors.next_tag() {
                if !error.start_el().matches("Error") {
                    continue;
                }
                while let Some(mut field) = error.next_tag() {
                    match field.start_el().local() {
                        "Code" => code = Some(text(&mut field)?),
                        "Message" => message = Some(text(&mut field)?),
                        _ => {}
                    }
                }
            }
        }
        Ok((code, message))
    }
    read(xml).unwrap_or_default()
}

/// The code and message of a JSON error answer (`__type`, `code` or
/// `ErrorCode`; `message` or `Message`), the code without its namespace
/// (`ns#Code`); none when it is not one.
pub fn json_error(text: &str) -> (Option<String>, Option<String>) {
    let Ok(serde_json::Value::Object(body)) = serde_json::from_str(text) else {
        return (None, None);
    };
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| body.get(*n).and_then(|v| v.as_str()))
            .map(String::from)
    };
    let code = field(&["__type", "code", "Code", "ErrorCode"])
        .map(|c| c.rsplit('#').next().unwrap_or_default().to_string());
    (code, field(&["message", "Message"]))
}

type Decoder<'inp, 'a> = ScopedDecoder<'inp, 'a>;

/// A list answer: the root must be `root`; its `list` is read with `item`
/// for each `<item>`, and its `nextToken` kept.
fn page<T>(
    xml: &str,
    root: &str,
    list: &str,
    item: fn(&mut Decoder<'_, '_>) -> Result<T, XmlDecodeError>,
) -> Result<Page<T>, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut decoder = doc.root_element()?;
    if !decoder.start_el().matches(root) {
        return Err(XmlDecodeError::custom(format!(
            "expected {root}, got <{}>",
            decoder.start_el().local()
        )));
    }
    let mut page = Page {
        items: Vec::new(),
        next_token: None,
    };
    while let Some(mut tag) = decoder.next_tag() {
        let name = tag.start_el().local();
        if name == "nextToken" {
            page.next_token = Some(text(&mut tag)?);
        } else if name == list {
            page.items = items(&mut tag, item)?;
        }
    }
    Ok(page)
}

/// Each `<item>` of a list, read with `item`.
fn items<T>(
    list: &mut Decoder<'_, '_>,
    item: fn(&mut Decoder<'_, '_>) -> Result<T, XmlDecodeError>,
) -> Result<Vec<T>, XmlDecodeError> {
    let mut out = Vec::new();
    while let Some(mut tag) = list.next_tag() {
        if tag.start_el().matches("item") {
            out.push(item(&mut tag)?);
        }
    }
    Ok(out)
}

/// An element's text (empty for `<a/>`), unescaped.
fn text(tag: &mut Decoder<'_, '_>) -> Result<String, XmlDecodeError> {
    Ok(try_data(tag)?.into_owned())
}

/// An element's text as `T`, by the SDK's rules (`true`/`false`, decimal
/// integers).
fn value<T: Parse>(tag: &mut Decoder<'_, '_>) -> Result<T, XmlDecodeError> {
    let name = tag.start_el().local().to_string();
    let text = try_data(tag)?;
    T::parse_smithy_primitive(&text).map_err(|_| {
        XmlDecodeError::custom(format!(
            "<{name}>: expected {}, got {text:?}",
            std::any::type_name::<T>()
        ))
    })
}

/// The text of the child `field` of `tag` (the last one, if repeated).
fn child_text(tag: &mut Decoder<'_, '_>, field: &str) -> Result<Option<String>, XmlDecodeError> {
    let mut out = None;
    while let Some(mut child) = tag.next_tag() {
        if child.start_el().matches(field) {
            out = Some(text(&mut child)?);
        }
    }
    Ok(out)
}

/// An element's text, as a field that may be missing.
fn some_text(tag: &mut Decoder<'_, '_>) -> Result<Option<String>, XmlDecodeError> {
    text(tag).map(Some)
}

/// An element's text as `T` (see [`value`]), as a field that may be
/// missing.
fn some_value<T: Parse>(tag: &mut Decoder<'_, '_>) -> Result<Option<T>, XmlDecodeError> {
    value(tag).map(Some)
}

/// The ids of a list's items, read with `id` (items without one left
/// out).
fn ids(
    list: &mut Decoder<'_, '_>,
    id: fn(&mut Decoder<'_, '_>) -> Result<Option<String>, XmlDecodeError>,
) -> Result<Vec<String>, XmlDecodeError> {
    Ok(items(list, id)?.into_iter().flatten().collect())
}

/// How many `<item>`s a list has.
fn count(list: &mut Decoder<'_, '_>) -> Result<usize, XmlDecodeError> {
    Ok(items(list, |_| Ok(()))?.len())
}

fn group_id(tag: &mut Decoder<'_, '_>) -> Result<Option<String>, XmlDecodeError> {
    child_text(tag, "groupId")
}

fn instance_id(tag: &mut Decoder<'_, '_>) -> Result<Option<String>, XmlDecodeError> {
    child_text(tag, "instanceId")
}

fn reservation(tag: &mut Decoder<'_, '_>) -> Result<Vec<Instance>, XmlDecodeError> {
    let mut out = Vec::new();
    while let Some(mut child) = tag.next_tag() {
        if child.start_el().matches("instancesSet") {
            out = items(&mut child, instance)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::Region as AwsRegion;
    use aws_credential_types::provider::future;
    use aws_smithy_runtime_api::client::http::HttpConnectorFuture;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::http::StatusCode;
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const INSTANCES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1</reservationId>
      <groupSet/>
      <instancesSet>
        <item>
          <instanceId>i-full</instanceId>
          <imageId>ami-1</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <instanceType>t3.micro</instanceType>
          <vpcId>vpc-1</vpcId>
          <ipAddress>203.0.113.7</ipAddress>
          <groupSet>
            <item><groupId>sg-1</groupId><groupName>web</groupName></item>
            <item><groupName>no-id</groupName></item>
            <item><groupId>sg-2</groupId><groupName>a &amp; b</groupName></item>
          </groupSet>
          <networkInterfaceSet>
            <item>
              <groupSet><item><groupId>sg-of-the-interface</groupId></item></groupSet>
              <association><publicIp>198.51.100.1</publicIp></association>
            </item>
          </networkInterfaceSet>
          <iamInstanceProfile>
            <arn>arn:aws:iam::123456789012:instance-profile/app</arn>
            <id>AIPA1</id>
          </iamInstanceProfile>
          <metadataOptions>
            <state>applied</state>
            <httpTokens>required</httpTokens>
          </metadataOptions>
          <tagSet><item><key>instanceId</key><value>not-this</value></item></tagSet>
        </item>
      </instancesSet>
    </item>
    <item>
      <reservationId>r-2</reservationId>
      <instancesSet>
        <item>
          <instanceId>i-bare</instanceId>
          <groupSet/>
          <stateReason><code/><message/></stateReason>
        </item>
      </instancesSet>
    </item>
  </reservationSet>
  <nextToken>eyJ2IjoiMiJ9+/=</nextToken>
</DescribeInstancesResponse>"#;

    #[test]
    fn instances_with_and_without_their_optional_fields() {
        let page = instances(INSTANCES).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("eyJ2IjoiMiJ9+/="));
        assert_eq!(
            page.items,
            [
                Instance {
                    instance_id: Some("i-full".into()),
                    instance_type: Some("t3.micro".into()),
                    state: Some("running".into()),
                    image_id: Some("ami-1".into()),
                    vpc_id: Some("vpc-1".into()),
                    public_ip_address: Some("203.0.113.7".into()),
                    iam_instance_profile_arn: Some(
                        "arn:aws:iam::123456789012:instance-profile/app".into()
                    ),
                    metadata_http_tokens: Some("required".into()),
                    // Not the network interface's group; not the one
                    // without an id.
                    security_groups: vec!["sg-1".into(), "sg-2".into()],
                },
                Instance {
                    instance_id: Some("i-bare".into()),
                    ..Instance::default()
                },
            ]
        );
    }

    #[test]
    fn the_last_page_has_no_token_and_an_empty_list_is_empty() {
        let xml = "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>";
        let page = instances(xml).unwrap();
        assert_eq!(page.items, []);
        assert_eq!(page.next_token, None);
        let xml = "<DescribeVolumesResponse><volumeSet></volumeSet><nextToken/></DescribeVolumesResponse>";
        assert_eq!(volumes(xml).unwrap().next_token.as_deref(), Some(""));
    }

    #[test]
    fn an_answer_of_another_operation_is_an_error() {
        let error = instances("<DescribeVolumesResponse/>").unwrap_err();
        assert!(
            error.to_string().contains("DescribeInstancesResponse"),
            "{error}"
        );
        assert!(instances("not XML").is_err());
    }

    #[test]
    fn security_group_rules_with_their_numbers_and_flags() {
        let xml = r#"<DescribeSecurityGroupRulesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <securityGroupRuleSet>
            <item>
              <securityGroupRuleId>sgr-1</securityGroupRuleId>
              <groupId>sg-1</groupId>
              <groupOwnerId>123456789012</groupOwnerId>
              <isEgress>false</isEgress>
              <ipProtocol>tcp</ipProtocol>
              <fromPort>22</fromPort>
              <toPort>22</toPort>
              <cidrIpv4>0.0.0.0/0</cidrIpv4>
              <description>ssh &lt;anywhere&gt;</description>
            </item>
            <item>
              <securityGroupRuleId>sgr-2</securityGroupRuleId>
              <groupId>sg-1</groupId>
              <isEgress>true</isEgress>
              <ipProtocol>-1</ipProtocol>
              <fromPort>-1</fromPort>
              <toPort>-1</toPort>
              <referencedGroupInfo><groupId>sg-9</groupId><userId>1</userId></referencedGroupInfo>
            </item>
          </securityGroupRuleSet>
        </DescribeSecurityGroupRulesResponse>"#;
        let page = security_group_rules(xml).unwrap();
        assert_eq!(page.next_token, None);
        assert_eq!(
            page.items,
            [
                SecurityGroupRule {
                    security_group_rule_id: Some("sgr-1".into()),
                    group_id: Some("sg-1".into()),
                    is_egress: Some(false),
                    ip_protocol: Some("tcp".into()),
                    from_port: Some(22),
                    to_port: Some(22),
                    cidr_ipv4: Some("0.0.0.0/0".into()),
                    description: Some("ssh <anywhere>".into()),
                    ..SecurityGroupRule::default()
                },
                SecurityGroupRule {
                    security_group_rule_id: Some("sgr-2".into()),
                    group_id: Some("sg-1".into()),
                    is_egress: Some(true),
                    ip_protocol: Some("-1".into()),
                    from_port: Some(-1),
                    to_port: Some(-1),
                    referenced_group_id: Some("sg-9".into()),
                    ..SecurityGroupRule::default()
                },
            ]
        );
    }

    #[test]
    fn a_number_or_flag_that_does_not_parse_fails_the_page_as_in_the_sdk() {
        let xml = "<DescribeSecurityGroupRulesResponse><securityGroupRuleSet><item><fromPort>ssh</fromPort></item></securityGroupRuleSet></DescribeSecurityGroupRulesResponse>";
        let error = security_group_rules(xml).unwrap_err().to_string();
        assert!(
            error.contains("<fromPort>") && error.contains("ssh"),
            "{error}"
        );
        let xml = "<DescribeVolumesResponse><volumeSet><item><encrypted>yes</encrypted></item></volumeSet></DescribeVolumesResponse>";
        assert!(volumes(xml).is_err());
    }

    /// Derived from the EC2 API reference's examples of
    /// DescribeNetworkAcls, DescribeVpcs, DescribeFlowLogs and
    /// GetEbsEncryptionByDefault.
    #[test]
    fn network_acls_vpcs_flow_logs_and_the_ebs_default() {
        let xml = r#"<DescribeNetworkAclsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
          <networkAclSet>
            <item>
              <networkAclId>acl-5566953c</networkAclId>
              <vpcId>vpc-5266953b</vpcId>
              <default>true</default>
              <entrySet>
                <item>
                  <ruleNumber>100</ruleNumber>
                  <protocol>-1</protocol>
                  <ruleAction>allow</ruleAction>
                  <egress>false</egress>
                  <cidrBlock>0.0.0.0/0</cidrBlock>
                </item>
                <item>
                  <ruleNumber>110</ruleNumber>
                  <protocol>6</protocol>
                  <ruleAction>deny</ruleAction>
                  <egress>true</egress>
                  <ipv6CidrBlock>::/0</ipv6CidrBlock>
                  <portRange><from>49152</from><to>65535</to></portRange>
                </item>
              </entrySet>
              <associationSet/>
              <tagSet/>
            </item>
          </networkAclSet>
          <nextToken>n2</nextToken>
        </DescribeNetworkAclsResponse>"#;
        let page = network_acls(xml).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("n2"));
        let acl = &page.items[0];
        assert_eq!(acl.network_acl_id.as_deref(), Some("acl-5566953c"));
        assert_eq!(acl.is_default, Some(true));
        assert_eq!(acl.entries.len(), 2);
        assert_eq!(acl.entries[0].protocol.as_deref(), Some("-1"));
        assert_eq!(acl.entries[0].port_range, None);
        assert_eq!(
            acl.entries[1].port_range,
            Some(PortRange {
                from: Some(49152),
                to: Some(65535)
            })
        );
        assert_eq!(acl.entries[1].egress, Some(true));

        let xml = r#"<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <vpcSet><item><vpcId>vpc-1a2b3c4d</vpcId><state>available</state><cidrBlock>10.0.0.0/16</cidrBlock>
            <isDefault>false</isDefault><ownerId>123456789012</ownerId></item></vpcSet>
        </DescribeVpcsResponse>"#;
        let vpc = &vpcs(xml).unwrap().items[0];
        assert_eq!(vpc.vpc_id.as_deref(), Some("vpc-1a2b3c4d"));
        assert_eq!(vpc.is_default, Some(false));

        let xml = r#"<DescribeFlowLogsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <flowLogSet><item><flowLogId>fl-1a2b3c4d</flowLogId><resourceId>vpc-1a2b3c4d</resourceId>
            <flowLogStatus>ACTIVE</flowLogStatus><trafficType>ALL</trafficType>
            <logDestinationType>cloud-watch-logs</logDestinationType></item></flowLogSet>
        </DescribeFlowLogsResponse>"#;
        let log = &flow_logs(xml).unwrap().items[0];
        assert_eq!(log.resource_id.as_deref(), Some("vpc-1a2b3c4d"));
        assert_eq!(log.traffic_type.as_deref(), Some("ALL"));

        let xml = r#"<GetEbsEncryptionByDefaultResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <requestId>5f1d4a0b-EXAMPLE</requestId><ebsEncryptionByDefault>true</ebsEncryptionByDefault>
        </GetEbsEncryptionByDefaultResponse>"#;
        assert!(ebs_encryption_by_default(xml).unwrap());
        assert!(ebs_encryption_by_default("<Other/>").is_err());
    }

    #[test]
    fn json_errors_name_their_code_without_its_namespace() {
        assert_eq!(
            json_error(r#"{"__type": "com.amazon.coral#AccessDeniedException", "message": "no"}"#),
            (Some("AccessDeniedException".into()), Some("no".into()))
        );
        assert_eq!(
            json_error(r#"{"ErrorCode": "FileSystemNotFound", "Message": "gone"}"#),
            (Some("FileSystemNotFound".into()), Some("gone".into()))
        );
        assert_eq!(json_error("not json"), (None, None));
    }

    #[test]
    fn other_services_have_their_own_host_and_signing_name() {
        let config = Service {
            id: "Config Service",
            signing_name: "config",
            prefix: "config",
        };
        assert_eq!(
            endpoint_of(config, None, "eu-west-1", false, false).unwrap(),
            "https://config.eu-west-1.amazonaws.com/"
        );
        let request = signed(
            http::Method::GET,
            "http://localhost:4566/analyzer?nextToken=a%2Bb",
            ("us-east-1", "access-analyzer"),
            &[],
            "",
            &suite_credentials(None),
            suite_time(),
        )
        .unwrap();
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert!(
            authorization.contains(
                "/us-east-1/access-analyzer/aws4_request, SignedHeaders=host;x-amz-date,"
            ),
            "{authorization}"
        );
        assert_eq!(request.method(), http::Method::GET);
    }

    #[test]
    fn security_groups_volumes_and_regions() {
        let xml = r#"<DescribeSecurityGroupsResponse>
          <securityGroupInfo>
            <item>
              <ownerId>123456789012</ownerId>
              <groupId>sg-1</groupId>
              <groupName>default</groupName>
              <groupDescription>default VPC security group</groupDescription>
              <vpcId>vpc-1</vpcId>
              <ipPermissions>
                <item><groups><item><groupId>sg-other</groupId></item></groups></item>
              </ipPermissions>
            </item>
          </securityGroupInfo>
          <nextToken>2</nextToken>
        </DescribeSecurityGroupsResponse>"#;
        let page = security_groups(xml).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("2"));
        assert_eq!(
            page.items,
            [SecurityGroup {
                group_id: Some("sg-1".into()),
                group_name: Some("default".into()),
                description: Some("default VPC security group".into()),
                vpc_id: Some("vpc-1".into()),
                owner_id: Some("123456789012".into()),
                ingress_rules: 1,
                egress_rules: 0,
            }]
        );

        let xml = r#"<DescribeVolumesResponse>
          <volumeSet>
            <item>
              <volumeId>vol-1</volumeId>
              <size>8</size>
              <availabilityZone>eu-west-1a</availabilityZone>
              <status>in-use</status>
              <attachmentSet>
                <item>
                  <volumeId>vol-1</volumeId>
                  <instanceId>i-1</instanceId>
                  <status>attached</status>
                </item>
              </attachmentSet>
              <volumeType>gp3</volumeType>
              <encrypted>true</encrypted>
              <kmsKeyId>arn:aws:kms:eu-west-1:123456789012:key/k</kmsKeyId>
            </item>
            <item><volumeId>vol-2</volumeId><attachmentSet/><encrypted>false</encrypted></item>
          </volumeSet>
        </DescribeVolumesResponse>"#;
        let page = volumes(xml).unwrap();
        assert_eq!(
            page.items,
            [
                Volume {
                    volume_id: Some("vol-1".into()),
                    encrypted: Some(true),
                    kms_key_id: Some("arn:aws:kms:eu-west-1:123456789012:key/k".into()),
                    state: Some("in-use".into()),
                    size: Some(8),
                    volume_type: Some("gp3".into()),
                    availability_zone: Some("eu-west-1a".into()),
                    attached_to: vec!["i-1".into()],
                },
                Volume {
                    volume_id: Some("vol-2".into()),
                    encrypted: Some(false),
                    ..Volume::default()
                },
            ]
        );

        let xml = r#"<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
          <requestId>1</requestId>
          <regionInfo>
            <item>
              <regionName>eu-west-1</regionName>
              <regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint>
              <optInStatus>opt-in-not-required</optInStatus>
            </item>
            <item><regionEndpoint>nameless</regionEndpoint></item>
          </regionInfo>
        </DescribeRegionsResponse>"#;
        assert_eq!(
            regions(xml).unwrap(),
            [
                Region {
                    region_name: Some("eu-west-1".into())
                },
                Region::default()
            ]
        );
    }

    #[test]
    fn the_error_document_gives_the_code_and_message() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation. &quot;ec2:DescribeVolumes&quot;</Message></Error></Errors><RequestID>b2a5</RequestID></Response>"#;
        let (code, message) = error_document(xml);
        let error = Error::Service {
            status: 403,
            code,
            message,
        };
        assert_eq!(
            error.to_string(),
            "UnauthorizedOperation: You are not authorized to perform this operation. \"ec2:DescribeVolumes\""
        );
        assert_eq!(error.retry(), None);
        let (code, message) =
            error_document("<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>");
        let error = Error::Service {
            status: 503,
            code,
            message,
        };
        assert_eq!(error.to_string(), "RequestLimitExceeded");
        assert_eq!(error.retry(), Some(true), "throttling");
        assert_eq!(error_document("<html>Bad Gateway</html>"), (None, None));
        assert_eq!(error_document(""), (None, None));
        let error = Error::Service {
            status: 502,
            code: None,
            message: None,
        };
        assert_eq!(error.retry(), Some(false), "a transient status");
        assert!(error.to_string().contains("HTTP 502"), "{error}");
    }

    /// The test suite's credentials, with a session token or not.
    fn suite_credentials(token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            token.map(String::from),
            None,
            "test",
        )
    }

    /// 2015-08-30T12:36:00Z, the test suite's time.
    fn suite_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    /// The test suite's `post-x-www-form-urlencoded` request, signed with
    /// `credentials`.
    fn suite_request(credentials: &Credentials) -> http::Request<String> {
        signed_request(
            "https://example.amazonaws.com/",
            "us-east-1",
            "service",
            "Param1=value1",
            credentials,
            suite_time(),
        )
        .unwrap()
    }

    /// The AWS SigV4 test suite's `post-x-www-form-urlencoded` (signed
    /// headers content-type, host and x-amz-date; no body hash header).
    #[test]
    fn signing_matches_the_sigv4_test_suite() {
        let request = suite_request(&suite_credentials(None));
        let header = |name: &str| request.headers().get(name).map(|v| v.to_str().unwrap());
        assert_eq!(
            header("authorization"),
            Some("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
        );
        assert_eq!(header("x-amz-date"), Some("20150830T123600Z"));
        assert_eq!(header("host"), Some("example.amazonaws.com"));
        assert_eq!(header("content-type"), Some(CONTENT_TYPE));
        assert_eq!(header("x-amz-security-token"), None);
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.body(), "Param1=value1");
    }

    #[test]
    fn a_session_token_is_sent_and_signed_and_the_port_is_in_the_host() {
        let credentials = suite_credentials(Some("TOKEN"));
        let request = suite_request(&credentials);
        let header = |name: &str| request.headers().get(name).map(|v| v.to_str().unwrap());
        assert_eq!(header("x-amz-security-token"), Some("TOKEN"));
        // The signature computed independently (HMAC-SHA256 by hand).
        assert_eq!(
            header("authorization"),
            Some("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=9536bd5cb7bdcccba70c85e2632185f5cce90fea22906ffd507fc9328b85ad0d")
        );

        let request = signed_request(
            "http://localhost:4566/",
            "eu-west-1",
            SERVICE,
            &form("DescribeRegions", &[]),
            &credentials,
            suite_time(),
        )
        .unwrap();
        let header = |name: &str| request.headers().get(name).map(|v| v.to_str().unwrap());
        assert_eq!(header("host"), Some("localhost:4566"));
        let authorization = header("authorization").unwrap();
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
            ),
            "{authorization}"
        );
        assert!(!authorization.contains("wJalrXUtnFEMI"));
    }

    #[test]
    fn the_body_is_form_encoded() {
        assert_eq!(
            form("DescribeInstances", &[("NextToken", "a+b/c=d e~")]),
            "Action=DescribeInstances&Version=2016-11-15&NextToken=a%2Bb%2Fc%3Dd%20e~"
        );
    }

    #[test]
    fn endpoints_by_partition_fips_dual_stack_and_override() {
        let cases = [
            (
                None,
                "eu-west-1",
                false,
                false,
                "https://ec2.eu-west-1.amazonaws.com/",
            ),
            (
                None,
                "cn-north-1",
                false,
                false,
                "https://ec2.cn-north-1.amazonaws.com.cn/",
            ),
            (
                None,
                "us-east-1",
                true,
                false,
                "https://ec2-fips.us-east-1.amazonaws.com/",
            ),
            (
                None,
                "us-gov-west-1",
                true,
                false,
                "https://ec2.us-gov-west-1.amazonaws.com/",
            ),
            (
                None,
                "us-east-1",
                false,
                true,
                "https://ec2.us-east-1.api.aws/",
            ),
            (
                None,
                "us-isob-east-1",
                false,
                false,
                "https://ec2.us-isob-east-1.sc2s.sgov.gov/",
            ),
            (
                Some("http://localhost:4566"),
                "eu-west-1",
                false,
                false,
                "http://localhost:4566/",
            ),
            (
                Some("https://proxy.example/ec2/"),
                "eu-west-1",
                false,
                false,
                "https://proxy.example/ec2/",
            ),
        ];
        for (configured, region, fips, dual, want) in cases {
            let got = regional_endpoint(configured, region, fips, dual);
            assert_eq!(
                got.as_deref(),
                Ok(want),
                "{region} {configured:?} {fips} {dual}"
            );
        }
        let url =
            |configured, region, fips, dual| regional_endpoint(configured, region, fips, dual);
        assert!(url(Some("http://localhost:4566"), "eu-west-1", true, false).is_err());
        assert!(url(None, "eu-west-1/../x", false, false).is_err());
        assert!(url(None, "", false, false).is_err());

        let config = SdkConfig::builder()
            .region(AwsRegion::new("eu-central-1"))
            .endpoint_url("http://localhost:9")
            .build();
        assert_eq!(
            endpoint(&config, "eu-central-1").unwrap(),
            "http://localhost:9/"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_jitter() {
        let retry = RetryConfig::standard()
            .with_initial_backoff(Duration::from_secs(1))
            .with_max_backoff(Duration::from_secs(20));
        let delays: Vec<u64> = (1..=7)
            .map(|attempt| backoff(&retry, true, attempt, 1.0).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 20, 20]);
        assert_eq!(
            backoff(&retry, true, 2, 0.5),
            Duration::from_secs(1),
            "full jitter"
        );
        assert_eq!(backoff(&retry, false, 60, 1.0), Duration::from_secs(20));
        let fixed = retry.with_use_static_exponential_base(true);
        assert_eq!(backoff(&fixed, true, 3, 0.0), Duration::from_secs(4));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    /// A request's body and `Authorization` header.
    type Sent = (String, Option<String>);

    /// A connector answering from a queue, keeping the requests.
    #[derive(Debug, Clone, Default)]
    struct Fake {
        answers: Arc<Mutex<VecDeque<(u16, String)>>>,
        requests: Arc<Mutex<Vec<Sent>>>,
    }

    impl Fake {
        fn new(answers: &[(u16, &str)]) -> Self {
            let fake = Self::default();
            fake.answers
                .lock()
                .unwrap()
                .extend(answers.iter().map(|(s, b)| (*s, b.to_string())));
            fake
        }

        fn bodies(&self) -> Vec<String> {
            self.requests
                .lock()
                .unwrap()
                .iter()
                .map(|r| r.0.clone())
                .collect()
        }
    }

    impl HttpConnector for Fake {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let body = std::str::from_utf8(request.body().bytes().unwrap_or_default())
                .unwrap()
                .to_string();
            let authorization = request.headers().get("authorization").map(String::from);
            self.requests.lock().unwrap().push((body, authorization));
            let (status, xml) = self
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("an answer left");
            HttpConnectorFuture::ready(Ok(HttpResponse::new(
                StatusCode::try_from(status).unwrap(),
                SdkBody::from(xml),
            )))
        }
    }

    fn client(fake: &Fake, max_attempts: u32) -> Ec2 {
        let config = SdkConfig::builder()
            .region(AwsRegion::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKID", "SECRET", None, None, "test",
            )))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(max_attempts)
                    .with_initial_backoff(Duration::from_millis(1))
                    .with_use_static_exponential_base(true),
            )
            .build();
        Ec2::with_connector(&config, SharedHttpConnector::new(fake.clone()))
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    const THROTTLED: &str = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>";

    #[test]
    fn pages_follow_the_token_and_throttling_is_retried() {
        let fake = Fake::new(&[
            (200, "<DescribeVolumesResponse><volumeSet><item><volumeId>vol-1</volumeId></item></volumeSet><nextToken>a+b</nextToken></DescribeVolumesResponse>"),
            (503, THROTTLED),
            (500, "<html>oops</html>"),
            (200, "<DescribeVolumesResponse><volumeSet><item><volumeId>vol-2</volumeId></item></volumeSet></DescribeVolumesResponse>"),
        ]);
        let ec2 = client(&fake, 3);
        let ids = block_on(async {
            let mut pages = ec2.pages("DescribeVolumes", volumes);
            let mut ids = Vec::new();
            while let Some(page) = pages.next().await {
                ids.extend(page.unwrap().into_iter().filter_map(|v| v.volume_id));
            }
            ids
        });
        assert_eq!(ids, ["vol-1", "vol-2"]);
        assert_eq!(
            fake.bodies(),
            [
                "Action=DescribeVolumes&Version=2016-11-15",
                "Action=DescribeVolumes&Version=2016-11-15&NextToken=a%2Bb",
                "Action=DescribeVolumes&Version=2016-11-15&NextToken=a%2Bb",
                "Action=DescribeVolumes&Version=2016-11-15&NextToken=a%2Bb",
            ]
        );
        for (_, authorization) in fake.requests.lock().unwrap().iter() {
            let authorization = authorization.as_deref().unwrap();
            assert!(
                authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKID/")
                    && authorization.contains("/eu-west-1/ec2/aws4_request"),
                "{authorization}"
            );
        }
    }

    #[test]
    fn a_denied_call_is_not_retried_and_retries_run_out() {
        let denied = "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors></Response>";
        let fake = Fake::new(&[(403, denied)]);
        let error = block_on(client(&fake, 5).call("DescribeVolumes", &[])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "UnauthorizedOperation: You are not authorized to perform this operation."
        );
        assert_eq!(fake.bodies().len(), 1);

        let fake = Fake::new(&[(503, THROTTLED), (503, THROTTLED), (503, THROTTLED)]);
        let error = block_on(client(&fake, 3).call("DescribeVolumes", &[])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "RequestLimitExceeded: Request limit exceeded."
        );
        assert_eq!(fake.bodies().len(), 3, "max_attempts");
    }

    #[test]
    fn a_repeated_or_empty_token_ends_the_list() {
        let page = "<DescribeSecurityGroupsResponse><securityGroupInfo><item><groupId>sg-1</groupId></item></securityGroupInfo><nextToken>same</nextToken></DescribeSecurityGroupsResponse>";
        let fake = Fake::new(&[(200, page), (200, page)]);
        let ec2 = client(&fake, 1);
        let pages = block_on(async {
            let mut pages = ec2.pages("DescribeSecurityGroups", security_groups);
            let mut n = 0;
            while let Some(page) = pages.next().await {
                page.unwrap();
                n += 1;
            }
            n
        });
        assert_eq!(pages, 2, "the page that repeats the token is the last");

        let fake = Fake::new(&[(
            200,
            "<DescribeSecurityGroupsResponse><securityGroupInfo/><nextToken></nextToken></DescribeSecurityGroupsResponse>",
        )]);
        let ec2 = client(&fake, 1);
        let pages = block_on(async {
            let mut pages = ec2.pages("DescribeSecurityGroups", security_groups);
            let mut n = 0;
            while pages.next().await.is_some() {
                n += 1;
            }
            n
        });
        assert_eq!(pages, 1);
    }

    #[test]
    fn an_unparseable_answer_names_the_operation() {
        let fake = Fake::new(&[(200, "<DescribeRegionsResponse><regionInfo><item>")]);
        let result = block_on(client(&fake, 3).read("DescribeRegions", &[], regions));
        // A truncated document reads as far as it goes, as in the SDK.
        assert_eq!(result, Ok(vec![Region::default()]));
        let fake = Fake::new(&[(200, "<Other/>")]);
        let error = block_on(client(&fake, 3).read("DescribeRegions", &[], regions)).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("response error: cannot read the DescribeRegions answer"),
            "{error}"
        );
        assert_eq!(fake.bodies().len(), 1, "not retried");
    }

    /// A provider counting its calls, with credentials expiring at `expiry`.
    #[derive(Debug)]
    struct Counting(Arc<AtomicUsize>, Option<SystemTime>);

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.0.fetch_add(1, Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                "AKID", "SECRET", None, self.1, "counting",
            )))
        }
    }

    #[test]
    fn credentials_are_cached_until_they_expire() {
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = SharedCredentialsProvider::new(Counting(calls.clone(), None));
        block_on(async {
            for _ in 0..3 {
                credentials(&provider).await.unwrap();
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = Arc::new(AtomicUsize::new(0));
        let soon = SystemTime::now() + Duration::from_secs(5);
        let provider = SharedCredentialsProvider::new(Counting(calls.clone(), Some(soon)));
        block_on(async {
            for _ in 0..3 {
                credentials(&provider).await.unwrap();
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 3, "within the refresh buffer");
    }
}
