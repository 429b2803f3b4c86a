//! `cloudmarker compliance`: a framework's requirements with their statuses
//! after real runs of the event plugins over records the `jsoncloud`
//! fixture emits, read back from the findings database; and where the
//! installed host finds the bundled frameworks.

mod common;

use common::{plugin_lib, Sandbox};
use serde_json::{json, Value};

const NSG: &str =
    "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network/networkSecurityGroups/testnsg";

/// An Azure network security rule as azcloud normalises it (see
/// tests/events.rs): `sources` open to `ports`.
fn azure_rule(name: &str, sources: &str, ports: &[&str]) -> Value {
    let id = format!("{NSG}/securityRules/{name}");
    json!({
        "raw": {"name": name, "id": id, "properties": {"protocol": "Tcp", "access": "Allow",
                "direction": "Inbound", "sourceAddressPrefix": sources, "destinationPortRanges": ports}},
        "ext": {"cloud_type": "azure", "record_type": "security_rule", "subscription_id": "subid"},
        "com": {"cloud_type": "azure", "record_type": "firewall_rule", "reference": id,
                "enabled": true, "direction": "in", "access": "allow", "protocol": "tcp",
                "source_addresses": [sources], "destination_ports": ports}
    })
}

/// A GCP firewall rule open to the Internet on `port`.
fn gcp_rule(name: &str, port: &str) -> Value {
    let link =
        format!("https://www.googleapis.com/compute/v1/projects/project1/global/firewalls/{name}");
    json!({
        "raw": {"name": name, "selfLink": link},
        "ext": {"cloud_type": "gcp", "record_type": "firewall_rule", "project_id": "project1"},
        "com": {"cloud_type": "gcp", "record_type": "firewall_rule", "reference": link,
                "enabled": true, "direction": "in", "access": "allow", "protocol": "tcp",
                "source_addresses": ["0.0.0.0/0"], "destination_ports": [port]}
    })
}

/// An Azure storage account that requires secure transfer.
fn storage_account() -> Value {
    let id =
        "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/acct1";
    json!({
        "raw": {"id": id, "name": "acct1"},
        "ext": {"cloud_type": "azure", "record_type": "storage_account_properties",
                "subscription_id": "subid", "secure_transfer_required": true},
        "com": {"cloud_type": "azure", "record_type": "storage_account_properties", "reference": id}
    })
}

/// What a cloud says of a subscription it could not read completely.
fn failed_collection(subscription: &str, record_type: &str, why: &str) -> Value {
    json!({
        "raw": {"subscriptionId": subscription},
        "ext": {"cloud_type": "azure", "record_type": "collection_summary",
                "subscription_id": subscription, "collected": {}, "failed": {record_type: why},
                "complete": false},
        "com": {"cloud_type": "azure", "record_type": "collection_summary",
                "reference": format!("/subscriptions/{subscription}")}
    })
}

/// A sandbox whose audit `cmp` runs firewallruleevent, the firewall rules
/// of the bundled packs, a Key Vault check and a storage check on
/// `records`.
fn sandbox(records: Value) -> Sandbox {
    let sb = Sandbox::new();
    let path = sb.file("records.json", &records.to_string());
    sb.cmp_audit(
        &path,
        "  azkvkeynoexpiryevent:
    plugin: azkvkeynoexpiryevent
  azstorageaccountsecuretransferevent:
    plugin: azstorageaccountsecuretransferevent
  firewall:
    plugin: rulesevent
    params: {include: [\"firewall_*\"]}
",
        &[
            "firewallruleevent",
            "firewall",
            "azkvkeynoexpiryevent",
            "azstorageaccountsecuretransferevent",
        ],
        "",
    );
    sb
}

/// The automated requirements of the bundled framework `id` that some
/// check maps in full (`checks:` not empty), counted in its file's text.
fn mapped_automated(id: &str) -> u64 {
    let text =
        std::fs::read_to_string(common::python::root().join(format!("frameworks/{id}.yaml")))
            .unwrap();
    text.split("\n  - id: ")
        .skip(1)
        .filter(|r| r.contains("\n    automated: true") && !r.contains("\n    checks: []"))
        .count() as u64
}

/// `compliance --framework <framework> --format json`, exit 0, parsed.
fn json_report(sb: &Sandbox, framework: &str) -> Value {
    sb.compliance_json(framework, &["sandbox.yaml", "cmp.yaml"])
}

/// The requirement `id` of a report.
fn requirement<'r>(report: &'r Value, id: &str) -> &'r Value {
    report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no requirement {id}"))
}

