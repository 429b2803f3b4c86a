//! The checks of `awscloud`'s records, one event plugin each. Every event
//! names the resource (its ARN), the account and the region, and says how
//! to fix it (console path or AWS CLI command).

use crate::collect::ACCOUNT;
use crate::ec2::EBS_VOLUME;
use crate::iam::IAM_USER;
use crate::kms::KMS_KEY;
use crate::rds::RDS_INSTANCE;
use crate::s3::S3_BUCKET;
use cloudmarker_plugin_api::sdk::check::Select;
use cloudmarker_plugin_api::sdk::check::Severity;
use cloudmarker_plugin_api::sdk::rule::{ParamRule, ParamRuleCheck, Rule, RuleCheck, Verdict};
use cloudmarker_plugin_api::sdk::schema;
use serde::{Deserialize, Serialize};

/// Where a record is: its account and region.
#[derive(Debug, Default, Deserialize)]
pub struct Place {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    region: String,
}

impl Place {
    /// "account 123456789012, us-east-1".
    fn said(&self) -> String {
        format!("account {}, {}", self.account_id, self.region)
    }
}

/// A bucket's public access settings, as `awscloud` reads them.
#[derive(Debug, Default, Deserialize)]
pub struct Bucket {
    #[serde(flatten)]
    place: Place,
    #[serde(default)]
    bucket: String,
    #[serde(default)]
    bucket_region: Option<String>,
    #[serde(default)]
    public_access_block: Option<Block>,
    #[serde(default)]
    account_public_access_block: Option<Block>,
    #[serde(default)]
    policy_is_public: Option<bool>,
    #[serde(default)]
    public_acl_grants: Option<Vec<String>>,
}

/// An S3 public access block.
#[derive(Debug, Default, Deserialize)]
pub struct Block {
    #[serde(default)]
    ignore_public_acls: bool,
    #[serde(default)]
    restrict_public_buckets: bool,
}

impl Bucket {
    /// Why the bucket is public, if it is: an ACL grant to everyone that no
    /// block ignores, a public policy that no block restricts.
    pub fn public_because(&self) -> Vec<String> {
        let blocks = [&self.public_access_block, &self.account_public_access_block];
        let ignored = blocks
            .iter()
            .any(|b| b.as_ref().is_some_and(|b| b.ignore_public_acls));
        let restricted = blocks
            .iter()
            .any(|b| b.as_ref().is_some_and(|b| b.restrict_public_buckets));
        let mut reasons = Vec::new();
        let grants = self.public_acl_grants.as_deref().unwrap_or_default();
        if !grants.is_empty() && !ignored {
            reasons.push(format!("its ACL grants {}", grants.join(", ")));
        }
        if self.policy_is_public == Some(true) && !restricted {
            reasons.push("its bucket policy allows public access".to_string());
        }
        reasons
    }
}

/// `awss3bucketpublicevent`.
pub enum BucketPublicRule {}

impl Rule for BucketPublicRule {
    const NAME: &'static str = "awss3bucketpublicevent";
    const DESCRIPTION: &'static str =
        "Flags S3 buckets that everyone can read or write (ACL or policy, not blocked).";
    const SELECT: Select = Select::ext(&[S3_BUCKET]).in_cloud("aws");
    const EVENT: &'static str = "s3_bucket_public_event";
    const SEVERITY: Severity = Severity::High;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 2.1.5"];
    type Ext = Bucket;
    fn judge(bucket: &Bucket, arn: &str) -> Verdict {
        let reasons = bucket.public_because();
        let name = &bucket.bucket;
        let region = bucket
            .bucket_region
            .as_deref()
            .unwrap_or(&bucket.place.region);
        (!reasons.is_empty()).then(|| {
            (
                format!(
                    "S3 bucket {arn} (account {}, {region}) is public: {}.",
                    bucket.place.account_id,
                    reasons.join("; ")
                ),
                format!("Block public access to bucket {name}: in the S3 console, the bucket > Permissions > Block public access > Edit > Block all public access; or aws s3api put-public-access-block --bucket {name} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true (aws s3control put-public-access-block --account-id {} does it for every bucket of the account).", bucket.place.account_id),
            )
        })
    }
}

