//! IAM: the account's root user, password policy and support roles; every
//! user with their console password, MFA devices, access keys (and when
//! each was last used) and own policies; every attached managed policy
//! with whether its default version grants everything; every server
//! certificate with whether it has expired.

use crate::scope::Scope;
use crate::session::{code, describe};
use aws_sdk_iam::types::{PolicyScopeType, SummaryKeyType, User};
use aws_sdk_iam::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use futures_util::future::join_all;
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// `ext.record_type` of a user.
pub const IAM_USER: &str = "iam_user";
/// `ext.record_type` of an attached managed policy.
pub const IAM_POLICY: &str = "iam_policy";
/// `ext.record_type` of a server certificate.
pub const IAM_SERVER_CERTIFICATE: &str = "iam_server_certificate";

/// The AWS managed policy that lets its holders manage AWS Support cases.
const SUPPORT_POLICY: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

/// The account-wide IAM facts of the `account` record: `root_mfa_enabled`,
/// `root_access_keys_present` and `password_policy` (`null` when the
/// account has none). What cannot be read is `null`; the failures are
/// returned, for the summary.
pub async fn account_facts(scope: Scope<'_>, facts: &mut Map<String, Value>) -> Vec<String> {
    let iam = Client::new(&scope.account.in_region(&scope.account.home_region()));
    let mut failures = Vec::new();
    match scope.call(iam.get_account_summary().send()).await {
        Ok(answer) => {
            let map = answer.summary_map();
            let value = |key: SummaryKeyType| map.and_then(|m| m.get(&key)).copied();
            facts.insert(
                "root_mfa_enabled".into(),
                json!(value(SummaryKeyType::AccountMfaEnabled).map(|n| n == 1)),
            );
            facts.insert(
                "root_access_keys_present".into(),
                json!(value(SummaryKeyType::AccountAccessKeysPresent).map(|n| n > 0)),
            );
        }
        Err(e) => {
            failures.push(format!("account summary: {}", describe(&e)));
            facts.insert("root_mfa_enabled".into(), Value::Null);
            facts.insert("root_access_keys_present".into(), Value::Null);
        }
    }
    let (policy, read) = match scope.call(iam.get_account_password_policy().send()).await {
        Ok(answer) => (
            answer.password_policy().map_or(Value::Null, |p| {
                json!({
                    "minimum_password_length": p.minimum_password_length(),
                    "require_symbols": p.require_symbols(),
                    "require_numbers": p.require_numbers(),
                    "require_uppercase_characters": p.require_uppercase_characters(),
                    "require_lowercase_characters": p.require_lowercase_characters(),
                    "max_password_age": p.max_password_age(),
                    "password_reuse_prevention": p.password_reuse_prevention(),
                    "expire_passwords": p.expire_passwords(),
                })
            }),
            true,
        ),
        Err(e) if code(&e) == Some("NoSuchEntity") => (Value::Null, true),
        Err(e) => {
            failures.push(format!("password policy: {}", describe(&e)));
            (Value::Null, false)
        }
    };
    facts.insert("password_policy".into(), policy);
    // Whether `password_policy: null` means "none" rather than "unknown".
    facts.insert("password_policy_read".into(), read.into());
    let support_roles = match support_roles(scope, &iam).await {
        Ok(roles) => json!(roles),
        Err(e) => {
            failures.push(format!("entities of AWSSupportAccess: {e}"));
            Value::Null
        }
    };
    facts.insert("support_roles".into(), support_roles);
    failures
}

/// The roles the AWS managed policy AWSSupportAccess is attached to (none
/// when the partition has no such policy).
async fn support_roles(scope: Scope<'_>, iam: &Client) -> Result<Vec<String>, String> {
    let mut roles = Vec::new();
    let mut pages = iam
        .list_entities_for_policy()
        .policy_arn(SUPPORT_POLICY)
        .into_paginator()
        .send();
    while let Some(page) = scope.call(pages.next()).await {
        match page {
            Ok(page) => roles.extend(
                page.policy_roles()
                    .iter()
                    .filter_map(|r| r.role_name().map(String::from)),
            ),
            Err(e) if code(&e) == Some("NoSuchEntity") => break,
            Err(e) => return Err(describe(&e)),
        }
    }
    Ok(roles)
}

