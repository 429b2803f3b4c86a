//! One read of `awscloud`: every account; its account-wide services (IAM,
//! S3, CloudTrail) once and its regional ones (EC2, EBS, VPC, RDS, KMS,
//! AWS Config, EFS, IAM Access Analyzer, Security Hub) in every region, all at once but with at most `max_concurrency` requests in
//! flight; then one `account` record and one `collection_summary` per
//! account and region (`global` for the account-wide services).

use crate::accessanalyzer::{self, ACCESS_ANALYZERS};
use crate::awsconfig::{self, CONFIG_RECORDERS};
use crate::ec2::{
    self, EBS_ENCRYPTION_DEFAULT, EBS_VOLUME, EC2_INSTANCE, NETWORK_ACL_ENTRY, SECURITY_GROUP,
    SECURITY_GROUP_RULE, VPC,
};
use crate::efs::{self, EFS_FILE_SYSTEM};
use crate::iam::{self, IAM_POLICY, IAM_SERVER_CERTIFICATE, IAM_USER};
use crate::kms::{self, KMS_KEY};
use crate::organizations;
use crate::params::{AwsParams, OrganizationParams};
use crate::rds::{self, RDS_INSTANCE};
use crate::s3::{self, S3_ACCOUNT_BLOCK, S3_BUCKET};
use crate::scope::{Run, Scope, GLOBAL};
use crate::securityhub::{self, SECURITY_HUB};
use crate::session::{self, Account};
use crate::trail::{self, CLOUDTRAIL_TRAIL};
use cloudmarker_plugin_api::{sdk, PluginError};
use cloudrest::Emitter;
use futures_util::future::{join, join3, join5, join_all};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Map, Value};

/// `ext.record_type` of the account record: the root user, the password
/// policy and the multi-region trail.
pub const ACCOUNT: &str = "account";
/// `ext.record_type` of the account's list of regions.
pub const REGIONS: &str = "regions";

/// What each regional summary expects to have been read.
const REGIONAL: [&str; 13] = [
    EC2_INSTANCE,
    SECURITY_GROUP,
    SECURITY_GROUP_RULE,
    EBS_VOLUME,
    EBS_ENCRYPTION_DEFAULT,
    VPC,
    NETWORK_ACL_ENTRY,
    RDS_INSTANCE,
    KMS_KEY,
    CONFIG_RECORDERS,
    EFS_FILE_SYSTEM,
    ACCESS_ANALYZERS,
    SECURITY_HUB,
];
/// What the account-wide summary expects to have been read.
const ACCOUNT_WIDE: [&str; 7] = [
    ACCOUNT,
    IAM_USER,
    IAM_POLICY,
    IAM_SERVER_CERTIFICATE,
    S3_BUCKET,
    S3_ACCOUNT_BLOCK,
    CLOUDTRAIL_TRAIL,
];

/// Reads everything `params` asks for and emits it (on the calling thread,
/// with a private runtime).
pub fn collect(params: &AwsParams, emit: Emitter) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            emit.problem(PluginError::failed(format!(
                "awscloud: cannot start a runtime: {e}"
            )));
            return;
        }
    };
    let run = Run::new(emit, params.max_concurrency, params._max_recs);
    runtime.block_on(read_all(params, &run));
}

/// The account id in a role ARN (`arn:aws:iam::ACCOUNT:role/NAME`), else
/// the ARN itself.
fn account_of_role(role: &str) -> &str {
    role.split(':')
        .nth(4)
        .filter(|id| !id.is_empty())
        .unwrap_or(role)
}