#[test]
fn a_run_s_findings_and_check_summaries_make_the_report() {
    let sb = sandbox(json!([
        azure_rule("allow-admin", "0.0.0.0/0", &["22", "3389"]),
        azure_rule("internal", "10.0.0.0/8", &["22"]),
        gcp_rule("gcp-ssh", "22"),
        gcp_rule("gcp-rdp", "3389"),
        storage_account(),
    ]));
    let run = sb.run_now(&["cmp.yaml"]);
    run.assert_status(0);
    // The event's com.compliance: the Azure frameworks' requirements that
    // map the SSH rule (not the GCP or AWS ones).
    let events: Vec<Value> = sb
        .read_json("cmp_firewall.json")
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["com"]["check"] == "firewall_ssh_open_to_internet")
        .cloned()
        .collect();
    let azure = events
        .iter()
        .find(|e| e["com"]["cloud_type"] == "azure")
        .unwrap();
    let compliance: Vec<&str> = azure["com"]["compliance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        compliance.contains(&"cis_azure_6.0.0 7.2"),
        "{compliance:?}"
    );
    assert!(
        compliance.iter().all(|c| c.starts_with("cis_azure_")),
        "{compliance:?}"
    );

    let report = json_report(&sb, "cis_azure_6.0.0");
    assert_eq!(report["framework"]["id"], "cis_azure_6.0.0");
    assert_eq!(report["framework"]["provider"], "azure");
    // RDP and SSH open to the Internet: one open finding of the Azure rule
    // (the GCP ones are another cloud's); UDP and HTTP(S): evaluated, none.
    for (id, check) in [
        ("7.1", "firewall_rdp_open_to_internet"),
        ("7.2", "firewall_ssh_open_to_internet"),
    ] {
        let r = requirement(&report, id);
        assert_eq!(r["status"], "fail", "{r}");
        assert_eq!(r["open_findings"], 1, "{r}");
        assert_eq!(r["checks"], json!([check]));
    }
    for id in ["7.3", "7.4"] {
        assert_eq!(requirement(&report, id)["status"], "pass");
    }
    // Secure transfer: the storage check read the account and found nothing.
    let r = requirement(&report, "9.3.4");
    assert_eq!(r["status"], "pass", "{r}");
    assert_eq!(r["evaluated"], 1, "{r}");
    // Key expiry: the check ran, but there was no key to read.
    let r = requirement(&report, "8.3.1");
    assert_eq!(r["status"], "not_evaluated", "{r}");
    assert_eq!(
        r["why"],
        "its checks evaluated nothing in the latest run: azure_keyvault_key_no_expiry"
    );
    // Entra ID's security defaults: a check maps it, but this run read no
    // Entra record; 7.12 is only partly checked; 2.1.3 is manual.
    let r = requirement(&report, "5.1.1");
    assert_eq!(r["status"], "not_evaluated");
    assert_eq!(
        r["why"],
        "its checks evaluated nothing in the latest run: azure_entra_security_defaults_off"
    );
    let r = requirement(&report, "7.12");
    assert_eq!(r["status"], "not_evaluated");
    assert_eq!(
        r["why"],
        "only partly checked here (azure_appgateway_tls_below_1_2)"
    );
    assert_eq!(requirement(&report, "2.1.3")["status"], "manual");
    let totals = &report["totals"];
    assert_eq!(
        (totals["pass"].clone(), totals["fail"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(
        totals["score"].as_f64().map(|s| (s * 100.0).round()),
        Some(60.0)
    );
    assert_eq!(
        totals["not_evaluated"].as_u64().unwrap() + totals["manual"].as_u64().unwrap() + 5,
        report["requirements"].as_array().unwrap().len() as u64
    );
    let networking = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["section"] == "7 Networking Services")
        .unwrap();
    assert_eq!(networking["fail"], 2, "{networking}");
    // The GCP benchmark counts the GCP rules.
    let gcp = json_report(&sb, "cis_gcp_5.0.0");
    for id in ["3.6", "3.7"] {
        let r = requirement(&gcp, id);
        assert_eq!(
            (r["status"].as_str(), r["open_findings"].as_u64()),
            (Some("fail"), Some(1)),
            "{r}"
        );
    }

    // The same as a table and as CSV.
    let table = sb.run(&[
        "compliance",
        "--framework",
        "cis_azure_6.0.0",
        "-c",
        "sandbox.yaml",
        "cmp.yaml",
    ]);
    assert_eq!(table.status, Some(0), "{}", table.output());
    table.assert_says("CIS Microsoft Azure Foundations Benchmark 6.0.0 (cis_azure_6.0.0, azure)");
    table.assert_says("Score 60% = 3 pass / (3 pass + 2 fail);");
    let line = table
        .stdout
        .lines()
        .find(|l| l.starts_with("7.1 "))
        .unwrap();
    assert!(
        line.contains(" fail ") && line.ends_with("1 open"),
        "{line}"
    );
    let csv = sb.run(&[
        "compliance",
        "--framework",
        "cis_azure_6.0.0",
        "--format",
        "csv",
        "-c",
        "sandbox.yaml",
        "cmp.yaml",
    ]);
    assert!(
        csv.stdout.contains("\r\ncis_azure_6.0.0,7.1,7 Networking Services,,RDP is not open to the Internet,1,true,fail,1,"),
        "{}",
        csv.stdout
    );
}

#[test]
fn a_failed_collection_is_why_a_requirement_is_not_evaluated() {
    // The cloud could not list the security rules of subscription sub2:
    // the firewall rules have nothing to evaluate.
    let sb = sandbox(json!([
        storage_account(),
        failed_collection("sub2", "security_rule", "HTTP 403: AuthorizationFailed"),
    ]));
    let run = sb.run_now(&["cmp.yaml"]);
    run.assert_status(0);
    let report = json_report(&sb, "cis_azure_6.0.0");
    let r = requirement(&report, "7.1");
    assert_eq!(r["status"], "not_evaluated", "{r}");
    assert_eq!(
        r["why"],
        "the collection failed: subscription sub2 could not read security_rule (HTTP 403: AuthorizationFailed)"
    );
    // What was evaluated still passes, with the failure noted.
    let r = requirement(&report, "9.3.4");
    assert_eq!(r["status"], "pass", "{r}");
    assert!(
        r["note"]
            .as_str()
            .unwrap()
            .starts_with("the collection was incomplete: subscription sub2"),
        "{r}"
    );
    // A later run that reads everything again: the check evaluated nothing,
    // and the collection no longer says why.
    let path = sb.path().join("records.json");
    std::fs::write(
        &path,
        json!([storage_account(), {
            "raw": {}, "ext": {"cloud_type": "azure", "record_type": "collection_summary",
                               "subscription_id": "sub2", "complete": true, "failed": {}},
            "com": {"cloud_type": "azure", "record_type": "collection_summary"}}])
        .to_string(),
    )
    .unwrap();
    let run = sb.run_now(&["cmp.yaml"]);
    run.assert_status(0);
    let report = json_report(&sb, "cis_azure_6.0.0");
    assert_eq!(
        requirement(&report, "7.1")["why"],
        "its checks evaluated nothing in the latest run: firewall_rdp_open_to_internet"
    );
}

#[test]
fn frameworks_are_listed_and_an_unknown_one_is_exit_2() {
    let sb = Sandbox::new();
    let listed = sb.run(&["compliance", "--framework"]);
    assert_eq!(listed.status, Some(0), "{}", listed.output());
    for id in [
        "cis_aws_7.0.0",
        "cis_azure_6.0.0",
        "cis_gcp_5.0.0",
        "cis_azure_1.3.0",
    ] {
        listed.assert_says(id);
    }
    let json = sb.run(&["compliance", "--format", "json"]);
    let frameworks: Value = serde_json::from_str(&json.stdout).unwrap();
    let azure = frameworks
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "cis_azure_6.0.0")
        .unwrap();
    assert_eq!(
        (
            azure["requirements"].as_u64(),
            azure["automated"].as_u64(),
            azure["mapped"].as_u64()
        ),
        (
            Some(127),
            Some(89),
            Some(mapped_automated("cis_azure_6.0.0"))
        ),
    );
    let unknown = sb.run(&["compliance", "--framework", "cis_nope_1.0"]);
    assert_eq!(unknown.status, Some(2), "{}", unknown.output());
    unknown.assert_says("no framework \"cis_nope_1.0\"; the known frameworks are cis_aws_1.4.0, ");
    // Without a findings database every automated requirement is not
    // evaluated: still a report, exit 0.
    let empty = sb.run(&[
        "compliance",
        "--framework",
        "cis_gcp_5.0.0",
        "--format",
        "json",
    ]);
    assert_eq!(empty.status, Some(0), "{}", empty.output());
    empty.assert_says("no findings recorded in");
    let report: Value = serde_json::from_str(&empty.stdout).unwrap();
    assert_eq!(report["totals"]["pass"], 0);
    assert_eq!(report["totals"]["score"], Value::Null);
}