/// Every managed policy attached to a user, group or role (AWS's and the
/// account's own), one `iam_policy` record each with its default
/// version's `document` and `allows_full_admin`: a statement allowing
/// action `*` on resource `*`.
pub async fn policies(scope: Scope<'_>) -> Result<usize, String> {
    let iam = Client::new(&scope.account.in_region(&scope.account.home_region()));
    let mut listed = Vec::new();
    let mut pages = iam
        .list_policies()
        .only_attached(true)
        .scope(PolicyScopeType::All)
        .into_paginator()
        .send();
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        listed.extend(page.policies().iter().cloned());
    }
    if let Some(max) = scope.max_recs() {
        listed.truncate(max);
    }
    let mut count = 0;
    for policy in &listed {
        let arn = policy.arn().unwrap_or_default();
        let version = policy.default_version_id().unwrap_or("v1");
        let answer = scope
            .call(
                iam.get_policy_version()
                    .policy_arn(arn)
                    .version_id(version)
                    .send(),
            )
            .await
            .map_err(|e| format!("policy {arn}: {}", describe(&e)))?;
        let document = answer
            .policy_version()
            .and_then(|v| v.document())
            .map(policy_document)
            .unwrap_or(Value::Null);
        let raw = json!({
            "PolicyName": policy.policy_name(),
            "Arn": arn,
            "DefaultVersionId": version,
            "AttachmentCount": policy.attachment_count(),
            "Document": document,
        });
        let record = scope
            .record(IAM_POLICY)
            .reference(arn)
            .ext("policy_name", policy.policy_name().unwrap_or_default())
            .ext("aws_managed", arn.starts_with("arn:aws:iam::aws:"))
            .ext("attachment_count", policy.attachment_count())
            .ext("allows_full_admin", allows_full_admin(&document));
        count += 1;
        if !scope.emit(&raw, &record) {
            break;
        }
    }
    Ok(count)
}

/// A policy document as IAM returns it (URL-encoded JSON), parsed; `null`
/// when it is not JSON.
pub fn policy_document(text: &str) -> Value {
    serde_json::from_str(text)
        .or_else(|_| serde_json::from_str(&percent_decode(text)))
        .unwrap_or(Value::Null)
}

/// `text` with its `%XX` escapes (and `+`) decoded.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a policy `document` has a statement that allows action `*` on
/// resource `*` (alone or in a list).
pub fn allows_full_admin(document: &Value) -> bool {
    let statements = match &document["Statement"] {
        Value::Array(list) => list.iter().collect(),
        Value::Object(_) => vec![&document["Statement"]],
        _ => Vec::new(),
    };
    let star = |value: &Value| match value {
        Value::String(s) => s == "*",
        Value::Array(list) => list.iter().any(|v| v == "*"),
        _ => false,
    };
    statements
        .into_iter()
        .any(|st| st["Effect"] == "Allow" && star(&st["Action"]) && star(&st["Resource"]))
}

/// Every server certificate stored in IAM, one `iam_server_certificate`
/// record each with `expiration` and `expired`.
pub async fn server_certificates(scope: Scope<'_>) -> Result<usize, String> {
    let iam = Client::new(&scope.account.in_region(&scope.account.home_region()));
    let mut pages = iam.list_server_certificates().into_paginator().send();
    let mut count = 0;
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        for cert in page.server_certificate_metadata_list() {
            if scope.full(count) {
                return Ok(count);
            }
            let expiration = cert.expiration();
            let raw = json!({
                "ServerCertificateName": cert.server_certificate_name(),
                "ServerCertificateId": cert.server_certificate_id(),
                "Arn": cert.arn(),
                "Path": cert.path(),
                "UploadDate": cert.upload_date().and_then(|d| d.fmt(Format::DateTime).ok()),
                "Expiration": expiration.and_then(|d| d.fmt(Format::DateTime).ok()),
            });
            let record = scope
                .record(IAM_SERVER_CERTIFICATE)
                .reference(cert.arn())
                .ext("certificate_name", cert.server_certificate_name())
                .ext("expiration", raw["Expiration"].clone())
                .ext("expired", json!(expiration.map(|d| d.secs() < now())));
            count += 1;
            if !scope.emit(&raw, &record) {
                return Ok(count);
            }
        }
    }
    Ok(count)
}

/// Every user: `iam_user` records with `console_password`, `mfa_enabled`,
/// `access_keys` (id, status, creation date, age in days, last use and
/// days since), `age_days`, `password_last_used_days` (`null`: never) and
/// the user's own `attached_policies` and `inline_policies` (names).
pub async fn users(scope: Scope<'_>) -> Result<usize, String> {
    let iam = Client::new(&scope.account.in_region(&scope.account.home_region()));
    let mut users = Vec::new();
    let mut pages = iam.list_users().into_paginator().send();
    while let Some(page) = scope.call(pages.next()).await {
        let page = page.map_err(|e| describe(&e))?;
        users.extend(page.users().iter().cloned());
    }
    if let Some(max) = scope.max_recs() {
        users.truncate(max);
    }
    let reads = users.iter().map(|user| self::user(scope, &iam, user));
    Ok(join_all(reads)
        .await
        .into_iter()
        .filter(|sent| *sent)
        .count())
}

