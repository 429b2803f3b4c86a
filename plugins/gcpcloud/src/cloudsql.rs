//! Cloud SQL instances: database servers in the common model (`rdbms`,
//! `tls_enforced`), and their authorized networks as `firewall_rule`
//! records, so that `rdbmsenforcetlsevent` and `firewallruleevent` check
//! them as they check Azure's.

use crate::Project;
use cloudmarker_plugin_api::record::{com, FirewallRule};
use cloudrest::gcp;
use serde_json::{Map, Value};

/// Emits one `sql_instance` record per Cloud SQL instance of `project` and
/// one `firewall_rule` record per authorized network; returns how many
/// instances there were.
pub fn read_sql_instances(project: &Project<'_>) -> Result<usize, String> {
    let url = project.url(project.reader.sqladmin_url, "/instances");
    let instances = project.items("listing Cloud SQL instances", &url)?;
    for instance in &instances {
        for record in instance_records(instance, project.ext) {
            if !project.emit.record(record) {
                return Ok(instances.len());
            }
        }
    }
    Ok(instances.len())
}

/// The records (JSON text) of one instance: itself, then its authorized
/// networks.
fn instance_records(instance: &Value, project_ext: &Map<String, Value>) -> Vec<String> {
    let ip = instance
        .pointer("/settings/ipConfiguration")
        .unwrap_or(&Value::Null);
    let public_ip = ip
        .get("ipv4Enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ssl_mode = ip.get("sslMode").and_then(Value::as_str);
    let tls_enforced = ip
        .get("requireSsl")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || matches!(
            ssl_mode,
            Some("ENCRYPTED_ONLY" | "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
        );
    let version = instance
        .get("databaseVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let port = match version.split('_').next() {
        Some("POSTGRES") => "5432",
        Some("SQLSERVER") => "1433",
        _ => "3306",
    };
    let reference = instance.get("selfLink").cloned().unwrap_or(Value::Null);
    let server = gcp::record(project_ext, "sql_instance")
        .com_record_type(Some("rdbms"))
        .reference(reference.clone())
        .com(com::TLS_ENFORCED, tls_enforced)
        .ext("public_ip", public_ip)
        .ext("database_version", version);
    let mut records = vec![server.to_json(instance)];
    for network in ip
        .get("authorizedNetworks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let record = gcp::record(project_ext, "sql_authorized_network")
            .ext("sql_instance", reference.clone());
        let name = network
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("unnamed");
        let reference = reference.as_str().unwrap_or_default();
        let com = FirewallRule {
            enabled: public_ip,
            protocol: Some("tcp".into()),
            source_addresses: network
                .get("value")
                .and_then(Value::as_str)
                .map(String::from)
                .into_iter()
                .collect(),
            destination_ports: vec![port.into()],
            ..FirewallRule::new(
                gcp::CLOUD_TYPE,
                Some(format!("{reference}/authorizedNetworks/{name}")),
            )
        };
        records.push(record.com_model(&com).to_json(network));
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn records(instance: &Value) -> Vec<Value> {
        instance_records(instance, &Map::new())
            .iter()
            .map(|r| serde_json::from_str(r).unwrap())
            .collect()
    }

    #[test]
    fn instances_are_databases_and_their_networks_firewall_rules() {
        let instance = json!({"name": "pg", "selfLink": "https://sqladmin/pg", "databaseVersion": "POSTGRES_14",
            "settings": {"ipConfiguration": {"ipv4Enabled": true, "requireSsl": false, "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                "authorizedNetworks": [{"name": "anywhere", "value": "0.0.0.0/0"}]}}});
        let read = records(&instance);
        assert_eq!(read[0]["com"][com::TLS_ENFORCED], false);
        assert_eq!(read[1]["com"]["source_addresses"], json!(["0.0.0.0/0"]));
        assert_eq!(read[1]["com"]["destination_ports"], json!(["5432"]));
        let mut strict = instance.clone();
        strict["settings"]["ipConfiguration"]["sslMode"] = json!("ENCRYPTED_ONLY");
        assert_eq!(records(&strict)[0]["com"][com::TLS_ENFORCED], true);
    }
}
