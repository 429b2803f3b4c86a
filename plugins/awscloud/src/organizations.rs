//! AWS Organizations: the accounts of the organization to audit, listed
//! from its management (or a delegated administrator) account with JSON
//! 1.1 calls through the client of `query.rs`.

use crate::params::OrganizationParams;
use crate::query::{Client, Request, Service};
use aws_config::{Region, SdkConfig};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// AWS Organizations (a global service, signed for `us-east-1` in the
/// `aws` partition).
const ORGANIZATIONS: Service = Service {
    id: "Organizations",
    signing_name: "organizations",
    prefix: "organizations",
};

/// What the listing found.
#[derive(Debug, Default)]
pub struct Members {
    /// The active accounts to audit: `(id, name)`.
    pub audit: Vec<(String, String)>,
    /// The accounts left out and why (`suspended`, `excluded`, `outside
    /// the included OUs`): `(id, name, why)`.
    pub skipped: Vec<(String, String, String)>,
}

/// The accounts of the organization that `config`'s credentials manage:
/// every account (`ListAccounts`), or those under `include_ous` (and
/// their child OUs, `ListAccountsForParent` and
/// `ListOrganizationalUnitsForParent`); suspended (or closing) accounts
/// and `exclude_accounts` left out.
pub async fn members(config: &SdkConfig, params: &OrganizationParams) -> Result<Members, String> {
    let home = config
        .to_builder()
        .region(Region::new(home_region(config)))
        .build();
    let client = Client::of(ORGANIZATIONS, &home);
    let accounts = list(&client, "ListAccounts", json!({}), "Accounts").await?;
    let included: Option<BTreeSet<String>> = if params.include_ous.is_empty() {
        None
    } else {
        let mut ids = BTreeSet::new();
        let mut parents: Vec<String> = params.include_ous.clone();
        while let Some(parent) = parents.pop() {
            let body = json!({"ParentId": parent});
            for account in list(&client, "ListAccountsForParent", body.clone(), "Accounts").await? {
                ids.extend(account["Id"].as_str().map(String::from));
            }
            let children = list(
                &client,
                "ListOrganizationalUnitsForParent",
                body,
                "OrganizationalUnits",
            )
            .await?;
            parents.extend(
                children
                    .iter()
                    .filter_map(|ou| ou["Id"].as_str().map(String::from)),
            );
        }
        Some(ids)
    };
    let mut members = Members::default();
    for account in accounts {
        let id = account["Id"].as_str().unwrap_or_default().to_string();
        let name = account["Name"].as_str().unwrap_or_default().to_string();
        // `State` replaces `Status` (ACTIVE, SUSPENDED, PENDING_CLOSURE).
        let state = account["State"]
            .as_str()
            .or(account["Status"].as_str())
            .unwrap_or("ACTIVE");
        let why = if state != "ACTIVE" {
            Some(state.to_ascii_lowercase())
        } else if params.exclude_accounts.contains(&id) {
            Some("excluded".to_string())
        } else if included.as_ref().is_some_and(|ids| !ids.contains(&id)) {
            Some("outside the included OUs".to_string())
        } else {
            None
        };
        match why {
            Some(why) => members.skipped.push((id, name, why)),
            None => members.audit.push((id, name)),
        }
    }
    Ok(members)
}

/// The region Organizations is signed for: `us-east-1`, or the
/// partition's own (`cn-northwest-1`, `us-gov-west-1`).
fn home_region(config: &SdkConfig) -> String {
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    if region.starts_with("cn-") {
        "cn-northwest-1".into()
    } else if region.starts_with("us-gov-") {
        "us-gov-west-1".into()
    } else {
        "us-east-1".into()
    }
}

/// Every item of `key` in the pages of `operation` with `body`, following
/// `NextToken`.
async fn list(
    client: &Client,
    operation: &str,
    body: Value,
    key: &str,
) -> Result<Vec<Value>, String> {
    let target = format!("AWSOrganizationsV20161128.{operation}");
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut request = body.clone();
        if let Some(token) = &token {
            request["NextToken"] = json!(token);
        }
        let text = request.to_string();
        let page = client
            .json(
                operation,
                Request::Json {
                    target: &target,
                    body: &text,
                },
            )
            .await
            .map_err(|e| format!("{operation}: {e}"))?;
        items.extend(page[key].as_array().into_iter().flatten().cloned());
        match page["NextToken"].as_str().filter(|t| !t.is_empty()) {
            Some(next) if token.as_deref() != Some(next) => token = Some(next.to_string()),
            _ => return Ok(items),
        }
    }
}
