//! `awscloud` and its checks against moto's server (tests/support/aws_server.py):
//! two accounts (the second reached by assuming a role), two regions, a
//! problem of every kind and its compliant twin, lists paged by a proxy,
//! denied and throttled calls.

mod common;

use common::python::{self, Server};
use common::{automated_statuses, of_type, Run, Sandbox};
use serde_json::Value;
use std::collections::BTreeSet;

/// The secret access key of the tests' credentials: never in any output.
const SECRET: &str = "aws-secret-key-that-must-never-be-logged";
const A: &str = "123456789012";
const B: &str = "111111111111";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
/// S3 Control addresses `<account>.<endpoint host>`: these names resolve
/// to the proxy inside the run's own mount namespace.
const HOSTS: &str =
    "127.0.0.1 localhost\n127.0.0.1 123456789012.localhost\n127.0.0.1 111111111111.localhost\n";

/// The checks of `awscloud` records.
const CHECKS: [&str; 11] = [
    "awss3bucketpublicevent",
    "awsebsvolumeencryptionevent",
    "awsiamrootmfaevent",
    "awsiamrootaccesskeyevent",
    "awsiamusermfaevent",
    "awsiamaccesskeyrotationevent",
    "awsiampasswordpolicyevent",
    "awscloudtrailmultiregionevent",
    "awsrdspublicaccessevent",
    "awsrdsencryptionevent",
    "awskmskeyrotationevent",
];

/// moto behind the proxy, and the log of what the proxy answered.
type Aws = common::Logged<Server>;

impl Aws {
    /// moto with the test estate, behind the proxy with `extra` options.
    fn start(sb: &Sandbox, extra: &[&str]) -> Self {
        let mut args = vec!["--estate"];
        args.extend_from_slice(extra);
        Self::with_log(sb, |log| python::aws_server(log, &args))
    }

    fn endpoint(&self) -> String {
        format!("http://localhost:{}", self.server.port)
    }

    /// The operations the proxy answered: (operation, start, end).
    fn requests(&self) -> Vec<(String, f64, f64)> {
        common::timed_requests(&self.log, "op")
    }

    fn count(&self, op: &str) -> usize {
        self.requests().iter().filter(|r| r.0 == op).count()
    }
}

/// `aws.yaml`: audit `awsaudit` of both accounts (through roles) in both
/// regions, with every AWS check and `firewallruleevent`; `extra` params
/// for `awscloud`.
fn config(sb: &Sandbox, aws: &Aws, extra: &str) {
    let mut yaml = format!(
        "plugins:\n  awscloud:\n    plugin: awscloud\n    params:\n      endpoint_url: {}\n      regions: [us-east-1, eu-west-1]\n      role_arns: [\"arn:aws:iam::{A}:role/audit\", \"arn:aws:iam::{B}:role/audit\"]\n      max_concurrency: 3\n      timeout: 20\n{extra}",
        aws.endpoint()
    );
    for check in CHECKS {
        yaml.push_str(&format!("  {check}:\n    plugin: {check}\n"));
    }
    yaml.push_str(
        "  awsrules:\n    plugin: rulesevent\n    params: {include: [\"aws_*\", \"firewall_*\"]}\n",
    );
    yaml.push_str(&format!(
        "audits:\n  awsaudit:\n    clouds: [awscloud]\n    stores: [filestore]\n    events: [firewallruleevent, awsrules, {}]\n    alerts: [filestore]\nrun: [awsaudit]\n",
        CHECKS.join(", ")
    ));
    sb.file("aws.yaml", &yaml);
}

/// Runs `args` with the tests' credentials in the environment only.
fn cloudmarker(sb: &Sandbox, args: &[&str]) -> Run {
    cloudmarker_with_hosts(sb, HOSTS, args)
}

/// Runs `args` (see [`cloudmarker`]) with `hosts` as `/etc/hosts`.
fn cloudmarker_with_hosts(sb: &Sandbox, hosts: &str, args: &[&str]) -> Run {
    let missing = sb.path().join("no-such-file");
    let missing = missing.to_str().unwrap();
    sb.run_with_hosts(
        hosts,
        args,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIATESTKEYFORMOTO"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_CONFIG_FILE", missing),
            ("AWS_SHARED_CREDENTIALS_FILE", missing),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_PROFILE", "default"),
        ],
    )
}

fn audit(sb: &Sandbox) -> Run {
    cloudmarker(sb, &["-n", "-c", "sandbox.yaml", "aws.yaml"])
}

/// The `com.reference`s of the events a check wrote (none: no file).
fn flagged(sb: &Sandbox, check: &str) -> BTreeSet<String> {
    let path = sb.out().join(format!("awsaudit_{check}.json"));
    if !path.exists() {
        return BTreeSet::new();
    }
    sb.records(&format!("awsaudit_{check}.json"))
        .iter()
        .map(|e| e["com"]["reference"].as_str().unwrap().to_string())
        .collect()
}

/// The `com.reference`s of the events the rule `rule` raised (through the
/// `awsrules` rulesevent).
fn fired(sb: &Sandbox, rule: &str) -> BTreeSet<String> {
    let path = sb.out().join("awsaudit_awsrules.json");
    if !path.exists() {
        return BTreeSet::new();
    }
    sb.records("awsaudit_awsrules.json")
        .iter()
        .filter(|e| e["com"]["check"] == rule)
        .map(|e| e["com"]["reference"].as_str().unwrap().to_string())
        .collect()
}