/// An EBS volume, as its check reads it.
#[derive(Debug, Default, Deserialize)]
pub struct Volume {
    #[serde(flatten)]
    place: Place,
    #[serde(default)]
    volume_id: String,
    #[serde(default)]
    encrypted: Option<bool>,
}

/// `awsebsvolumeencryptionevent`.
pub enum VolumeEncryptionRule {}

impl Rule for VolumeEncryptionRule {
    const NAME: &'static str = "awsebsvolumeencryptionevent";
    const DESCRIPTION: &'static str = "Flags EBS volumes that are not encrypted.";
    const SELECT: Select = Select::ext(&[EBS_VOLUME]).in_cloud("aws");
    const EVENT: &'static str = "ebs_volume_encryption_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 2.2.1"];
    type Ext = Volume;
    fn judge(volume: &Volume, arn: &str) -> Verdict {
        let (id, region) = (&volume.volume_id, &volume.place.region);
        (volume.encrypted == Some(false)).then(|| {
            (
                format!("EBS volume {arn} ({}) is not encrypted.", volume.place.said()),
                format!("An existing volume cannot be encrypted in place: snapshot it (aws ec2 create-snapshot --volume-id {id} --region {region}), copy the snapshot with --encrypted, create a volume from the copy and swap it in; and turn on encryption by default for new volumes: aws ec2 enable-ebs-encryption-by-default --region {region}"),
            )
        })
    }
}

/// The account record's facts the account checks read.
#[derive(Debug, Default, Deserialize)]
pub struct AccountFacts {
    #[serde(default)]
    account_id: String,
    #[serde(default)]
    root_mfa_enabled: Option<bool>,
    #[serde(default)]
    root_access_keys_present: Option<bool>,
    #[serde(default)]
    password_policy: Option<PasswordPolicy>,
    #[serde(default)]
    password_policy_read: bool,
    #[serde(default)]
    multi_region_trail_logging: Option<bool>,
}

/// An account's password policy (the fields the check reads).
#[derive(Debug, Default, Deserialize)]
pub struct PasswordPolicy {
    #[serde(default)]
    minimum_password_length: Option<i64>,
    #[serde(default)]
    password_reuse_prevention: Option<i64>,
}

/// The records of the account checks.
const ACCOUNTS: Select = Select::ext(&[ACCOUNT]).in_cloud("aws");

/// `awsiamrootmfaevent`.
pub enum RootMfaRule {}

impl Rule for RootMfaRule {
    const NAME: &'static str = "awsiamrootmfaevent";
    const DESCRIPTION: &'static str = "Flags AWS accounts whose root user has no MFA device.";
    const SELECT: Select = ACCOUNTS;
    const EVENT: &'static str = "iam_root_mfa_event";
    const SEVERITY: Severity = Severity::Critical;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 1.5"];
    type Ext = AccountFacts;
    fn judge(account: &AccountFacts, arn: &str) -> Verdict {
        (account.root_mfa_enabled == Some(false)).then(|| {
            (
                format!("The root user {arn} of account {} has no MFA device: whoever learns its password owns the account.", account.account_id),
                "Sign in as the root user, then account menu > Security credentials > Multi-factor authentication (MFA) > Assign MFA device (a hardware key or authenticator app).".to_string(),
            )
        })
    }
}

/// `awsiamrootaccesskeyevent`.
pub enum RootAccessKeyRule {}

impl Rule for RootAccessKeyRule {
    const NAME: &'static str = "awsiamrootaccesskeyevent";
    const DESCRIPTION: &'static str = "Flags AWS accounts whose root user has access keys.";
    const SELECT: Select = ACCOUNTS;
    const EVENT: &'static str = "iam_root_access_key_event";
    const SEVERITY: Severity = Severity::Critical;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 1.4"];
    type Ext = AccountFacts;
    fn judge(account: &AccountFacts, arn: &str) -> Verdict {
        (account.root_access_keys_present == Some(true)).then(|| {
            (
                format!("The root user {arn} of account {} has access keys: a leaked key gives unrestricted access to the account.", account.account_id),
                "Sign in as the root user, then account menu > Security credentials > Access keys: deactivate and delete every key; use IAM roles or users with least privilege instead.".to_string(),
            )
        })
    }
}

