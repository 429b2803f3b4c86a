//! `rdbmsenforcetlsevent`: database servers of any cloud that accept
//! unencrypted connections, from their `rdbms` records' `com.tls_enforced`.

use cloudmarker_plugin_api::record::Text;
use cloudmarker_plugin_api::sdk::check::{Check, Finding, Findings, Select, Severity};
use cloudmarker_plugin_api::sdk::rule::NoParams;
use cloudmarker_plugin_api::sdk::{self, PluginType};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Flags `rdbms` records whose `com.tls_enforced` is `false` (upstream's
/// `RDBMSEnforceTLSEvent`): PostgreSQL and MySQL servers of Azure today,
/// any cloud's database servers that say the same.
pub struct RdbmsEnforceTls;

/// An `rdbms` record, as the check reads it.
#[derive(Deserialize)]
pub struct RdbmsRecord<'a> {
    #[serde(borrow, default)]
    ext: Option<&'a RawValue>,
    #[serde(borrow, default)]
    com: Com<'a>,
}

#[derive(Default, Deserialize)]
struct Com<'a> {
    #[serde(borrow, default)]
    reference: Text<'a>,
    #[serde(borrow, default)]
    cloud_type: Text<'a>,
    #[serde(default)]
    tls_enforced: Option<bool>,
}

impl PluginType for RdbmsEnforceTls {
    type Params = NoParams;
    const NAME: &'static str = "rdbmsenforcetlsevent";
    const CLASS: Option<&'static str> = Some("RDBMSEnforceTLSEvent");
    const DESCRIPTION: &'static str =
        "Flags database servers (rdbms records) that accept connections without TLS.";

    fn new(_: NoParams) -> sdk::Result<Self> {
        Ok(Self)
    }
}

impl Check for RdbmsEnforceTls {
    const SELECT: Select = Select::com(&["rdbms"]);
    const SEVERITY: Severity = Severity::Medium;
    const COMPLIANCE: &'static [&'static str] = &[
        "CIS Microsoft Azure Foundations 1.3.0 4.3.1",
        "CIS Microsoft Azure Foundations 1.3.0 4.3.2",
    ];
    type Record<'a> = RdbmsRecord<'a>;

    fn check(&mut self, record: RdbmsRecord<'_>, findings: &mut Findings) -> sdk::Result<()> {
        if record.com.tls_enforced != Some(false) {
            return Ok(());
        }
        let reference = record.com.reference.as_str().unwrap_or("(unknown)");
        let cloud = match record.com.cloud_type.as_str() {
            Some("azure") => "Azure",
            Some("gcp") => "Google Cloud",
            Some("aws") => "AWS",
            _ => "The",
        };
        findings.push(
            Finding::new(
                "rdbms_enforce_tls_event",
                format!("{cloud} database server {reference} does not enforce TLS: clients may connect unencrypted."),
                format!("Require TLS for all connections to {reference}: on Azure PostgreSQL and MySQL, Connection security > Enforce SSL connection > ENABLED (single servers) or the require_secure_transport server parameter > ON (flexible servers)."),
            )
            .cloud_type(record.com.cloud_type.as_str())
            .reference(record.com.reference.as_str())
            .ext_from(record.ext),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::com;
    use cloudmarker_plugin_api::sdk::check::assert_check;
    use cloudrest::azure;
    use serde_json::{json, Map};

    #[test]
    fn servers_that_do_not_enforce_tls() {
        let mut subscription = Map::new();
        subscription.insert("subscription_id".into(), "s1".into());
        let server = |tls: bool| {
            azure::record(&subscription, "postgresql_server")
                .com_record_type(Some("rdbms"))
                .reference("pg1")
                .com(com::TLS_ENFORCED, tls)
                .to_value(&json!({}))
        };
        let events = assert_check(
            &mut RdbmsEnforceTls,
            "rdbms_enforce_tls_event",
            &server(false),
            &server(true),
            &[
                // The common type is read from com, not ext.
                azure::record(&Map::new(), "rdbms")
                    .com_record_type(Some("postgresql_server"))
                    .com(com::TLS_ENFORCED, false)
                    .to_value(&json!({})),
            ],
        );
        assert_eq!(events[0]["ext"]["subscription_id"], "s1");
        assert!(events[0]["com"]["description"]
            .as_str()
            .unwrap()
            .starts_with("Azure database server pg1"));
    }
}
