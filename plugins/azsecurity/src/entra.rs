//! The `azentra` cloud plugin: Microsoft Entra ID settings of the tenant,
//! read from Microsoft Graph with the same identity (a token for Graph's
//! scope): security defaults, and which users have registered a
//! multifactor authentication method. Each is one record per run; a read
//! that Graph refuses (the identity lacks the permission) says so in the
//! record (`ext.readable` false, `ext.why` naming the permission), and its
//! rule evaluates nothing.

use cloudmarker_plugin_api::PluginError;
use cloudrest::azure::{self, AzurePlugin, Collected, Reader, Session};
use cloudrest::{Bearer, Emitter};
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// `record_type` of the tenant's security defaults policy.
pub const ENTRA_SECURITY_DEFAULTS: &str = "entra_security_defaults";
/// `record_type` of the tenant's users' multifactor registration.
pub const ENTRA_USER_MFA: &str = "entra_user_mfa";

/// The security defaults policy (Graph v1.0).
const SECURITY_DEFAULTS: &str = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy";
/// The users' authentication method registration (Graph v1.0).
const REGISTRATION: &str = "/v1.0/reports/authenticationMethods/userRegistrationDetails";

/// Reads the tenant's security defaults (one `entra_security_defaults`
/// record) and users' multifactor registration (one `entra_user_mfa`
/// record) from Microsoft Graph.
pub enum AzEntraReader {}

impl Reader for AzEntraReader {
    const NAME: &'static str = "azentra";
    const DESCRIPTION: &'static str =
        "Reads Microsoft Entra ID's security defaults and users' multifactor registration from Microsoft Graph.";

    fn collect(session: &Session, emit: &Emitter) {
        let graph = session.params.graph.trim_end_matches('/').to_string();
        let token = session.token_for(&format!("{graph}/.default"));
        let reader = Graph {
            session,
            graph: &graph,
            token: &token,
        };
        let mut read = Collected::default();
        let mut take = |record_type: &'static str, (record, refused): (String, Option<String>)| {
            match refused {
                None => read.count(record_type, 1),
                Some(why) => {
                    emit.problem(PluginError::partial(0, why.clone()));
                    read.fail(record_type, why);
                }
            }
            emit.record(record)
        };
        if !take(ENTRA_SECURITY_DEFAULTS, reader.security_defaults())
            || !take(ENTRA_USER_MFA, reader.user_mfa())
        {
            return;
        }
        // The tenant's summary: what could not be read, and the permission
        // it needs, for the compliance report's "not evaluated" and the
        // run's exit status.
        let tenant = reader.tenant();
        let label = format!(
            "Tenant {}",
            tenant
                .get("tenant_id")
                .and_then(Value::as_str)
                .unwrap_or("(default)")
        );
        let summary = azure::record(&tenant, "collection_summary")
            .reference(graph.clone())
            .ext_extend(read.summarise(&label, &[]))
            .ext_extend(session.shard_fields());
        emit.record(summary.to_json(&Value::Object(tenant)));
    }
}

/// The `azentra` cloud plugin.
pub type AzEntra = AzurePlugin<AzEntraReader>;

/// One run's Graph reads.
struct Graph<'a> {
    session: &'a Session,
    graph: &'a str,
    token: &'a Bearer,
}