/// Reads one user's details and emits the record; false if it was not
/// emitted.
async fn user(scope: Scope<'_>, iam: &Client, user: &User) -> bool {
    let name = user.user_name();
    let mut failures = Vec::new();
    let console_password = match scope
        .call(iam.get_login_profile().user_name(name).send())
        .await
    {
        Ok(_) => json!(true),
        Err(e) if code(&e) == Some("NoSuchEntity") => json!(false),
        Err(e) => {
            failures.push(format!("login profile: {}", describe(&e)));
            Value::Null
        }
    };
    let mfa = match scope
        .call(iam.list_mfa_devices().user_name(name).send())
        .await
    {
        Ok(answer) => json!(!answer.mfa_devices().is_empty()),
        Err(e) => {
            failures.push(format!("MFA devices: {}", describe(&e)));
            Value::Null
        }
    };
    let keys = match scope
        .call(iam.list_access_keys().user_name(name).send())
        .await
    {
        Ok(answer) => {
            let mut keys = Vec::new();
            for key in answer.access_key_metadata() {
                let id = key.access_key_id().unwrap_or_default();
                let last_used = match scope
                    .call(iam.get_access_key_last_used().access_key_id(id).send())
                    .await
                {
                    Ok(answer) => answer
                        .access_key_last_used()
                        .and_then(|u| u.last_used_date())
                        .cloned(),
                    Err(e) => {
                        failures.push(format!("last use of key {id}: {}", describe(&e)));
                        None
                    }
                };
                keys.push(json!({
                    "access_key_id": id,
                    "status": key.status().map(|s| s.as_str()),
                    "create_date": key.create_date().and_then(|d| d.fmt(Format::DateTime).ok()),
                    "age_days": key.create_date().map(age_days),
                    "last_used_date": last_used.as_ref().and_then(|d| d.fmt(Format::DateTime).ok()),
                    "last_used_days": last_used.as_ref().map(age_days),
                }));
            }
            json!(keys)
        }
        Err(e) => {
            failures.push(format!("access keys: {}", describe(&e)));
            Value::Null
        }
    };
    let mut attached = Vec::new();
    let mut pages = iam
        .list_attached_user_policies()
        .user_name(name)
        .into_paginator()
        .send();
    let mut attached_read = true;
    while let Some(page) = scope.call(pages.next()).await {
        match page {
            Ok(page) => attached.extend(
                page.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_name().map(String::from)),
            ),
            Err(e) => {
                failures.push(format!("attached policies: {}", describe(&e)));
                attached_read = false;
                break;
            }
        }
    }
    let mut inline = Vec::new();
    let mut pages = iam
        .list_user_policies()
        .user_name(name)
        .into_paginator()
        .send();
    let mut inline_read = true;
    while let Some(page) = scope.call(pages.next()).await {
        match page {
            Ok(page) => inline.extend(page.policy_names().iter().cloned()),
            Err(e) => {
                failures.push(format!("inline policies: {}", describe(&e)));
                inline_read = false;
                break;
            }
        }
    }
    if !failures.is_empty() {
        scope.fail(IAM_USER, format!("user {name}: {}", failures.join("; ")));
    }
    let raw = json!({
        "UserName": name,
        "UserId": user.user_id(),
        "Arn": user.arn(),
        "CreateDate": user.create_date().fmt(Format::DateTime).ok(),
        "PasswordLastUsed": user.password_last_used().and_then(|d| d.fmt(Format::DateTime).ok()),
    });
    let record = scope
        .record(IAM_USER)
        .reference(user.arn())
        .ext("user_name", name)
        .ext("console_password", console_password)
        .ext("mfa_enabled", mfa)
        .ext("access_keys", keys)
        .ext("age_days", age_days(user.create_date()))
        .ext(
            "password_last_used_days",
            json!(user.password_last_used().map(age_days)),
        )
        .ext(
            "attached_policies",
            if attached_read {
                json!(attached)
            } else {
                Value::Null
            },
        )
        .ext(
            "inline_policies",
            if inline_read {
                json!(inline)
            } else {
                Value::Null
            },
        );
    scope.emit(&raw, &record)
}

/// Whole days since `date`.
fn age_days(date: &DateTime) -> i64 {
    (now() - date.secs()).max(0) / 86_400
}

/// Seconds since the epoch.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_decoded_and_full_admin_is_action_and_resource_star() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
        let document = policy_document(encoded);
        assert!(allows_full_admin(&document), "{document}");
        let listed =
            json!({"Statement": {"Effect": "Allow", "Action": ["s3:*", "*"], "Resource": ["*"]}});
        assert!(allows_full_admin(&listed));
        let narrow = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}]});
        assert!(!allows_full_admin(&narrow));
        let denied = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]});
        assert!(!allows_full_admin(&denied));
        assert_eq!(policy_document("not json"), Value::Null);
    }
}