/// The shortest password and the most remembered passwords the CIS AWS
/// Foundations Benchmark asks for.
const MIN_PASSWORD_LENGTH: i64 = 14;
const MIN_REUSE_PREVENTION: i64 = 24;

/// `awsiampasswordpolicyevent`.
pub enum PasswordPolicyRule {}

impl Rule for PasswordPolicyRule {
    const NAME: &'static str = "awsiampasswordpolicyevent";
    const DESCRIPTION: &'static str = "Flags AWS accounts without a password policy, or with one that allows passwords shorter than 14 characters or reuse of the last 24.";
    const SELECT: Select = ACCOUNTS;
    const EVENT: &'static str = "iam_password_policy_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &[
        "CIS AWS Foundations 1.4.0 1.8",
        "CIS AWS Foundations 1.4.0 1.9",
    ];
    type Ext = AccountFacts;
    fn judge(account: &AccountFacts, _: &str) -> Verdict {
        if !account.password_policy_read {
            return None;
        }
        let id = &account.account_id;
        let problems = match &account.password_policy {
            None => vec!["it has no password policy".to_string()],
            Some(policy) => {
                let mut problems = Vec::new();
                let length = policy.minimum_password_length.unwrap_or(0);
                if length < MIN_PASSWORD_LENGTH {
                    problems.push(format!("passwords may be {length} characters long, fewer than {MIN_PASSWORD_LENGTH}"));
                }
                let remembered = policy.password_reuse_prevention.unwrap_or(0);
                if remembered < MIN_REUSE_PREVENTION {
                    problems.push(format!("only the last {remembered} passwords are kept from reuse, fewer than {MIN_REUSE_PREVENTION}"));
                }
                problems
            }
        };
        (!problems.is_empty()).then(|| {
            (
                format!("The IAM password policy of account {id} is weak: {}.", problems.join("; ")),
                format!("aws iam update-account-password-policy --minimum-password-length {MIN_PASSWORD_LENGTH} --password-reuse-prevention {MIN_REUSE_PREVENTION} --require-symbols --require-numbers --require-uppercase-characters --require-lowercase-characters (or IAM console > Account settings > Password policy > Edit)"),
            )
        })
    }
}

/// `awscloudtrailmultiregionevent`.
pub enum TrailMultiRegionRule {}

impl Rule for TrailMultiRegionRule {
    const NAME: &'static str = "awscloudtrailmultiregionevent";
    const DESCRIPTION: &'static str =
        "Flags AWS accounts without a multi-region CloudTrail trail that is logging.";
    const SELECT: Select = ACCOUNTS;
    const EVENT: &'static str = "cloudtrail_multi_region_event";
    const SEVERITY: Severity = Severity::High;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 3.1"];
    type Ext = AccountFacts;
    fn judge(account: &AccountFacts, _: &str) -> Verdict {
        let id = &account.account_id;
        (account.multi_region_trail_logging == Some(false)).then(|| {
            (
                format!("Account {id} has no multi-region CloudTrail trail that is logging: API activity in some regions is not recorded."),
                "aws cloudtrail create-trail --name account-trail --s3-bucket-name <bucket> --is-multi-region-trail, then aws cloudtrail start-logging --name account-trail (or CloudTrail console > Trails > Create trail, applied to all regions); start logging on an existing multi-region trail that is stopped.".to_string(),
            )
        })
    }
}

/// An IAM user, as the user checks read it.
#[derive(Debug, Default, Deserialize)]
pub struct User {
    #[serde(flatten)]
    place: Place,
    #[serde(default)]
    user_name: String,
    #[serde(default)]
    console_password: Option<bool>,
    #[serde(default)]
    mfa_enabled: Option<bool>,
    #[serde(default)]
    access_keys: Option<Vec<AccessKey>>,
}

/// An access key of a user.
#[derive(Debug, Default, Deserialize)]
pub struct AccessKey {
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    age_days: Option<i64>,
}

/// The records of the user checks.
const USERS: Select = Select::ext(&[IAM_USER]).in_cloud("aws");