impl Graph<'_> {
    /// The `ext` every record starts with: the tenant.
    fn tenant(&self) -> Map<String, Value> {
        let mut ext = Map::new();
        let tenant = &self.session.params.tenant;
        ext.insert(
            "tenant_id".into(),
            if tenant.is_empty() {
                Value::Null
            } else {
                tenant.as_str().into()
            },
        );
        ext
    }

    /// Why a read failed, and the permission it needs.
    fn why(what: &str, e: &str, permission: &str) -> String {
        let why = format!(
            "{what} could not be read ({e}); reading it needs the Microsoft Graph application \
             permission {permission}, with admin consent"
        );
        log::warn!("azentra: {why}");
        why
    }

    /// GETs a Graph path (or a full `@odata.nextLink`).
    fn get(&self, what: &str, url: &str) -> Result<Value, String> {
        self.token.get().and_then(|token| {
            self.session
                .http
                .get_json(what, url, &token)
                .map_err(|e| e.to_string())
        })
    }

    /// The security defaults record: `raw` is the policy as read;
    /// `ext.readable`, and `ext.enabled` (`isEnabled`) or `ext.why`.
    /// With the record, why it could not be read (when it could not).
    fn security_defaults(&self) -> (String, Option<String>) {
        let what = "the security defaults policy";
        let record = azure::record(&self.tenant(), ENTRA_SECURITY_DEFAULTS)
            .reference(format!("{}{SECURITY_DEFAULTS}", self.graph));
        match self.get(what, &format!("{}{SECURITY_DEFAULTS}", self.graph)) {
            Ok(policy) => {
                let enabled = policy.get("isEnabled").and_then(Value::as_bool);
                let record = record.ext("readable", true).ext("enabled", enabled);
                (record.to_json(&policy), None)
            }
            Err(e) => {
                let why = Self::why(what, &e, "Policy.Read.All");
                let record = record.ext("readable", false).ext("why", why.as_str());
                (record.to_json(&Value::Null), Some(why))
            }
        }
    }

    /// The users' registration record: `ext.readable`; when readable,
    /// `ext.users` (how many members, guests left out),
    /// `ext.users_without_mfa` (the userPrincipalName of each member not
    /// registered for multifactor authentication) and `raw.users` (those
    /// members' registration details); else `ext.why`.
    /// With the record, why it could not be read (when it could not).
    fn user_mfa(&self) -> (String, Option<String>) {
        let what = "the users' authentication method registration";
        let record = azure::record(&self.tenant(), ENTRA_USER_MFA)
            .reference(format!("{}{REGISTRATION}", self.graph));
        match self.registrations(what) {
            Ok(users) => {
                let members: Vec<&Value> = users
                    .iter()
                    .filter(|u| u.get("userType").and_then(Value::as_str) != Some("guest"))
                    .collect();
                let without: Vec<&Value> = members
                    .iter()
                    .copied()
                    .filter(|u| u.get("isMfaRegistered").and_then(Value::as_bool) != Some(true))
                    .collect();
                let names: Vec<&str> = without
                    .iter()
                    .filter_map(|u| u.get("userPrincipalName").and_then(Value::as_str))
                    .collect();
                let record = record
                    .ext("readable", true)
                    .ext("users", members.len())
                    .ext("users_without_mfa", names);
                (record.to_json(&json!({ "users": without })), None)
            }
            Err(e) => {
                let permission = "AuditLog.Read.All (and a Microsoft Entra ID P1 or P2 license)";
                let why = Self::why(what, &e, permission);
                let record = record.ext("readable", false).ext("why", why.as_str());
                (record.to_json(&Value::Null), Some(why))
            }
        }
    }

    /// Every page of the registration details (`@odata.nextLink`), at most
    /// `max_pages`; a link seen before ends the read with an error.
    fn registrations(&self, what: &str) -> Result<Vec<Value>, String> {
        let mut url = format!("{}{REGISTRATION}", self.graph);
        let mut users = Vec::new();
        let mut seen = HashSet::new();
        let max_pages = self.session.params.max_pages.max(1);
        for _ in 0..max_pages {
            let mut page = self.get(what, &url)?;
            if let Some(Value::Array(items)) = page.get_mut("value").map(Value::take) {
                users.extend(items);
            }
            match page.get("@odata.nextLink").and_then(Value::as_str) {
                Some(next) if !next.is_empty() => {
                    if !seen.insert(next.to_string()) {
                        return Err(format!("{what}: the next page link {next} came back"));
                    }
                    url = next.to_string();
                }
                _ => return Ok(users),
            }
        }
        Err(format!("{what}: more than {max_pages} pages"))
    }
}