async fn read_all(params: &AwsParams, run: &Run) {
    let owned: Vec<String> = match &params.organization {
        None => params.roles().into_iter().map(String::from).collect(),
        // Boxed: the SDK's config loader is a large future, and the reader
        // thread's stack is small.
        Some(organization) => match Box::pin(organization_roles(params, organization)).await {
            Ok(roles) if roles.is_empty() => {
                log::warn!("awscloud: the organization has no account to audit.");
                return;
            }
            Ok(roles) => roles,
            Err(message) => {
                log::error!("awscloud: {message}");
                run.problem(PluginError::unavailable(format!("awscloud: {message}")));
                return;
            }
        },
    };
    let roles: Vec<&str> = owned.iter().map(String::as_str).collect();
    // A sharded run divides the accounts between the shards; with one
    // account, its regions (see `read_account`).
    let by_account = roles.len() > 1;
    let roles = if by_account {
        let (roles, taken) =
            sdk::shard::partition(roles, "account(s)", |r| account_of_role(r).to_string());
        run.set_shard(taken);
        roles
    } else {
        roles
    };
    if by_account && roles.is_empty() {
        return;
    }
    let region_shard = sdk::shard::current().filter(|_| !by_account);
    let mut accounts = Vec::new();
    let reached = session::accounts_via(params, &roles).await;
    for (index, account) in reached.into_iter().enumerate() {
        match account {
            Ok(account) => accounts.push(account),
            Err(message) => {
                log::error!("awscloud: {message}");
                run.problem(PluginError::unavailable(format!("awscloud: {message}")));
                if let Some(role) = roles.get(index) {
                    Box::pin(unreachable(params, run, role, message)).await;
                }
            }
        }
    }
    // A quarter of `max_concurrency` accounts at once (at least one): each
    // account alone has more reads than that to run in parallel, and each
    // account read holds its own state, so memory stays flat however many
    // accounts there are.
    stream::iter(
        accounts
            .iter()
            .map(|a| Box::pin(read_account(params, run, a, region_shard))),
    )
    .buffer_unordered(params.max_concurrency.div_ceil(4).max(1))
    .for_each(|()| async {})
    .await;
}

/// The roles to assume in the accounts of `organization` (listed with the
/// base credentials); the accounts left out are logged.
async fn organization_roles(
    params: &AwsParams,
    organization: &OrganizationParams,
) -> Result<Vec<String>, String> {
    let base = session::base_config(params).await;
    let members = organizations::members(&base, organization)
        .await
        .map_err(|e| format!("cannot list the organization's accounts: {e}"))?;
    let partition = session::partition(&base.region().map(|r| r.to_string()).unwrap_or_default());
    let skipped: Vec<String> = members
        .skipped
        .iter()
        .map(|(id, name, why)| format!("{id} ({name}): {why}"))
        .collect();
    log::info!(
        "Organization: {} account(s) to audit{}.",
        members.audit.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; left out {}", skipped.join(", "))
        }
    );
    Ok(members
        .audit
        .iter()
        .map(|(id, _)| format!("arn:{partition}:iam::{id}:role/{}", organization.role_name))
        .collect())
}

/// The summary of an account whose `role` could not be assumed: the
/// account named, nothing read (`failed: {account: why}`), so that its
/// checks are not evaluated.
async fn unreachable(params: &AwsParams, run: &Run, role: &str, why: String) {
    let account = Account {
        id: account_of_role(role).to_string(),
        via: format!("role {role}"),
        config: session::base_config(params).await,
    };
    let global = Scope {
        run,
        account: &account,
        region: GLOBAL,
    };
    global.note_failure(ACCOUNT, why);
    summary(global, &ACCOUNT_WIDE);
}