#[test]
fn a_bad_framework_file_of_the_config_is_a_config_error() {
    let sb = Sandbox::new();
    sb.file(
        "acme_1.0.yaml",
        "framework: {id: acme_1.0, name: Acme, version: \"1.0\", provider: azure}\nrequirements:\n  - {id: \"1\", section: \"1 A\", title: T, level: 1, automated: true, checks: [x], owner: me}\n",
    );
    sb.file("fw.yaml", "frameworks: [acme_1.0.yaml]\n");
    for args in [
        &[
            "compliance",
            "--framework",
            "acme_1.0",
            "-c",
            "sandbox.yaml",
            "fw.yaml",
        ][..],
        &["validate", "-c", "sandbox.yaml", "fw.yaml"],
    ] {
        let run = sb.run(args);
        assert_eq!(run.status, Some(2), "{args:?}: {}", run.output());
        run.assert_says("acme_1.0.yaml:3: requirements[0]: unknown field `owner`");
    }
}

#[test]
fn the_installed_host_reads_the_frameworks_installed_beside_its_plugins() {
    // deploy/install.sh into a prefix, from a directory like target/release.
    let sb = Sandbox::new();
    let build = sb.dir("build");
    std::fs::copy(common::binary(), build.join("cloudmarker")).unwrap();
    let root = common::python::root();
    for entry in std::fs::read_dir(root.join("plugins")).unwrap() {
        let manifest = std::fs::read_to_string(entry.unwrap().path().join("Cargo.toml")).unwrap();
        let name = manifest
            .split("[lib]")
            .nth(1)
            .and_then(|lib| lib.lines().find_map(|l| l.trim().strip_prefix("name = ")))
            .map(|name| name.trim_matches('"').to_string())
            .unwrap();
        let lib = plugin_lib(&name);
        std::fs::copy(&lib, build.join(lib.file_name().unwrap())).unwrap();
    }
    let prefix = sb.path().join("prefix");
    common::install(&prefix, &build);
    let data = prefix.join("lib/cloudmarker");
    assert!(data.join("frameworks/cis_azure_6.0.0.yaml").is_file());
    assert!(data.join("rules/gcp/compute.yaml").is_file());
    assert!(!data.join("frameworks/validate.py").exists());
    // A framework added there is one the installed host knows.
    std::fs::copy(
        data.join("frameworks/cis_gcp_5.0.0.yaml"),
        data.join("frameworks/acme_gcp_1.0.yaml"),
    )
    .unwrap();
    let text = std::fs::read_to_string(data.join("frameworks/acme_gcp_1.0.yaml")).unwrap();
    std::fs::write(
        data.join("frameworks/acme_gcp_1.0.yaml"),
        text.replace("id: cis_gcp_5.0.0", "id: acme_gcp_1.0"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(prefix.join("bin/cloudmarker"))
            .args(args)
            .current_dir(sb.path())
            .env("HOME", sb.path())
            .env_remove("CLOUDMARKER_PLUGIN_PATH")
            .env_remove("CLOUDMARKER_FRAMEWORKS_DIR")
            .env_remove("CLOUDMARKER_RULES_DIR")
            .output()
            .unwrap()
    };
    let listed = run(&["compliance"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("acme_gcp_1.0"), "{listed}");
    // And the rule packs installed there are the bundled ones.
    std::fs::write(data.join("rules/gcp/extra.yaml"), "rules: []\n").unwrap();
    let rules = run(&["rules", "list"]);
    assert!(
        rules.status.success(),
        "{}",
        String::from_utf8_lossy(&rules.stderr)
    );
    assert!(
        String::from_utf8_lossy(&rules.stderr).contains("extra.yaml"),
        "the installed packs are read: {}",
        String::from_utf8_lossy(&rules.stderr)
    );
}
