//! AWS, as one plugin library: the `awscloud` cloud plugin and the checks
//! of its records.
//!
//! `awscloud` signs in through the standard AWS credential chain (the
//! official `aws-config`), optionally assuming one role per account, and
//! reads every region enabled for each account: EC2 instances, security
//! groups (their rules as `firewall_rule` records, so `firewallruleevent`
//! finds open ones as it does NSGs and GCP firewalls), EBS volumes, RDS
//! instances and KMS keys; and, per account, S3 buckets, IAM users, the
//! root user and password policy, and CloudTrail trails. Each account and
//! region ends with a `collection_summary` saying what was read and what
//! could not be.

mod accessanalyzer;
mod awscloud;
mod awsconfig;
mod collect;
mod ec2;
mod efs;
mod iam;
mod kms;
mod organizations;
mod params;
mod query;
mod rds;
mod s3;
mod scope;
mod securityhub;
mod session;
mod trail;

pub use awscloud::AwsCloud;
pub use ec2::{firewall_rule, network_acl_rule};
pub use params::{AwsParams, OrganizationParams};
pub use query::{NetworkAclEntry, SecurityGroupRule};

cloudmarker_plugin_api::export_plugins!(
    cloud: AwsCloud,
);
