//! The params of `awscloud`.

use cloudmarker_plugin_api::sdk::{schema, Secret};
use serde::{Deserialize, Serialize};

/// How `awscloud` signs in and what it reads.
#[derive(Debug, Clone, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct AwsParams {
    /// The regions to read; empty: every region enabled for the account
    /// (EC2 DescribeRegions).
    pub regions: Vec<String>,
    /// A profile of the shared config and credentials files (default:
    /// `AWS_PROFILE`, else `default`). Credentials come from the standard
    /// chain: environment, these files, web identity, ECS or EC2 metadata.
    pub profile: Option<String>,
    /// A role to assume in the account to audit (with the credentials of the
    /// chain).
    pub role_arn: Option<String>,
    /// Roles to assume, one per account, to audit several accounts of an
    /// organisation in one run (with `role_arn`, if given, too).
    pub role_arns: Vec<String>,
    /// Audit every account of the AWS Organization that the credentials
    /// manage (its management account or a delegated administrator),
    /// through a role of the same name in each (not with `role_arn` or
    /// `role_arns`).
    pub organization: Option<OrganizationParams>,
    /// The external id the roles require (kept out of logs, as a secret).
    pub external_id: Option<Secret>,
    /// Send every request here (an emulator, a proxy); `AWS_ENDPOINT_URL`
    /// does the same. S3 is then addressed path-style.
    pub endpoint_url: Option<String>,
    /// Requests in flight at once, across accounts, regions and services.
    pub max_concurrency: usize,
    /// Records of each type read per account and region (0: all).
    pub _max_recs: usize,
    /// Seconds one attempt of a request may take.
    pub timeout: f64,
    /// Retries of a throttled (`Throttling`, `RequestLimitExceeded`,
    /// `SlowDown`, 503) or failed request, with the SDK's standard backoff.
    pub max_retries: u32,
}

impl Default for AwsParams {
    fn default() -> Self {
        Self {
            regions: Vec::new(),
            profile: None,
            role_arn: None,
            role_arns: Vec::new(),
            organization: None,
            external_id: None,
            endpoint_url: None,
            max_concurrency: 16,
            _max_recs: 0,
            timeout: 60.0,
            max_retries: 4,
        }
    }
}

/// Which accounts of an organization to audit, and how.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct OrganizationParams {
    /// The role to assume in each account (its name: the same in every
    /// account, as StackSets or Control Tower create it).
    pub role_name: String,
    /// Account ids to leave out.
    pub exclude_accounts: Vec<String>,
    /// Only the accounts under these organizational units (ids, `ou-...`,
    /// or the root `r-...`), their child OUs included; empty: all.
    pub include_ous: Vec<String>,
}

impl AwsParams {
    /// Checks the values serde cannot.
    pub fn check(&self) -> Result<(), String> {
        if let Some(organization) = &self.organization {
            if organization.role_name.is_empty() || organization.role_name.contains(['/', ':']) {
                return Err(format!(
                    "organization.role_name must be a role name, not {:?}",
                    organization.role_name
                ));
            }
            if !self.roles().is_empty() {
                return Err(
                    "organization replaces role_arn and role_arns: give one or the other".into(),
                );
            }
        }
        if !(self.timeout > 0.0 && self.timeout.is_finite()) {
            return Err(format!(
                "timeout must be a positive number of seconds, not {}",
                self.timeout
            ));
        }
        if self.max_concurrency == 0 {
            return Err("max_concurrency must be at least 1".into());
        }
        for arn in self.roles() {
            if !arn.starts_with("arn:") || !arn.contains(":role/") {
                return Err(format!(
                    "{arn:?} is not a role ARN (arn:aws:iam::<account>:role/<name>)"
                ));
            }
        }
        Ok(())
    }

    /// The roles to assume: `role_arns`, then `role_arn`; none means the
    /// chain's own credentials.
    pub fn roles(&self) -> Vec<&str> {
        let mut roles: Vec<&str> = self.role_arns.iter().map(String::as_str).collect();
        if let Some(role) = self.role_arn.as_deref() {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_bad_values() {
        let params = AwsParams {
            role_arns: vec!["arn:aws:iam::111111111111:role/audit".into()],
            role_arn: Some("arn:aws:iam::222222222222:role/audit".into()),
            ..AwsParams::default()
        };
        assert_eq!(params.roles().len(), 2);
        assert!(params.check().is_ok());
        let bad = AwsParams {
            role_arn: Some("audit".into()),
            ..AwsParams::default()
        };
        assert!(bad.check().unwrap_err().contains("not a role ARN"));
        let bad = AwsParams {
            timeout: 0.0,
            ..AwsParams::default()
        };
        assert!(bad.check().is_err());
        let organization = |role_name: &str| AwsParams {
            organization: Some(OrganizationParams {
                role_name: role_name.into(),
                ..OrganizationParams::default()
            }),
            ..AwsParams::default()
        };
        assert!(organization("audit").check().is_ok());
        assert!(organization("").check().unwrap_err().contains("role_name"));
        assert!(organization("arn:aws:iam::1:role/a").check().is_err());
        let both = AwsParams {
            role_arn: Some("arn:aws:iam::222222222222:role/audit".into()),
            ..organization("audit")
        };
        assert!(both.check().unwrap_err().contains("replaces"));
    }
}
