//! Who may do what in a project: its IAM policy (`iam_policy`), its
//! service accounts and their keys (`service_account`,
//! `service_account_key`) and its API keys (`api_key`).

use crate::{age_days, collected, emit_listed, Reader};
use cloudrest::{Collected, Emitter};
use serde_json::{json, Map, Value};

/// One `iam_policy` record: Cloud Resource Manager `getIamPolicy`, asked
/// for policy version 3 (conditional bindings as they are).
pub fn read_iam_policy(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!(
        "{}/projects/{project}:getIamPolicy",
        reader.resource_manager_url
    );
    let body = json!({"options": {"requestedPolicyVersion": 3}});
    let result = reader
        .post(
            &format!("project {project}: reading its IAM policy"),
            &url,
            &body,
        )
        .map(|policy| {
            let record =
                crate::record(project_ext, "iam_policy").reference(format!("projects/{project}"));
            emit.record(record.to_json(&policy));
            1
        });
    collected("iam_policy", result)
}

/// One `service_account` record per service account
/// (`ext.user_managed_keys`) and one `service_account_key` record per key
/// (`ext.service_account_email`, `ext.age_days`). An account whose keys
/// cannot be listed gets `user_managed_keys: null`, and both types are
/// reported failed.
pub fn read_service_accounts(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    // The IAM API takes no read-only scope.
    let reader = &reader.full_scope();
    let url = format!("{}/projects/{project}/serviceAccounts", reader.iam_url);
    let accounts = match reader.list_of(
        &format!("project {project}: listing service accounts"),
        &url,
        "accounts",
    ) {
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
        let url = format!(
            "{}/projects/{project}/serviceAccounts/{email}/keys",
            reader.iam_url
        );
        let keys = reader.list_of(
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
        let record = crate::record(project_ext, "service_account")
            .reference(account.get("name").cloned())
            .ext("user_managed_keys", user_managed);
        if !emit.record(record.to_json(account)) {
            return collected;
        }
        for key in keys.iter().flatten() {
            collected.count("service_account_key", 1);
            let record = crate::record(project_ext, "service_account_key")
                .reference(key.get("name").cloned())
                .ext("service_account_email", email)
                .ext("age_days", age_days(key.get("validAfterTime")));
            if !emit.record(record.to_json(key)) {
                return collected;
            }
        }
    }
    collected
}

/// One `api_key` record per API key (API Keys v2, `ext.age_days` from
/// `createTime`).
pub fn read_api_keys(
    reader: &Reader<'_>,
    project: &str,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    let url = format!(
        "{}/projects/{project}/locations/global/keys",
        reader.apikeys_url
    );
    let keys = reader.list_of(
        &format!("project {project}: listing API keys"),
        &url,
        "keys",
    );
    emit_listed("api_key", keys, emit, |key| {
        crate::record(project_ext, "api_key")
            .reference(key.get("name").cloned())
            .ext("age_days", age_days(key.get("createTime")))
    })
}