/// The ingress allow-all entries of the default network ACLs (one per
/// VPC): open to SSH and RDP from anywhere.
fn default_acl_ingress(all: &[Value]) -> BTreeSet<String> {
    references(all, "network_acl_entry", |e| {
        e["raw"]["IsDefault"] == true
            && e["raw"]["Egress"] == false
            && e["raw"]["RuleAction"] == "allow"
    })
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

/// The references of `records` of `record_type` that `pick` selects.
fn references(
    records: &[Value],
    record_type: &str,
    pick: impl Fn(&Value) -> bool,
) -> BTreeSet<String> {
    of_type(records, record_type)
        .into_iter()
        .filter(|r| pick(r))
        .map(|r| r["com"]["reference"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_accounts_and_two_regions_raise_exactly_the_expected_events() {
    let sb = Sandbox::new();
    let aws = Aws::start(&sb, &["--page-size", "2"]);
    config(&sb, &aws, "");
    let run = audit(&sb);
    run.assert_status(0);
    let all = sb.records("awsaudit_awscloud.json");

    // One summary per account and region, all complete.
    let summaries = of_type(&all, "collection_summary");
    let scopes: BTreeSet<(String, String)> = summaries
        .iter()
        .map(|s| {
            assert_eq!(s["ext"]["complete"], true, "{s}");
            (
                s["ext"]["account_id"].as_str().unwrap().to_string(),
                s["ext"]["region"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [A, B]
        .iter()
        .flat_map(|a| ["global", REGIONS[0], REGIONS[1]].map(|r| (a.to_string(), r.to_string())))
        .collect();
    assert_eq!(scopes, expected);
    for record in &all {
        assert_eq!(record["ext"]["cloud_type"], "aws");
        assert_eq!(record["com"]["cloud_type"], "aws");
        assert!(record["ext"]["account_id"].is_string() && record["ext"]["region"].is_string());
    }
    let summary = |account: &str, region: &str| {
        summaries
            .iter()
            .find(|s| s["ext"]["account_id"] == account && s["ext"]["region"] == region)
            .unwrap()["ext"]["collected"]
            .clone()
    };
    // Each region of account A: 3 instances, 3 volumes + 3 root volumes,
    // 2 databases, 3 groups + the default one (and in us-east-1 the
    // default group of a second VPC); read over pages of 2.
    for region in REGIONS {
        let collected = summary(A, region);
        assert_eq!(collected["ec2_instance"], 3, "{collected}");
        assert_eq!(collected["ebs_volume"], 6, "{collected}");
        assert_eq!(collected["rds_instance"], 2, "{collected}");
        let vpcs = if region == "us-east-1" { 2 } else { 1 };
        assert_eq!(collected["security_group"], 3 + vpcs, "{collected}");
        assert_eq!(collected["vpc"], vpcs, "{collected}");
        assert_eq!(collected["ebs_encryption_default"], 1, "{collected}");
    }
    assert_eq!(summary(A, "global")["iam_user"], 4);
    assert_eq!(summary(A, "global")["s3_bucket"], 5);
    assert_eq!(
        aws.count("DescribeVolumes"),
        2 * 3 + 2,
        "account A's 6 volumes in pages of 2 in each region; account B's none"
    );
    assert_eq!(
        aws.count("ListUsers"),
        2 + 1,
        "4 users in pages of 2, and none"
    );

    // The security groups' rules in the common model; the IPv6 one too.
    let rules = of_type(&all, "security_group_rule");
    let v6 = rules
        .iter()
        .find(|r| r["com"]["source_addresses"][0] == "::/0")
        .expect("the IPv6 rule");
    assert_eq!(v6["com"]["record_type"], "firewall_rule");
    assert_eq!(v6["com"]["protocol"], "tcp");
    assert_eq!(v6["com"]["destination_ports"], serde_json::json!(["3389"]));
    assert_eq!(v6["com"]["direction"], "in");

    // firewallruleevent finds the open SSH (IPv4) and RDP (IPv6) rules of
    // both regions, not the one open to 10.0.0.0/8; and the allow-all
    // ingress entries of the default network ACLs.
    let groups = of_type(&all, "security_group");
    let group_of = |name: &str| -> BTreeSet<String> {
        groups
            .iter()
            .filter(|g| g["ext"]["group_name"] == name)
            .map(|g| g["ext"]["group_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (open, v6_open) = (group_of("open-ssh"), group_of("open-rdp-v6"));
    let open_rules = references(&all, "security_group_rule", |r| {
        let group = r["ext"]["group_id"].as_str().unwrap();
        r["raw"]["IsEgress"] == false && (open.contains(group) || v6_open.contains(group))
    });
    assert_eq!(open_rules.len(), 4);
    let open_acl_entries = default_acl_ingress(&all);
    assert_eq!(open_acl_entries.len(), 5, "a default ACL per VPC");
    assert_eq!(
        flagged(&sb, "firewallruleevent"),
        &open_rules | &open_acl_entries
    );

    let bucket = |name: &str| format!("arn:aws:s3:::{name}");
    assert_eq!(
        flagged(&sb, "awss3bucketpublicevent"),
        set(&[bucket("public-by-acl"), bucket("public-by-policy")]),
        "saved-by-block is public by ACL but its block ignores it"
    );
    let saved = of_type(&all, "s3_bucket")
        .into_iter()
        .find(|b| b["ext"]["bucket"] == "saved-by-block")
        .unwrap();
    assert_eq!(
        saved["ext"]["public_acl_grants"],
        serde_json::json!(["AllUsers:READ"])
    );
    let by_policy = of_type(&all, "s3_bucket")
        .into_iter()
        .find(|b| b["ext"]["bucket"] == "public-by-policy")
        .unwrap();
    assert_eq!(by_policy["ext"]["bucket_region"], "eu-west-1");
    let private = of_type(&all, "s3_bucket")
        .into_iter()
        .find(|b| b["ext"]["bucket"] == "private-versioned")
        .unwrap();
    assert_eq!(private["ext"]["default_encryption"], "AES256");
    assert_eq!(private["ext"]["versioning"], "Enabled");

    let unencrypted = references(&all, "ebs_volume", |v| v["ext"]["encrypted"] == false);
    assert_eq!(
        unencrypted.len(),
        2 * (1 + 3),
        "one made so, and the instances' root volumes"
    );
    assert_eq!(flagged(&sb, "awsebsvolumeencryptionevent"), unencrypted);

    let root = |account: &str| format!("arn:aws:iam::{account}:root");
    for check in [
        "awsiamrootmfaevent",
        "awsiamrootaccesskeyevent",
        "awsiampasswordpolicyevent",
        "awscloudtrailmultiregionevent",
    ] {
        assert_eq!(
            flagged(&sb, check),
            set(&[root(A)]),
            "{check}: account B is the compliant twin"
        );
    }
    let user = |name: &str| format!("arn:aws:iam::{A}:user/{name}");
    assert_eq!(
        flagged(&sb, "awsiamusermfaevent"),
        set(&[user("alice")]),
        "bob has MFA, carol no password"
    );
    assert_eq!(
        flagged(&sb, "awsiamaccesskeyrotationevent"),
        set(&[user("service")]),
        "carol's key is new"
    );

    let db = |region: &str, name: &str| format!("arn:aws:rds:{region}:{A}:db:{name}");
    let open_dbs = set(&[db(REGIONS[0], "db-open"), db(REGIONS[1], "db-open")]);
    assert_eq!(flagged(&sb, "awsrdspublicaccessevent"), open_dbs);
    assert_eq!(flagged(&sb, "awsrdsencryptionevent"), open_dbs);

    let not_rotated = references(&all, "kms_key", |k| k["ext"]["rotation_enabled"] == false);
    let rotated = references(&all, "kms_key", |k| k["raw"]["Description"] == "rotated");
    assert_eq!(rotated.len(), 2);
    assert_eq!(flagged(&sb, "awskmskeyrotationevent"), not_rotated);
    assert!(not_rotated.is_disjoint(&rotated));

    // Every event names the account and says how to fix it.
    for check in CHECKS {
        let path = sb.out().join(format!("awsaudit_{check}.json"));
        for event in sb.records(path.file_name().unwrap().to_str().unwrap()) {
            let text = event["com"]["description"].as_str().unwrap();
            assert!(text.contains(A), "{check}: {text}");
            assert!(!event["com"]["recommendation"].as_str().unwrap().is_empty());
        }
    }

    // The concurrency bound holds across accounts, regions and services.
    let most = common::most_at_once(&aws.requests());
    assert!(most <= 3, "{most} requests at once, max_concurrency 3");

    let output = format!("{}{}", run.output(), sb.log());
    assert!(!output.contains(SECRET), "the secret key was logged");
}

#[test]
fn a_denied_call_is_summarised_and_throttling_is_retried() {
    let sb = Sandbox::new();
    let aws = Aws::start(
        &sb,
        &[
            "--fail",
            "DescribeVolumes=403:UnauthorizedOperation",
            "--fail",
            "ListUsers=400:Throttlingx2",
            "--fail",
            "DescribeSecurityGroupRules=503:RequestLimitExceededx1",
            "--fail",
            "ListKeys=400:ThrottlingExceptionx1",
            "--fail",
            "GetBucketAcl=503:SlowDownx1",
        ],
    );
    config(&sb, &aws, "");
    let run = audit(&sb);
    assert_eq!(
        run.status,
        Some(1),
        "a partial read is a failure: {}",
        run.output()
    );
    run.assert_says("could NOT read ebs_volume");
    let all = sb.records("awsaudit_awscloud.json");
    for summary in of_type(&all, "collection_summary") {
        let ext = &summary["ext"];
        if ext["region"] == "global" {
            assert_eq!(ext["complete"], true, "throttled calls were retried: {ext}");
            continue;
        }
        assert_eq!(ext["complete"], false, "{ext}");
        let why = ext["failed"]["ebs_volume"].as_str().unwrap();
        assert!(why.contains("UnauthorizedOperation: Injected"), "{why}");
        assert_eq!(ext["failed"].as_object().unwrap().len(), 1, "{ext}");
    }
    assert!(of_type(&all, "ebs_volume").is_empty());
    assert_eq!(of_type(&all, "iam_user").len(), 4);
    assert_eq!(of_type(&all, "ec2_instance").len(), 6);
    assert_eq!(of_type(&all, "s3_bucket").len(), 5 + 1);
    assert_eq!(
        aws.count("ListUsers"),
        2 + 2,
        "two throttled answers, then one list per account"
    );
    assert_eq!(flagged(&sb, "awss3bucketpublicevent").len(), 2);
    assert_eq!(flagged(&sb, "firewallruleevent").len(), 4 + 5);
}

#[test]
fn an_account_that_cannot_be_reached_leaves_the_other_read() {
    let sb = Sandbox::new();
    // AssumeRole answers AccessDenied once: for the first account asked.
    let aws = Aws::start(&sb, &["--fail", "AssumeRole=403:AccessDeniedx1"]);
    config(&sb, &aws, "");
    let run = audit(&sb);
    run.assert_status(1);
    run.assert_says(&format!("role arn:aws:iam::{A}:role/audit: cannot sign in"));
    run.assert_says("AccessDenied");
    run.assert_says("Injected AccessDenied for AssumeRole");
    let all = sb.records("awsaudit_awscloud.json");
    let read: BTreeSet<String> = of_type(&all, "account")
        .iter()
        .map(|r| r["ext"]["account_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(read, set(&[B.to_string()]), "the other account is read");
    // The unreachable one is named in a summary of its own, nothing read.
    let of_a: Vec<&Value> = all.iter().filter(|r| r["ext"]["account_id"] == A).collect();
    assert_eq!(of_a.len(), 1, "{of_a:?}");
    let ext = &of_a[0]["ext"];
    assert_eq!(ext["record_type"], "collection_summary");
    assert_eq!(ext["complete"], false);
    assert!(
        ext["failed"]["account"]
            .as_str()
            .unwrap()
            .contains("Injected AccessDenied for AssumeRole"),
        "{ext}"
    );
    assert!(!run.output().contains(SECRET));
}

#[test]
fn validate_connect_signs_in_and_an_unreachable_endpoint_fails_fast() {
    let sb = Sandbox::new();
    let aws = Aws::start(&sb, &[]);
    config(&sb, &aws, "");
    let run = cloudmarker(
        &sb,
        &["validate", "--connect", "-c", "sandbox.yaml", "aws.yaml"],
    );
    run.assert_status(0);
    run.assert_says(&format!(
        "signed in to account {A} (role arn:aws:iam::{A}:role/audit), account {B}"
    ));
    assert_eq!(
        aws.count("DescribeVolumes"),
        0,
        "a health check reads nothing"
    );

    let closed = python::free_port();
    let dead = sb.file(
        "dead.yaml",
        &format!("plugins:\n  awscloud:\n    params:\n      endpoint_url: http://localhost:{closed}\n      role_arns: []\n      timeout: 2\n      max_retries: 1\n"),
    );
    let started = std::time::Instant::now();
    let run = cloudmarker(
        &sb,
        &[
            "validate",
            "--connect",
            "-c",
            "sandbox.yaml",
            "aws.yaml",
            dead.to_str().unwrap(),
        ],
    );
    run.assert_status(1);
    run.assert_says("default credentials: cannot sign in");
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    assert!(!run.output().contains(SECRET));
}

#[test]
fn bad_params_name_the_param() {
    let sb = Sandbox::new();
    sb.file(
        "bad.yaml",
        "plugins:\n  awscloud:\n    plugin: awscloud\n    params:\n      role_arn: audit\naudits:\n  a:\n    clouds: [awscloud]\n    stores: [filestore]\nrun: [a]\n",
    );
    let run = sb.run_now(&["bad.yaml"]);
    run.assert_status(1);
    run.assert_says("awscloud: \"audit\" is not a role ARN");
}

/// What was read: `(account, record_type, reference)` of each record.
type Read = BTreeSet<(String, String, String)>;

/// What `awscloud` wrote in `out`, and the accounts whose `account` record
/// it holds.
fn read_in(out: &std::path::Path) -> (Read, BTreeSet<String>) {
    let records = common::records_at(&out.join("awsaudit_awscloud.json"));
    let read = records
        .iter()
        .map(|r| {
            (
                r["ext"]["account_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["ext"]["record_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["com"]["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let accounts = of_type(&records, "account")
        .iter()
        .map(|r| r["ext"]["account_id"].as_str().unwrap().to_string())
        .collect();
    (read, accounts)
}

/// Runs shards 0/2 and 1/2 of `aws.yaml` plus `more` config files; returns
/// what each read.
fn two_shards(sb: &Sandbox, more: &[&str], name: &str) -> Vec<(Read, BTreeSet<String>)> {
    (0..2)
        .map(|index| {
            let out = sb.path().join(format!("{name}-{index}"));
            sb.file(
                "out.yaml",
                &format!(
                    "plugins:\n  filestore:\n    params: {{path: \"{}\"}}\n",
                    out.display()
                ),
            );
            let shard = format!("{index}/2");
            let mut args = vec!["-n", "--shard", &shard, "-c", "sandbox.yaml", "aws.yaml"];
            args.extend_from_slice(more);
            args.push("out.yaml");
            let run = cloudmarker(sb, &args);
            run.assert_status(0);
            read_in(&out)
        })
        .collect()
}

#[test]
fn shards_divide_the_accounts_or_the_regions_of_one_account() {
    use cloudmarker_plugin_api::sdk::shard::Shard;
    let sb = Sandbox::new();
    let aws = Aws::start(&sb, &[]);
    config(&sb, &aws, "");
    let run = audit(&sb);
    run.assert_status(0);
    let (everything, accounts) = read_in(&sb.out());
    assert_eq!(accounts, set(&[A.to_string(), B.to_string()]));

    // Two accounts: each shard reads the accounts that hash to it.
    let shards = two_shards(&sb, &[], "accounts");
    for (index, (_, accounts)) in shards.iter().enumerate() {
        let expected: Vec<String> = [A, B]
            .iter()
            .filter(|id| Shard::of(id, 2) == index as u32)
            .map(|id| id.to_string())
            .collect();
        assert_eq!(*accounts, set(&expected), "shard {index}");
    }
    let union: BTreeSet<_> = shards.iter().flat_map(|s| s.0.iter().cloned()).collect();
    assert_eq!(union, everything, "the shards together read everything");
    assert!(shards[0].0.is_disjoint(&shards[1].0), "nothing read twice");

    // One account: its regions are divided, the account-wide services
    // read on the shard that takes the account.
    sb.file(
        "one.yaml",
        &format!("plugins:\n  awscloud:\n    params:\n      role_arns: [\"arn:aws:iam::{A}:role/audit\"]\n"),
    );
    let shards = two_shards(&sb, &["one.yaml"], "regions");
    for (index, (read, accounts)) in shards.iter().enumerate() {
        let takes_account = Shard::of(A, 2) == index as u32;
        assert_eq!(accounts.contains(A), takes_account, "shard {index}");
        for region in REGIONS {
            let summary = (
                A.to_string(),
                "collection_summary".to_string(),
                format!("{A}/{region}"),
            );
            assert_eq!(
                read.contains(&summary),
                Shard::of(&format!("{A}/{region}"), 2) == index as u32,
                "shard {index}, {region}"
            );
        }
    }
    let union: BTreeSet<_> = shards.iter().flat_map(|s| s.0.iter().cloned()).collect();
    let of_a: BTreeSet<_> = everything
        .iter()
        .filter(|(account, _, _)| account == A)
        .cloned()
        .collect();
    assert_eq!(union, of_a, "the shards together read the one account");
}

/// The regional summaries (`(account, region)` → `ext`).
fn regional_summaries(all: &[Value]) -> Vec<&Value> {
    of_type(all, "collection_summary")
        .into_iter()
        .map(|s| &s["ext"])
        .filter(|ext| ext["region"] != "global")
        .collect()
}

#[test]
fn ec2_lists_are_read_a_page_at_a_time_and_retries_run_out_with_the_services_error() {
    let sb = Sandbox::new();
    let aws = Aws::start(
        &sb,
        &[
            "--page-size",
            "1",
            "--fail",
            "DescribeVolumes=503:RequestLimitExceeded",
            "--fail",
            "DescribeInstances=500:InternalErrorx1",
        ],
    );
    config(&sb, &aws, "      max_retries: 2\n");
    let run = audit(&sb);
    run.assert_status(1);
    let all = sb.records("awsaudit_awscloud.json");
    let summaries = regional_summaries(&all);
    assert_eq!(summaries.len(), 4);
    for ext in summaries {
        assert_eq!(ext["complete"], false, "{ext}");
        assert_eq!(
            ext["failed"],
            serde_json::json!({"ebs_volume": "RequestLimitExceeded: Injected RequestLimitExceeded for DescribeVolumes"}),
            "{ext}"
        );
    }
    assert_eq!(
        aws.count("DescribeVolumes"),
        4 * 3,
        "max_retries 2: three attempts in each account and region"
    );
    // The 500 was retried; each region's reservation is one page.
    assert_eq!(of_type(&all, "ec2_instance").len(), 6);
    assert_eq!(aws.count("DescribeInstances"), 4 + 1);
    // Account A's 4 groups and 7 rules in each region (and the emptied
    // default group of its second VPC in us-east-1), B's default group and
    // its rule, one page each.
    assert_eq!(of_type(&all, "security_group").len(), 2 * 4 + 1 + 2);
    assert_eq!(aws.count("DescribeSecurityGroups"), 2 * 4 + 1 + 2);
    assert_eq!(of_type(&all, "security_group_rule").len(), 2 * 7 + 2);
    assert_eq!(aws.count("DescribeSecurityGroupRules"), 2 * 7 + 2);
    assert_eq!(flagged(&sb, "firewallruleevent").len(), 4 + 5);
    assert!(!run.output().contains(SECRET));
}

#[test]
fn without_regions_the_enabled_ones_are_read_and_a_denied_list_is_summarised() {
    let sb = Sandbox::new();
    let aws = Aws::start(
        &sb,
        &["--fail", "DescribeRegions=403:UnauthorizedOperationx1"],
    );
    config(&sb, &aws, "");
    sb.file(
        "all-regions.yaml",
        &format!("plugins:\n  awscloud:\n    params:\n      regions: []\n      role_arns: [\"arn:aws:iam::{A}:role/audit\"]\n"),
    );
    let args = ["-n", "-c", "sandbox.yaml", "aws.yaml", "all-regions.yaml"];

    // The first DescribeRegions is denied: no region is read.
    let run = cloudmarker(&sb, &args);
    run.assert_status(1);
    let all = sb.records("awsaudit_awscloud.json");
    let global = &of_type(&all, "collection_summary")[0]["ext"];
    assert_eq!(global["region"], "global");
    assert_eq!(
        global["failed"]["regions"],
        "cannot list the regions: UnauthorizedOperation: Injected UnauthorizedOperation for DescribeRegions"
    );
    assert!(regional_summaries(&all).is_empty());

    // Then every region moto enables is read.
    let run = cloudmarker(&sb, &args);
    run.assert_status(0);
    let all = sb.records("awsaudit_awscloud.json");
    let account = of_type(&all, "account")[0];
    let regions: Vec<&str> = account["raw"]["Regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(regions.len() > 2, "{regions:?}");
    assert!(
        regions.windows(2).all(|w| w[0] < w[1]),
        "sorted: {regions:?}"
    );
    assert!(REGIONS.iter().all(|r| regions.contains(r)), "{regions:?}");
    let read: BTreeSet<&str> = regional_summaries(&all)
        .iter()
        .map(|ext| ext["region"].as_str().unwrap())
        .collect();
    assert_eq!(read, regions.iter().copied().collect());
    assert_eq!(aws.count("DescribeRegions"), 2);
    assert_eq!(of_type(&all, "ec2_instance").len(), 6);
}

/// The ARN-like reference of a per-region setting.
fn regional(service: &str, account: &str, region: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{region}:{account}:{resource}")
}

/// `resource` of `service` in every account and region but `(A,
/// us-east-1)`, where the estate turns the setting on.
fn all_but_a_us_east_1(service: &str, resource: &str) -> BTreeSet<String> {
    [A, B]
        .iter()
        .flat_map(|a| REGIONS.map(|r| (a.to_string(), r)))
        .filter(|(a, r)| !(a == A && *r == "us-east-1"))
        .map(|(a, r)| regional(service, &a, r, resource))
        .collect()
}

/// The CIS AWS 7.0.0 rules over the estate (tests/support/aws_server.py,
/// `create_cis_estate`), every list read a page of one at a time: each
/// rule fires on the resource made to fail it and stays silent on its
/// compliant twin; the compliance report evaluates the requirements.
#[test]
fn the_cis_rules_fire_on_their_crafted_resources_and_not_on_the_twins() {
    let sb = Sandbox::new();
    let aws = Aws::start(&sb, &["--page-size", "1"]);
    config(&sb, &aws, "");
    let run = audit(&sb);
    run.assert_status(0);
    let all = sb.records("awsaudit_awscloud.json");
    let fired = |rule: &str| fired(&sb, rule);
    let root = |account: &str| format!("arn:aws:iam::{account}:root");
    let user = |name: &str| format!("arn:aws:iam::{A}:user/{name}");

    // Per region: EBS encryption by default, AWS Config, Security Hub are
    // on in A's us-east-1 only; Access Analyzer (a recorded answer) in
    // every us-east-1.
    assert_eq!(of_type(&all, "ebs_encryption_default").len(), 4);
    assert_eq!(
        fired("aws_ec2_ebs_encryption_by_default_disabled"),
        all_but_a_us_east_1("ec2", "ebs-encryption-by-default")
    );
    assert_eq!(of_type(&all, "config_recorders").len(), 4);
    assert_eq!(
        fired("aws_config_not_recording"),
        all_but_a_us_east_1("config", "configuration-recorders")
    );
    assert_eq!(of_type(&all, "security_hub").len(), 4);
    assert_eq!(
        fired("aws_securityhub_disabled"),
        all_but_a_us_east_1("securityhub", "hub/default")
    );
    assert_eq!(of_type(&all, "access_analyzers").len(), 4);
    assert_eq!(
        fired("aws_iam_access_analyzer_disabled"),
        [A, B]
            .iter()
            .map(|a| regional("access-analyzer", a, "eu-west-1", "analyzers"))
            .collect()
    );
    let analyzers = references(&all, "access_analyzers", |r| {
        r["ext"]["external_access_active"] == 1
            && r["ext"]["analyzers"].as_array().unwrap().len() == 2
    });
    assert_eq!(analyzers.len(), 2, "both analyzers read over two pages");

    // VPCs: the second VPC of A logs rejected traffic, the default ones
    // nothing.
    let logged = references(&all, "vpc", |v| v["raw"]["CidrBlock"] == "10.9.0.0/16");
    assert_eq!(logged.len(), 1);
    let unlogged = references(&all, "vpc", |v| v["raw"]["CidrBlock"] != "10.9.0.0/16");
    assert_eq!(unlogged.len(), 4);
    assert_eq!(fired("aws_ec2_vpc_flow_logs_disabled"), unlogged);

    // Network ACLs: the default ones let everything in; the second VPC's
    // own ACL only HTTPS from anywhere and SSH from 10.0.0.0/8.
    let custom = references(&all, "network_acl_entry", |e| {
        e["raw"]["IsDefault"] == false
    });
    assert_eq!(custom.len(), 2);
    let open = default_acl_ingress(&all);
    assert_eq!(fired("aws_ec2_network_acl_admin_ports_open"), open);
    assert!(open.is_disjoint(&custom));
    // The common firewall rules see them as they see security group rules.
    for rule in [
        "firewall_ssh_open_to_internet",
        "firewall_rdp_open_to_internet",
    ] {
        let acl_entries: BTreeSet<String> = fired(rule)
            .into_iter()
            .filter(|r| r.contains(":network-acl/"))
            .collect();
        assert_eq!(acl_entries, open, "{rule}");
    }

    // Default security groups: all keep their outbound rule but the
    // second VPC's, emptied.
    let second_vpc = of_type(&all, "vpc")
        .into_iter()
        .find(|v| v["raw"]["CidrBlock"] == "10.9.0.0/16")
        .unwrap()["ext"]["vpc_id"]
        .clone();
    let defaults = references(&all, "security_group", |g| g["ext"]["is_default"] == true);
    let emptied = references(&all, "security_group", |g| {
        g["ext"]["is_default"] == true && g["ext"]["vpc_id"] == second_vpc
    });
    assert_eq!((defaults.len(), emptied.len()), (5, 1));
    assert_eq!(
        fired("aws_ec2_default_security_group_allows_traffic"),
        &defaults - &emptied
    );

    // RDS: db-open takes no minor upgrades, db-closed does.
    let db = |region: &str, name: &str| format!("arn:aws:rds:{region}:{A}:db:{name}");
    assert_eq!(
        fired("aws_rds_instance_auto_minor_upgrade_disabled"),
        set(&[db(REGIONS[0], "db-open"), db(REGIONS[1], "db-open")])
    );

    // S3: only private-versioned's policy denies plain HTTP.
    let buckets = references(&all, "s3_bucket", |_| true);
    let tls_only = set(&["arn:aws:s3:::private-versioned".to_string()]);
    assert_eq!(buckets.len(), 5 + 1);
    assert_eq!(
        fired("aws_s3_bucket_policy_allows_http"),
        &buckets - &tls_only
    );

    // EFS: the plain file system of A's us-east-1, not the encrypted one.
    let plain = references(&all, "efs_file_system", |f| {
        f["raw"]["CreationToken"] == "plain"
    });
    assert_eq!(plain.len(), 1);
    assert_eq!(of_type(&all, "efs_file_system").len(), 2);
    assert_eq!(fired("aws_efs_file_system_unencrypted"), plain);

    // CloudTrail S3 data events and the support role: account B is the
    // twin (A's trail records them but covers one region).
    for rule in [
        "aws_cloudtrail_s3_write_events_not_logged",
        "aws_cloudtrail_s3_read_events_not_logged",
        "aws_iam_no_support_role",
    ] {
        assert_eq!(fired(rule), set(&[root(A)]), "{rule}");
    }
    let one_region = of_type(&all, "cloudtrail_trail")
        .into_iter()
        .find(|t| t["raw"]["Name"] == "one-region")
        .unwrap();
    assert_eq!(one_region["ext"]["s3_data_events_write"], true);
    assert_eq!(one_region["ext"]["s3_data_events_read"], true);

    // IAM users: alice's password idle 100 days and service's key 200 days
    // (bob and carol are new); carol has a policy of her own.
    assert_eq!(
        fired("aws_iam_credentials_unused"),
        set(&[user("alice"), user("service")])
    );
    assert_eq!(
        fired("aws_iam_user_has_own_policies"),
        set(&[user("carol")])
    );
    // Attached policies: full-admin (on a group) grants everything;
    // s3-read and AWSSupportAccess do not.
    assert_eq!(
        fired("aws_iam_policy_full_admin_attached"),
        set(&[format!("arn:aws:iam::{A}:policy/full-admin")])
    );
    let policies = references(&all, "iam_policy", |_| true);
    assert!(
        policies.contains(&format!("arn:aws:iam::{A}:policy/s3-read")),
        "{policies:?}"
    );
    assert!(
        policies.contains("arn:aws:iam::aws:policy/AWSSupportAccess"),
        "{policies:?}"
    );
    // Server certificates: the expired one, not the valid one.
    let certificate = |name: &str| format!("arn:aws:iam::{A}:server-certificate/{name}");
    assert_eq!(of_type(&all, "iam_server_certificate").len(), 2);
    assert_eq!(
        fired("aws_iam_server_certificate_expired"),
        set(&[certificate("expired-site")])
    );

    // The new lists were paged (pages of one).
    for (op, at_least) in [
        ("DescribeVpcs", 2),
        ("DescribeNetworkAcls", 2),
        ("ListServerCertificates", 2),
        ("ListAnalyzers", 2 * 2),
        ("DescribeFileSystems", 4),
    ] {
        assert!(aws.count(op) > at_least, "{op}: {}", aws.count(op));
    }

    // The compliance report evaluates every automated requirement.
    let args = common::compliance_json_args("cis_aws_7.0.0", &["sandbox.yaml", "aws.yaml"]);
    let report = cloudmarker(&sb, &args);
    let (statuses, evaluated) = automated_statuses(&report);
    // Every automated requirement: the estate has a record for each.
    assert_eq!(statuses.len(), 34);
    assert_eq!(
        evaluated.len(),
        34,
        "{} evaluated: {statuses:?}",
        evaluated.len()
    );
}

/// A denied call to a new service is that service's failed read in its
/// region (its rules not evaluated there), throttling is retried, and the
/// rest is read.
#[test]
fn a_denied_call_to_a_new_service_leaves_its_rules_not_evaluated() {
    let sb = Sandbox::new();
    let aws = Aws::start(
        &sb,
        &[
            "--fail",
            "ListAnalyzers=403:AccessDeniedException",
            "--fail",
            "DescribeConfigurationRecorders=400:ThrottlingExceptionx1",
            "--fail",
            "DescribeHub=429:TooManyRequestsExceptionx1",
            "--fail",
            "DescribeFileSystems=403:AccessDeniedx1",
        ],
    );
    config(&sb, &aws, "");
    let run = audit(&sb);
    run.assert_status(1);
    run.assert_says("could NOT read access_analyzers");
    let all = sb.records("awsaudit_awscloud.json");
    let summaries = regional_summaries(&all);
    assert_eq!(summaries.len(), 4);
    let mut efs_denied = 0;
    for ext in summaries {
        let failed = ext["failed"].as_object().unwrap();
        let why = failed["access_analyzers"].as_str().unwrap();
        assert!(why.contains("AccessDeniedException: Injected"), "{why}");
        if let Some(why) = failed.get("efs_file_system") {
            assert!(why.as_str().unwrap().contains("AccessDenied"), "{why}");
            efs_denied += 1;
        }
        assert!(failed.len() <= 2, "{ext}");
    }
    assert_eq!(efs_denied, 1, "one DescribeFileSystems was denied");
    assert!(of_type(&all, "access_analyzers").is_empty());
    assert!(fired(&sb, "aws_iam_access_analyzer_disabled").is_empty());
    // Retried after throttling: every region's recorders and hub are read.
    assert_eq!(of_type(&all, "config_recorders").len(), 4);
    assert_eq!(of_type(&all, "security_hub").len(), 4);
    assert_eq!(aws.count("DescribeConfigurationRecorders"), 4 + 1);
    assert_eq!(aws.count("DescribeHub"), 4 + 1);
    assert!(!run.output().contains(SECRET));
}

/// An organization (tests/support/aws_server.py, `create_organization`):
/// account A manages member-ok (with the role `audit`), member-norole
/// (without it) and member-suspended (closed). Every active account is
/// audited through `audit`, each its own scope; the suspended one is left
/// out; the one without the role is named in a summary of its own (nothing
/// read, its checks not evaluated) and the run goes on.
#[test]
fn an_organization_is_audited_account_by_account() {
    let sb = Sandbox::new();
    let org_file = sb.path().join("organization.json");
    let aws = Aws::start(
        &sb,
        &[
            "--page-size",
            "1",
            "--organization",
            org_file.to_str().unwrap(),
        ],
    );
    config(&sb, &aws, "");
    let org: Value = serde_json::from_str(&std::fs::read_to_string(&org_file).unwrap()).unwrap();
    let id = |name: &str| org["accounts"][name].as_str().unwrap().to_string();
    let (ok, norole, suspended) = (id("member-ok"), id("member-norole"), id("member-suspended"));
    // S3 Control of the members too.
    let hosts = format!("{HOSTS}127.0.0.1 {ok}.localhost\n127.0.0.1 {norole}.localhost\n");
    let cloudmarker = |sb: &Sandbox, args: &[&str]| cloudmarker_with_hosts(sb, &hosts, args);
    sb.file(
        "org.yaml",
        "plugins:\n  awscloud:\n    params:\n      role_arns: []\n      organization: {role_name: audit}\n",
    );
    let run = cloudmarker(&sb, &["-n", "-c", "sandbox.yaml", "aws.yaml", "org.yaml"]);
    run.assert_status(1);
    run.assert_says(&format!(
        "role arn:aws:iam::{norole}:role/audit: cannot sign in"
    ));
    run.assert_says(&format!("{suspended} (member-suspended): suspended"));
    assert!(aws.count("ListAccounts") >= 4, "4 accounts in pages of one");

    let all = sb.records("awsaudit_awscloud.json");
    let read: BTreeSet<String> = of_type(&all, "account")
        .iter()
        .map(|r| r["ext"]["account_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(read, set(&[A.to_string(), ok.clone()]));
    let summaries = |account: &str| -> Vec<&Value> {
        of_type(&all, "collection_summary")
            .into_iter()
            .filter(|s| s["ext"]["account_id"] == account)
            .collect()
    };
    assert!(
        summaries(&suspended).is_empty(),
        "a suspended account is not read"
    );
    let unreachable = summaries(&norole);
    assert_eq!(unreachable.len(), 1);
    let ext = &unreachable[0]["ext"];
    assert_eq!(ext["complete"], false);
    assert_eq!(ext["region"], "global");
    assert!(
        ext["failed"]["account"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{ext}"
    );
    assert!(all
        .iter()
        .filter(|r| r["ext"]["account_id"] == norole.as_str())
        .all(|r| r["ext"]["record_type"] == "collection_summary"));
    // The member's own scope: read completely, in both regions.
    let member = summaries(&ok);
    assert_eq!(member.len(), 3);
    assert!(member.iter().all(|s| s["ext"]["complete"] == true));
    assert!(fired(&sb, "aws_iam_no_support_role").contains(&format!("arn:aws:iam::{ok}:root")));
    assert!(!run.output().contains(SECRET));

    // exclude_accounts and include_ous: only the OU's accounts, less A.
    sb.file(
        "org.yaml",
        &format!("plugins:\n  awscloud:\n    params:\n      role_arns: []\n      organization: {{role_name: audit, exclude_accounts: [\"{A}\"], include_ous: [\"{}\"]}}\n", org["root"].as_str().unwrap()),
    );
    let run = cloudmarker(&sb, &["-n", "-c", "sandbox.yaml", "aws.yaml", "org.yaml"]);
    run.assert_status(1);
    run.assert_says(&format!("{A} ("));
    let all = sb.records("awsaudit_awscloud.json");
    let scopes: BTreeSet<String> = all
        .iter()
        .map(|r| r["ext"]["account_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(scopes, set(&[ok.clone(), norole.clone()]));

    sb.file(
        "org.yaml",
        &format!("plugins:\n  awscloud:\n    params:\n      role_arns: []\n      organization: {{role_name: audit, include_ous: [\"{}\"]}}\n", org["ou"].as_str().unwrap()),
    );
    let run = cloudmarker(&sb, &["-n", "-c", "sandbox.yaml", "aws.yaml", "org.yaml"]);
    run.assert_status(1);
    let all = sb.records("awsaudit_awscloud.json");
    let scopes: BTreeSet<String> = all
        .iter()
        .map(|r| r["ext"]["account_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        scopes,
        set(&[ok, norole]),
        "the OU holds the two members, not A"
    );
}