/// `awsiamusermfaevent`.
pub enum UserMfaRule {}

impl Rule for UserMfaRule {
    const NAME: &'static str = "awsiamusermfaevent";
    const DESCRIPTION: &'static str = "Flags IAM users who can sign in to the console without MFA.";
    const SELECT: Select = USERS;
    const EVENT: &'static str = "iam_user_mfa_event";
    const SEVERITY: Severity = Severity::High;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 1.10"];
    type Ext = User;
    fn judge(user: &User, arn: &str) -> Verdict {
        let name = &user.user_name;
        (user.console_password == Some(true) && user.mfa_enabled == Some(false)).then(|| {
            (
                format!("IAM user {arn} (account {}) signs in to the console with a password and no MFA device.", user.place.account_id),
                format!("Assign an MFA device to {name}: IAM console > Users > {name} > Security credentials > Assign MFA device; or, if the user needs no console, aws iam delete-login-profile --user-name {name}"),
            )
        })
    }
}

/// The parameters of [`AccessKeyRotation`].
#[derive(Debug, Clone, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct KeyAgeParams {
    /// The oldest an active access key may be, in days.
    pub _max_key_age_days: i64,
}

impl Default for KeyAgeParams {
    fn default() -> Self {
        Self {
            _max_key_age_days: 90,
        }
    }
}

/// `awsiamaccesskeyrotationevent`: active access keys older than
/// `_max_key_age_days`.
pub struct AccessKeyRotationRule {
    max_days: i64,
}

impl ParamRule for AccessKeyRotationRule {
    const NAME: &'static str = "awsiamaccesskeyrotationevent";
    const DESCRIPTION: &'static str =
        "Flags IAM users with active access keys older than _max_key_age_days days.";
    const SELECT: Select = USERS;
    const EVENT: &'static str = "iam_access_key_rotation_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 1.14"];
    type Params = KeyAgeParams;
    type Ext = User;

    fn new(params: KeyAgeParams) -> Result<Self, String> {
        match params._max_key_age_days {
            days if days >= 1 => Ok(Self { max_days: days }),
            days => Err(format!("_max_key_age_days must be at least 1, not {days}")),
        }
    }

    fn judge(&self, user: &User, arn: &str) -> Verdict {
        let old: Vec<String> = user
            .access_keys
            .iter()
            .flatten()
            .filter(|k| k.status.as_deref() == Some("Active"))
            .filter_map(|k| {
                let age = k.age_days?;
                (age > self.max_days).then(|| format!("{} ({age} days)", k.access_key_id))
            })
            .collect();
        let name = &user.user_name;
        (!old.is_empty()).then(|| {
            (
                format!("IAM user {arn} (account {}) has active access keys older than {} days: {}.", user.place.account_id, self.max_days, old.join(", ")),
                format!("Rotate them: aws iam create-access-key --user-name {name}, move the users of the old key to the new one, then aws iam update-access-key --user-name {name} --access-key-id <old key> --status Inactive and aws iam delete-access-key; better, give the workload a role instead of keys."),
            )
        })
    }
}

/// An RDS instance, as its checks read it.
#[derive(Debug, Default, Deserialize)]
pub struct Database {
    #[serde(flatten)]
    place: Place,
    #[serde(default)]
    db_instance_identifier: String,
    #[serde(default)]
    publicly_accessible: Option<bool>,
    #[serde(default)]
    storage_encrypted: Option<bool>,
}

/// The records of the RDS checks.
const DATABASES: Select = Select::ext(&[RDS_INSTANCE]).in_cloud("aws");

/// `awsrdspublicaccessevent`.
pub enum RdsPublicRule {}

impl Rule for RdsPublicRule {
    const NAME: &'static str = "awsrdspublicaccessevent";
    const DESCRIPTION: &'static str = "Flags RDS instances that are reachable from the Internet.";
    const SELECT: Select = DATABASES;
    const EVENT: &'static str = "rds_public_access_event";
    const SEVERITY: Severity = Severity::High;
    type Ext = Database;
    fn judge(db: &Database, arn: &str) -> Verdict {
        let (id, region) = (&db.db_instance_identifier, &db.place.region);
        (db.publicly_accessible == Some(true)).then(|| {
            (
                format!("RDS instance {arn} ({}) is publicly accessible: it has a public address.", db.place.said()),
                format!("aws rds modify-db-instance --db-instance-identifier {id} --no-publicly-accessible --apply-immediately --region {region} (or RDS console > the database > Modify > Connectivity > Not publicly accessible)"),
            )
        })
    }
}

