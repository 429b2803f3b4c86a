//! Who may do what in a project: its IAM policy (`iam_policy`), its
//! service accounts and their keys (`service_account`,
//! `service_account_key`) and its API keys (`api_key`).

use crate::{age_days, collected, Project};
use cloudrest::Collected;
use serde_json::{json, Value};

/// One `iam_policy` record: Cloud Resource Manager `getIamPolicy`, asked
/// for policy version 3 (conditional bindings as they are).
pub fn read_iam_policy(project: &Project<'_>) -> Collected {
    let url = project.url(project.reader.resource_manager_url, ":getIamPolicy");
    let body = json!({"options": {"requestedPolicyVersion": 3}});
    let policy = project.post("reading its IAM policy", &url, &body);
    project.emit_one("iam_policy", policy, |_, record| {
        record.reference(format!("projects/{}", project.id))
    })
}

/// One `service_account` record per service account
/// (`ext.user_managed_keys`) and one `service_account_key` record per key
/// (`ext.service_account_email`, `ext.age_days`). An account whose keys
/// cannot be listed gets `user_managed_keys: null`, and both types are
/// reported failed.
pub fn read_service_accounts(project: &Project<'_>) -> Collected {
    // The IAM API takes no read-only scope.
    let project = &project.full_scope();
    let url = project.url(project.reader.iam_url, "/serviceAccounts");
    let accounts = match project.list_of("listing service accounts", &url, "accounts") {
        Ok(accounts) => accounts,
        Err(why) => {
            let mut failed = collected("service_account", Err(why.clone()));
            failed.fail("service_account_key", why);
            return failed;
        }
    };
    let mut collected = Collected::default();
    collected.count("service_account", accounts.len());
    collected.count("service_account_key", 0);
    for account in &accounts {
        let email = account
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let url = project.url(
            project.reader.iam_url,
            &format!("/serviceAccounts/{email}/keys"),
        );
        let keys = project.reader.list_of(
            &format!("service account {email}: listing its keys"),
            &url,
            "keys",
        );
        let user_managed = match &keys {
            Ok(keys) => Value::from(
                keys.iter()
                    .filter(|k| k.get("keyType").and_then(Value::as_str) == Some("USER_MANAGED"))
                    .count(),
            ),
            Err(why) => {
                collected.fail("service_account", why.clone());
                collected.fail("service_account_key", why.clone());
                Value::Null
            }
        };
        let record = project
            .record("service_account")
            .reference(account.get("name").cloned())
            .ext("user_managed_keys", user_managed);
        if !project.emit(record, account) {
            return collected;
        }
        for key in keys.iter().flatten() {
            collected.count("service_account_key", 1);
            let record = project
                .record("service_account_key")
                .reference(key.get("name").cloned())
                .ext("service_account_email", email)
                .ext("age_days", age_days(key.get("validAfterTime")));
            if !project.emit(record, key) {
                return collected;
            }
        }
    }
    collected
}

/// One `api_key` record per API key (API Keys v2, `ext.age_days` from
/// `createTime`).
pub fn read_api_keys(project: &Project<'_>) -> Collected {
    let url = project.url(project.reader.apikeys_url, "/locations/global/keys");
    let keys = project.list_of("listing API keys", &url, "keys");
    project.emit_listed("api_key", keys, |key, record| {
        record
            .reference(key.get("name").cloned())
            .ext("age_days", age_days(key.get("createTime")))
    })
}