/// Reads one account. With `region_shard` (a sharded run with one
/// account), only the regions that shard takes (by `ACCOUNT/REGION`), and
/// the account-wide services only on the shard that takes the account id.
async fn read_account(
    params: &AwsParams,
    run: &Run,
    account: &Account,
    region_shard: Option<sdk::shard::Shard>,
) {
    let global = Scope {
        run,
        account,
        region: GLOBAL,
    };
    let regions = if params.regions.is_empty() {
        match ec2::enabled_regions(global).await {
            Ok(regions) => {
                global.count(REGIONS, regions.len());
                regions
            }
            Err(why) => {
                global.fail(REGIONS, why);
                Vec::new()
            }
        }
    } else {
        params.regions.clone()
    };
    let reads_account_wide = match region_shard {
        Some(shard) => shard.takes(&account.id),
        None => true,
    };
    let regions = if region_shard.is_some() {
        let (regions, taken) = sdk::shard::partition(regions, "region(s)", |region| {
            format!("{}/{region}", account.id)
        });
        run.set_shard(taken);
        regions
    } else {
        regions
    };
    if !reads_account_wide {
        let regional = regions.iter().map(|region| {
            read_region(Scope {
                run,
                account,
                region,
            })
        });
        join_all(regional).await;
        let mut global = run.take_collected(&account.id, GLOBAL);
        if let Some(why) = global.failures.remove(REGIONS) {
            run.problem(PluginError::partial(
                0,
                format!("awscloud: account {}: {why}", account.id),
            ));
        }
        regional_summaries(run, account, &regions);
        return;
    }
    log::info!(
        "Reading account {} ({}) in {} region(s).",
        account.id,
        account.via,
        regions.len()
    );
    let mut facts = Map::new();
    let regional = join_all(regions.iter().map(|region| {
        read_region(Scope {
            run,
            account,
            region,
        })
    }));
    let (iam_failures, trails, (), (), (_, (), ())) = join5(
        iam::account_facts(global, &mut facts),
        trail::trails(global),
        global.read(IAM_USER, iam::users(global)),
        global.read(S3_BUCKET, s3::buckets(global)),
        join3(
            regional,
            global.read(IAM_POLICY, iam::policies(global)),
            global.read(IAM_SERVER_CERTIFICATE, iam::server_certificates(global)),
        ),
    )
    .await;
    match trails {
        Ok(trails) => {
            facts.insert(
                "multi_region_trail_logging".into(),
                (!trails.is_empty()).into(),
            );
            let arns: Vec<&str> = trails.iter().map(|t| t.arn.as_str()).collect();
            facts.insert("logging_multi_region_trails".into(), json!(arns));
            // True when one such trail records them; unknown when none
            // does but the selectors of one could not be read.
            let data_events = |pick: fn((bool, bool)) -> bool| {
                if trails.iter().any(|t| t.s3_data_events.is_some_and(pick)) {
                    json!(true)
                } else if trails.iter().any(|t| t.s3_data_events.is_none()) {
                    Value::Null
                } else {
                    json!(false)
                }
            };
            facts.insert(
                "s3_object_write_events_logged".into(),
                data_events(|(write, _)| write),
            );
            facts.insert(
                "s3_object_read_events_logged".into(),
                data_events(|(_, read)| read),
            );
        }
        Err(why) => {
            for fact in [
                "multi_region_trail_logging",
                "s3_object_write_events_logged",
                "s3_object_read_events_logged",
            ] {
                facts.insert(fact.into(), Value::Null);
            }
            global.fail(CLOUDTRAIL_TRAIL, why);
        }
    }
    if !iam_failures.is_empty() {
        global.fail(ACCOUNT, iam_failures.join("; "));
    }
    let record = global
        .record(ACCOUNT)
        .reference(format!("arn:aws:iam::{}:root", account.id))
        .ext_extend(facts);
    let raw = json!({"AccountId": account.id, "ReadVia": account.via, "Regions": regions});
    global.count(ACCOUNT, 1);
    if !global.emit(&raw, &record) {
        return;
    }
    if summary(global, &ACCOUNT_WIDE) {
        regional_summaries(run, account, &regions);
    }
}

/// Emits the `collection_summary` of each of `regions` of `account`, until
/// nobody reads any more.
fn regional_summaries(run: &Run, account: &Account, regions: &[String]) {
    for region in regions {
        let scope = Scope {
            run,
            account,
            region,
        };
        if !summary(scope, &REGIONAL) {
            return;
        }
    }
}

async fn read_region(scope: Scope<'_>) {
    // Boxed: the joined reads make a large future, and the reader
    // thread's stack is small.
    Box::pin(join3(
        join5(
            scope.read(EC2_INSTANCE, ec2::instances(scope)),
            scope.read(SECURITY_GROUP, ec2::security_groups(scope)),
            scope.read(EBS_VOLUME, ec2::volumes(scope)),
            scope.read(RDS_INSTANCE, rds::instances(scope)),
            scope.read(KMS_KEY, kms::keys(scope)),
        ),
        join3(
            scope.read(EBS_ENCRYPTION_DEFAULT, ec2::ebs_encryption_default(scope)),
            scope.read(VPC, ec2::vpcs(scope)),
            scope.read(NETWORK_ACL_ENTRY, ec2::network_acl_entries(scope)),
        ),
        join(
            join(
                scope.read(CONFIG_RECORDERS, awsconfig::recorders(scope)),
                scope.read(EFS_FILE_SYSTEM, efs::file_systems(scope)),
            ),
            join(
                scope.read(ACCESS_ANALYZERS, accessanalyzer::analyzers(scope)),
                scope.read(SECURITY_HUB, securityhub::hub(scope)),
            ),
        ),
    ))
    .await;
}

/// Emits the `collection_summary` of `scope`: what was read and what could
/// not be. False once nobody reads any more.
fn summary(scope: Scope<'_>, expected: &[&str]) -> bool {
    let collected = scope.run.take_collected(&scope.account.id, scope.region);
    let label = format!("Account {} {}", scope.account.id, scope.region);
    let record = scope
        .record("collection_summary")
        .reference(format!("{}/{}", scope.account.id, scope.region))
        .ext("read_via", scope.account.via.as_str())
        .ext_extend(collected.summarise(&label, expected))
        .ext_extend(scope.run.shard_fields());
    let raw = json!({"AccountId": scope.account.id, "Region": scope.region});
    scope.emit(&raw, &record)
}
