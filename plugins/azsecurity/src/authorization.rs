//! The `azauthorization` cloud plugin: custom role definitions, the owners
//! of every subscription, and the User Access Administrators at the root
//! scope `/` where the identity may read it.

use crate::lists::{text, Input, Lister, Listing, Records, Subscription};
use cloudrest::azure::{self, AzurePlugin, Collected, ResourceType, Session};
use cloudrest::Emitter;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// `record_type` of a custom role definition.
pub const CUSTOM_ROLE: &str = "custom_role";
/// `record_type` of a subscription's role assignments, summed up as its
/// owners (one record per subscription).
pub const SUBSCRIPTION_OWNERS: &str = "subscription_owners";
/// `record_type` of the root scope's User Access Administrators (one
/// record per run).
pub const ROOT_USER_ACCESS_ADMINISTRATORS: &str = "root_user_access_administrators";

/// The api-version of the Microsoft.Authorization reads.
const AUTHORIZATION_API: &str = "2022-04-01";
/// The built-in Owner role's id (the last part of its definition id).
const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
/// The built-in User Access Administrator role's id.
const USER_ACCESS_ADMINISTRATOR: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";

/// Role definitions assignable in the subscription
/// (`Microsoft.Authorization/roleDefinitions/read`); only the custom ones
/// become records.
const ROLE_DEFINITIONS: ResourceType = ResourceType {
    record_type: CUSTOM_ROLE,
    path: "providers/Microsoft.Authorization/roleDefinitions",
    api_version: AUTHORIZATION_API,
};

/// Role assignments of the subscription, and those it inherits
/// (`Microsoft.Authorization/roleAssignments/read`).
const ROLE_ASSIGNMENTS: ResourceType = ResourceType {
    record_type: SUBSCRIPTION_OWNERS,
    path: "providers/Microsoft.Authorization/roleAssignments",
    api_version: AUTHORIZATION_API,
};

/// Reads the root scope's role assignments (one
/// `root_user_access_administrators` record), then each subscription's
/// custom role definitions (one `custom_role` record each) and role
/// assignments (one `subscription_owners` record), then one
/// `collection_summary` per subscription.
pub enum AzAuthorizationReader {}

impl Lister for AzAuthorizationReader {
    const NAME: &'static str = "azauthorization";
    const DESCRIPTION: &'static str =
        "Reads the custom roles and subscription owners of every Azure subscription, and the User Access Administrators at the root scope.";

    const TYPES: &'static [ResourceType] = &[ROLE_DEFINITIONS, ROLE_ASSIGNMENTS];
    const RECORDS: Records = records;

    fn before(session: &Session, emit: &Emitter) -> bool {
        emit.record(root_record(session))
    }
}

/// The `azauthorization` cloud plugin.
pub type AzAuthorization = AzurePlugin<Listing<AzAuthorizationReader>>;

/// Whether the role definition id `id` is the built-in role `role`.
fn is_role(id: Option<&str>, role: &str) -> bool {
    id.is_some_and(|id| id.to_ascii_lowercase().ends_with(&format!("/{role}")))
}

/// The root scope's record: reads the assignments at `/` (which needs
/// elevated access, `Microsoft.Authorization/roleAssignments/read` at `/`).
/// `ext.readable` says whether it could; when not, `ext.why` says why and
/// the rule evaluates nothing (not evaluated). Else
/// `ext.user_access_administrators` lists the principals that hold User
/// Access Administrator at `/`; `raw.assignments` is the list read.
fn root_record(session: &Session) -> String {
    let url = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments?api-version={AUTHORIZATION_API}&$filter=atScope()",
        session.resource_manager
    );
    let mut items = Vec::new();
    let read = azure::list(
        &session.http,
        "listing the role assignments at the root scope /",
        &url,
        &session.token,
        |page| items.extend(page),
    );
    let record = azure::record(&Map::new(), ROOT_USER_ACCESS_ADMINISTRATORS).reference("/");
    match read {
        Ok(_) => {
            let holders: Vec<&str> = items
                .iter()
                .filter(|a| text(a, &["properties", "scope"]) == Some("/"))
                .filter(|a| {
                    is_role(
                        text(a, &["properties", "roleDefinitionId"]),
                        USER_ACCESS_ADMINISTRATOR,
                    )
                })
                .filter_map(|a| text(a, &["properties", "principalId"]))
                .collect();
            record
                .ext("readable", true)
                .ext("user_access_administrators", holders)
                .to_json(&json!({ "assignments": items }))
        }
        Err(e) => {
            let why = format!(
                "the role assignments at the root scope / could not be read ({e}); reading them needs \
                 Microsoft.Authorization/roleAssignments/read at /, which a Global Administrator gets \
                 by elevating access"
            );
            log::warn!("azauthorization: {why}");
            record
                .ext("readable", false)
                .ext("why", why)
                .to_json(&json!({ "assignments": null }))
        }
    }
}

