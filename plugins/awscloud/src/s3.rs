//! S3: every bucket with what makes it public or not (the account's and
//! its own public access block, its policy status, its ACL grants to
//! everyone), its policy document and whether it denies plain HTTP, its
//! default encryption and versioning, read in its own region.

use crate::scope::Scope;
use crate::session::{code, describe};
use aws_config::SdkConfig;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures_util::future::join_all;
use serde_json::{json, Map, Value};
use std::future::Future;

/// A public access block configuration's four settings (S3's and S3
/// Control's have the same fields in two types), an unset one false.
macro_rules! block {
    ($b:expr) => {
        json!({
            "block_public_acls": $b.block_public_acls().unwrap_or(false),
            "ignore_public_acls": $b.ignore_public_acls().unwrap_or(false),
            "block_public_policy": $b.block_public_policy().unwrap_or(false),
            "restrict_public_buckets": $b.restrict_public_buckets().unwrap_or(false),
        })
    };
}

/// `ext.record_type` of a bucket.
pub const S3_BUCKET: &str = "s3_bucket";
/// The summary's name for the account-wide public access block.
pub const S3_ACCOUNT_BLOCK: &str = "s3_account_public_access_block";

/// The grantee groups that mean everyone.
const PUBLIC_GROUPS: [(&str, &str); 2] = [
    (
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "AllUsers",
    ),
    (
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
        "AuthenticatedUsers",
    ),
];

/// An S3 client for `config`, path-style when an endpoint is configured
/// (an emulator or proxy cannot serve `<bucket>.<host>`).
fn client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder =
        aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Every bucket of the account, one `s3_bucket` record each
/// (`com.record_type: bucket`). A detail that cannot be read is `null` in
/// the record and named in the summary; the account-wide block that cannot
/// be read is named there too, and never hides the buckets.
pub async fn buckets(scope: Scope<'_>) -> Result<usize, String> {
    let home = scope.account.in_region(&scope.account.home_region());
    let account_block = match account_block(scope, &home).await {
        Ok(block) => {
            scope.count(S3_ACCOUNT_BLOCK, 1);
            block
        }
        Err(why) => {
            scope.fail(S3_ACCOUNT_BLOCK, why);
            Value::Null
        }
    };
    let s3 = client(&home);
    let mut names = Vec::new();
    let mut pages = s3.list_buckets().into_paginator().send();
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        names.extend(
            page.buckets()
                .iter()
                .filter_map(|b| b.name().map(String::from)),
        );
    }
    if let Some(max) = scope.max_recs() {
        names.truncate(max);
    }
    let reads = names
        .iter()
        .map(|name| bucket(scope, &s3, name, &account_block));
    let emitted = join_all(reads)
        .await
        .into_iter()
        .filter(|sent| *sent)
        .count();
    Ok(emitted)
}

/// The account-wide public access block (S3 Control), `null` when the
/// account has none.
async fn account_block(scope: Scope<'_>, home: &SdkConfig) -> Result<Value, String> {
    let control = aws_sdk_s3control::Client::new(home);
    let answer = scope
        .call(
            control
                .get_public_access_block()
                .account_id(&scope.account.id)
                .send(),
        )
        .await;
    match answer {
        Ok(answer) => Ok(answer
            .public_access_block_configuration()
            .map_or(Value::Null, |b| block!(b))),
        Err(e) if code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Ok(Value::Null),
        Err(e) => Err(describe(&e)),
    }
}

/// Reads one bucket's details and emits its record; false if it was not
/// emitted (the reader is gone).
async fn bucket(
    scope: Scope<'_>,
    home: &aws_sdk_s3::Client,
    name: &str,
    account_block: &Value,
) -> bool {
    let mut failures = Vec::new();
    let region = match scope
        .call(home.get_bucket_location().bucket(name).send())
        .await
    {
        Ok(answer) => match answer.location_constraint().map(|c| c.as_str()) {
            None | Some("") => "us-east-1".to_string(),
            Some("EU") => "eu-west-1".to_string(),
            Some(region) => region.to_string(),
        },
        Err(e) => {
            failures.push(format!("location: {}", describe(&e)));
            scope.account.home_region()
        }
    };
    let s3 = client(&scope.account.in_region(&region));
    // The record's own `ext` fields; `raw` repeats what was read.
    let mut ext = Map::new();
    ext.insert("bucket".into(), name.into());
    ext.insert("bucket_region".into(), region.as_str().into());
    ext.insert("account_public_access_block".into(), account_block.clone());

    let own_block = setting(
        scope.call(s3.get_public_access_block().bucket(name).send()),
        ("public access block", &mut failures),
        Some(("NoSuchPublicAccessBlockConfiguration", Value::Null)),
        |answer| {
            answer
                .public_access_block_configuration()
                .map_or(Value::Null, |b| block!(b))
        },
    )
    .await;
    ext.insert("public_access_block".into(), own_block);

    let policy_public = setting(
        scope.call(s3.get_bucket_policy_status().bucket(name).send()),
        ("policy status", &mut failures),
        Some(("NoSuchBucketPolicy", json!(false))),
        |answer| {
            json!(answer
                .policy_status()
                .and_then(|s| s.is_public())
                .unwrap_or(false))
        },
    )
    .await;
    ext.insert("policy_is_public".into(), policy_public);

    let policy = setting(
        scope.call(s3.get_bucket_policy().bucket(name).send()),
        ("policy", &mut failures),
        Some(("NoSuchBucketPolicy", json!({}))),
        |answer| {
            answer
                .policy()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or(Value::Null)
        },
    )
    .await;
    // No policy (`{}`): nothing denies HTTP; unread or unparsable: unknown.
    let denies_http = match &policy {
        Value::Null => Value::Null,
        document => json!(denies_insecure_transport(document)),
    };
    ext.insert("policy_denies_http".into(), denies_http);
    ext.insert(
        "policy".into(),
        if policy == json!({}) {
            Value::Null
        } else {
            policy
        },
    );

    let grants = setting(
        scope.call(s3.get_bucket_acl().bucket(name).send()),
        ("ACL", &mut failures),
        None,
        |answer| {
            json!(answer
                .grants()
                .iter()
                .filter_map(|grant| {
                    let uri = grant.grantee()?.uri()?;
                    let (_, group) = PUBLIC_GROUPS.iter().find(|(u, _)| *u == uri)?;
                    let permission = grant.permission().map_or("?", |p| p.as_str());
                    Some(format!("{group}:{permission}"))
                })
                .collect::<Vec<_>>())
        },
    )
    .await;
    ext.insert("public_acl_grants".into(), grants);

    let encryption = setting(
        scope.call(s3.get_bucket_encryption().bucket(name).send()),
        ("encryption", &mut failures),
        Some((
            "ServerSideEncryptionConfigurationNotFoundError",
            Value::Null,
        )),
        |answer| {
            json!(answer
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str()))
        },
    )
    .await;
    ext.insert("default_encryption".into(), encryption);

    let versioning = setting(
        scope.call(s3.get_bucket_versioning().bucket(name).send()),
        ("versioning", &mut failures),
        None,
        |answer| json!(answer.status().map_or("Disabled", |s| s.as_str())),
    )
    .await;
    ext.insert("versioning".into(), versioning);

    if !failures.is_empty() {
        scope.fail(S3_BUCKET, format!("bucket {name}: {}", failures.join("; ")));
    }
    let raw = raw_of(name, &ext);
    let record = scope
        .record(S3_BUCKET)
        .com_record_type(Some("bucket"))
        .reference(format!("arn:aws:s3:::{name}"))
        .ext_extend(ext);
    scope.emit(&raw, &record)
}

