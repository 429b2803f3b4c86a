//! Signing in: the SDK configuration of each account to audit, from the
//! standard credential chain, optionally through assumed roles.

use crate::params::AwsParams;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::time::Duration;

/// The region of calls that are not regional (IAM, S3's bucket list,
/// STS) when the configuration names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// One account to audit.
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// How it was reached: `default credentials` or the assumed role.
    pub via: String,
    /// The SDK configuration with its credentials.
    pub config: SdkConfig,
}

impl Account {
    /// The configuration for `region`.
    pub fn in_region(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }

    /// The region of the account's non-regional calls.
    pub fn home_region(&self) -> String {
        self.config
            .region()
            .map_or(DEFAULT_REGION.to_string(), |r| r.to_string())
    }
}

/// The base configuration: the standard chain (or `profile`), the
/// endpoint, retries and timeouts of `params`, and an HTTPS client with
/// rustls on ring.
pub async fn base_config(params: &AwsParams) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeout = Duration::from_secs_f64(params.timeout);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(params.max_retries + 1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout)
                .operation_attempt_timeout(timeout)
                .build(),
        );
    if let Some(profile) = &params.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &params.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_some() {
        config
    } else {
        config
            .to_builder()
            .region(Region::new(DEFAULT_REGION))
            .build()
    }
}

/// The accounts to audit: one per role of `params` (assumed with the base
/// credentials), or the base credentials' own account. An account that
/// cannot be reached is an `Err` in its place, naming the role.
pub async fn accounts(params: &AwsParams) -> Vec<Result<Account, String>> {
    accounts_via(params, &params.roles()).await
}

/// The accounts reached through `roles` (a subset of `params`' roles; none:
/// the default credentials' account).
pub async fn accounts_via(params: &AwsParams, roles: &[&str]) -> Vec<Result<Account, String>> {
    let base = base_config(params).await;
    if roles.is_empty() {
        return vec![account(base, "default credentials".into()).await];
    }
    let mut accounts = Vec::new();
    for role in roles.iter().copied() {
        let mut provider = AssumeRoleProvider::builder(role)
            .session_name("cloudmarker")
            .configure(&base);
        if let Some(id) = &params.external_id {
            provider = provider.external_id(id.expose());
        }
        let provider = provider.build().await;
        let config = base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
        accounts.push(account(config, format!("role {role}")).await);
    }
    accounts
}

/// The account behind `config`'s credentials (STS GetCallerIdentity).
async fn account(config: SdkConfig, via: String) -> Result<Account, String> {
    let sts = aws_sdk_sts::Client::new(&config);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| format!("{via}: cannot sign in: {}", describe(&e)))?;
    let id = identity
        .account()
        .ok_or_else(|| format!("{via}: STS named no account"))?
        .to_string();
    Ok(Account { id, via, config })
}

/// An SDK error as `Code: message` when the service answered, else the
/// chain of causes (a connection refused, a timeout, an answer that does
/// not parse), without the raw response. Credentials never appear in
/// either.
pub fn describe<E>(e: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => causes(e),
    }
}

/// An error and its causes, `: `-separated.
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(source) = cause {
        text.push_str(": ");
        text.push_str(&source.to_string());
        cause = source.source();
    }
    text
}

/// The service's error code, if it answered with one.
pub fn code<E: ProvideErrorMetadata>(e: &E) -> Option<&str> {
    e.code()
}

/// The ARN partition of `region`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
