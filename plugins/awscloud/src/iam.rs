//! IAM: the account's root user and password policy, and every user with
//! their console password, MFA devices and access keys.

use crate::scope::Scope;
use crate::session::{code, describe};
use aws_sdk_iam::types::{SummaryKeyType, User};
use aws_sdk_iam::Client;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use futures_util::future::join_all;
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// `ext.record_type` of a user.
pub const IAM_USER: &str = "iam_user";

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
    failures
}

/// Every user: `iam_user` records with `console_password`, `mfa_enabled`
/// and `access_keys` (id, status, creation date, age in days).
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
        Ok(answer) => json!(answer
            .access_key_metadata()
            .iter()
            .map(|key| json!({
                "access_key_id": key.access_key_id(),
                "status": key.status().map(|s| s.as_str()),
                "create_date": key.create_date().and_then(|d| d.fmt(Format::DateTime).ok()),
                "age_days": key.create_date().map(age_days),
            }))
            .collect::<Vec<_>>()),
        Err(e) => {
            failures.push(format!("access keys: {}", describe(&e)));
            Value::Null
        }
    };
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
        .ext("access_keys", keys);
    scope.emit(&raw, &record)
}

/// Whole days since `date`.
fn age_days(date: &DateTime) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    (now - date.secs()).max(0) / 86_400
}