/// `awsrdsencryptionevent`.
pub enum RdsEncryptionRule {}

impl Rule for RdsEncryptionRule {
    const NAME: &'static str = "awsrdsencryptionevent";
    const DESCRIPTION: &'static str = "Flags RDS instances whose storage is not encrypted.";
    const SELECT: Select = DATABASES;
    const EVENT: &'static str = "rds_encryption_event";
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 2.3.1"];
    type Ext = Database;
    fn judge(db: &Database, arn: &str) -> Verdict {
        let (id, region) = (&db.db_instance_identifier, &db.place.region);
        (db.storage_encrypted == Some(false)).then(|| {
            (
                format!("RDS instance {arn} ({}) stores its data unencrypted.", db.place.said()),
                format!("Storage encryption cannot be turned on in place: snapshot the instance (aws rds create-db-snapshot --db-instance-identifier {id} --db-snapshot-identifier {id}-plain --region {region}), copy the snapshot with --kms-key-id, and restore a new instance from the encrypted copy."),
            )
        })
    }
}

/// A KMS key, as its check reads it.
#[derive(Debug, Default, Deserialize)]
pub struct Key {
    #[serde(flatten)]
    place: Place,
    #[serde(default)]
    key_id: String,
    #[serde(default)]
    rotation_enabled: Option<bool>,
}

/// `awskmskeyrotationevent`.
pub enum KeyRotationRule {}

impl Rule for KeyRotationRule {
    const NAME: &'static str = "awskmskeyrotationevent";
    const DESCRIPTION: &'static str = "Flags customer-managed KMS keys without automatic rotation.";
    const SELECT: Select = Select::ext(&[KMS_KEY]).in_cloud("aws");
    const EVENT: &'static str = "kms_key_rotation_event";
    const SEVERITY: Severity = Severity::Low;
    const COMPLIANCE: &'static [&'static str] = &["CIS AWS Foundations 1.4.0 3.8"];
    type Ext = Key;
    fn judge(key: &Key, arn: &str) -> Verdict {
        let (id, region) = (&key.key_id, &key.place.region);
        (key.rotation_enabled == Some(false)).then(|| {
            (
                format!("KMS key {arn} ({}) is not rotated automatically.", key.place.said()),
                format!("aws kms enable-key-rotation --key-id {id} --region {region} (or KMS console > Customer managed keys > the key > Key rotation > Automatically rotate)"),
            )
        })
    }
}

/// `awss3bucketpublicevent`.
pub type BucketPublic = RuleCheck<BucketPublicRule>;
/// `awsebsvolumeencryptionevent`.
pub type VolumeEncryption = RuleCheck<VolumeEncryptionRule>;
/// `awsiamrootmfaevent`.
pub type RootMfa = RuleCheck<RootMfaRule>;
/// `awsiamrootaccesskeyevent`.
pub type RootAccessKey = RuleCheck<RootAccessKeyRule>;
/// `awsiampasswordpolicyevent`.
pub type PasswordPolicyCheck = RuleCheck<PasswordPolicyRule>;
/// `awscloudtrailmultiregionevent`.
pub type TrailMultiRegion = RuleCheck<TrailMultiRegionRule>;
/// `awsiamusermfaevent`.
pub type UserMfa = RuleCheck<UserMfaRule>;
/// `awsiamaccesskeyrotationevent`.
pub type AccessKeyRotation = ParamRuleCheck<AccessKeyRotationRule>;
/// `awsrdspublicaccessevent`.
pub type RdsPublic = RuleCheck<RdsPublicRule>;
/// `awsrdsencryptionevent`.
pub type RdsEncryption = RuleCheck<RdsEncryptionRule>;
/// `awskmskeyrotationevent`.
pub type KeyRotation = RuleCheck<KeyRotationRule>;

#[cfg(test)]
mod tests;