/// The records of one subscription.
fn records(input: &Input<'_>, _: &mut Collected) -> Vec<String> {
    let Input { sub, lists, .. } = *input;
    let mut records: Vec<String> = lists
        .get(CUSTOM_ROLE)
        .into_iter()
        .flatten()
        .filter(|d| text(d, &["properties", "type"]) == Some("CustomRole"))
        .map(|d| custom_role_record(sub, d))
        .collect();
    if let Some(assignments) = lists.get(SUBSCRIPTION_OWNERS) {
        records.push(owners_record(sub, assignments));
    }
    records
}

/// A custom role: `raw` as listed; `ext.role_name`, `ext.wildcard_actions`
/// (some permission's `actions` has `*`) and `ext.subscription_assignable`
/// (its assignable scopes include `/`, the subscription, or any
/// subscription as a whole).
fn custom_role_record(sub: &Subscription<'_>, definition: &Value) -> String {
    let wildcard = definition
        .pointer("/properties/permissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("actions").and_then(Value::as_array))
        .flatten()
        .any(|a| a.as_str() == Some("*"));
    let assignable = definition
        .pointer("/properties/assignableScopes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|scope| {
            let scope = scope.trim_end_matches('/');
            scope.is_empty()
                || (scope.to_ascii_lowercase().starts_with("/subscriptions/")
                    && scope.matches('/').count() == 2)
        });
    azure::record(sub.ext, CUSTOM_ROLE)
        .reference(definition.get("id").cloned().unwrap_or(Value::Null))
        .ext("role_name", text(definition, &["properties", "roleName"]))
        .ext("wildcard_actions", wildcard)
        .ext("subscription_assignable", assignable)
        .to_json(definition)
}

/// The subscription's owners: `raw.assignments` (the Owner assignments at
/// the subscription itself); `ext.owners`, how many principals hold Owner
/// there (inherited and resource group assignments do not count), and
/// `ext.owner_principals`.
fn owners_record(sub: &Subscription<'_>, assignments: &[Value]) -> String {
    let owners: Vec<&Value> = assignments
        .iter()
        .filter(|a| {
            text(a, &["properties", "scope"])
                .is_some_and(|s| s.trim_end_matches('/').eq_ignore_ascii_case(sub.id))
        })
        .filter(|a| is_role(text(a, &["properties", "roleDefinitionId"]), OWNER))
        .collect();
    let principals: BTreeSet<&str> = owners
        .iter()
        .filter_map(|a| text(a, &["properties", "principalId"]))
        .collect();
    azure::record(sub.ext, SUBSCRIPTION_OWNERS)
        .reference(sub.id)
        .ext("owners", principals.len())
        .ext("owner_principals", json!(principals))
        .to_json(&json!({ "assignments": owners }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_counted_at_the_subscription_only() {
        let ext = Map::new();
        let sub = Subscription {
            ext: &ext,
            id: "/subscriptions/s1",
            subscription_id: "s1",
        };
        let assignment = |scope: &str, role: &str, principal: &str| {
            json!({"properties": {"scope": scope, "principalId": principal,
                "roleDefinitionId": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{role}")}})
        };
        let assignments = [
            assignment("/subscriptions/s1", OWNER, "p1"),
            assignment("/subscriptions/s1", OWNER, "p1"),
            assignment("/subscriptions/s1/resourceGroups/rg", OWNER, "p2"),
            assignment("/", OWNER, "p3"),
            assignment("/subscriptions/s1", USER_ACCESS_ADMINISTRATOR, "p4"),
        ];
        let record: Value = serde_json::from_str(&owners_record(&sub, &assignments)).unwrap();
        assert_eq!(record["ext"]["owners"], 1);
        assert_eq!(record["ext"]["owner_principals"], json!(["p1"]));
    }

    #[test]
    fn a_wildcard_role_assignable_to_a_subscription() {
        let ext = Map::new();
        let sub = Subscription {
            ext: &ext,
            id: "/subscriptions/s1",
            subscription_id: "s1",
        };
        let role = |scopes: Value| {
            json!({"id": "r", "properties": {"roleName": "admin", "type": "CustomRole",
                "permissions": [{"actions": ["*"], "notActions": []}], "assignableScopes": scopes}})
        };
        let record = |scopes| -> Value {
            serde_json::from_str(&custom_role_record(&sub, &role(scopes))).unwrap()
        };
        let wide = record(json!(["/subscriptions/s1"]));
        assert_eq!(wide["ext"]["wildcard_actions"], true);
        assert_eq!(wide["ext"]["subscription_assignable"], true);
        assert_eq!(record(json!(["/"]))["ext"]["subscription_assignable"], true);
        assert_eq!(
            record(json!(["/subscriptions/s1/resourceGroups/rg"]))["ext"]
                ["subscription_assignable"],
            false
        );
    }
}