/// A bucket setting from its read's `answer` (when it comes): `read` of
/// the answer; the
/// value of `unset` when the service answered with its error code (the
/// setting is not there); else null, with the failure added to the
/// `failures` under `what`.
async fn setting<T, E>(
    answer: impl Future<Output = Result<T, E>>,
    (what, failures): (&str, &mut Vec<String>),
    unset: Option<(&str, Value)>,
    read: impl FnOnce(T) -> Value,
) -> Value
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match answer.await {
        Ok(answer) => read(answer),
        Err(e) if unset.as_ref().is_some_and(|(c, _)| code(&e) == Some(*c)) => {
            unset.map_or(Value::Null, |(_, value)| value)
        }
        Err(e) => {
            failures.push(format!("{what}: {}", describe(&e)));
            Value::Null
        }
    }
}

/// Whether the bucket policy `document` denies every request made without
/// TLS: a statement with `Effect: Deny` for every principal (`*` or
/// `{"AWS": "*"}`), every S3 action (`s3:*` or `*`) and the condition
/// `Bool` (or `BoolIfExists`) `aws:SecureTransport` `false`.
pub fn denies_insecure_transport(document: &Value) -> bool {
    let statements = match &document["Statement"] {
        Value::Array(list) => list.iter().collect(),
        Value::Object(_) => vec![&document["Statement"]],
        _ => Vec::new(),
    };
    let any = |value: &Value, wanted: &[&str]| match value {
        Value::String(s) => wanted.contains(&s.as_str()),
        Value::Array(list) => list
            .iter()
            .any(|v| v.as_str().is_some_and(|s| wanted.contains(&s))),
        _ => false,
    };
    statements.into_iter().any(|st| {
        let everyone = any(&st["Principal"], &["*"]) || any(&st["Principal"]["AWS"], &["*"]);
        let insecure = ["Bool", "BoolIfExists"].iter().any(|op| {
            let value = &st["Condition"][*op]["aws:SecureTransport"];
            any(value, &["false"]) || value == &json!(false)
        });
        st["Effect"] == "Deny" && everyone && any(&st["Action"], &["s3:*", "*"]) && insecure
    })
}

/// The bucket as the record's `raw`: its name and what was read.
fn raw_of(name: &str, ext: &Map<String, Value>) -> Value {
    json!({
        "Name": name,
        "Region": ext["bucket_region"],
        "PublicAccessBlock": ext["public_access_block"],
        "PolicyIsPublic": ext["policy_is_public"],
        "PublicGrants": ext["public_acl_grants"],
        "DefaultEncryption": ext["default_encryption"],
        "Versioning": ext["versioning"],
        "Policy": ext["policy"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_denies_http_only_with_every_principal_action_and_the_condition() {
        let deny = |principal: Value, action: Value, value: Value| {
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": principal,
                "Action": action, "Resource": "arn:aws:s3:::b/*",
                "Condition": {"Bool": {"aws:SecureTransport": value}}}]})
        };
        assert!(denies_insecure_transport(&deny(
            json!("*"),
            json!("s3:*"),
            json!("false")
        )));
        assert!(denies_insecure_transport(&deny(
            json!({"AWS": "*"}),
            json!(["s3:*"]),
            json!(false)
        )));
        assert!(!denies_insecure_transport(&deny(
            json!({"AWS": "arn:aws:iam::1:root"}),
            json!("s3:*"),
            json!("false")
        )));
        assert!(!denies_insecure_transport(&deny(
            json!("*"),
            json!("s3:GetObject"),
            json!("false")
        )));
        assert!(!denies_insecure_transport(&deny(
            json!("*"),
            json!("s3:*"),
            json!("true")
        )));
        assert!(!denies_insecure_transport(&json!({})));
    }
}
