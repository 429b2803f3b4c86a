//! The limits of reading a cloud: throttling and retries, paging (loops,
//! max_pages, one item a page), oversized answers, max_concurrency, the
//! read limits, and a cloud that does not answer.

use crate::common::python::free_port;
use crate::common::{Run, Sandbox};
use crate::upstream::head_config;
use crate::{
    azure_list_requests, cloud_audit, count_requests, failed_in, most_at_once, of_type, run_audit,
    AuditYaml, Clouds,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

/// Runs [`cloud_audit`] of azcloud, with `extra` params, against a server
/// started with `server_args`.
fn run_azcloud(server_args: &[&str], extra: &str) -> (Sandbox, Clouds, Run) {
    run_audit(server_args, "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["azcloud"]).with_params("azcloud", extra)
    })
}

/// The server args that fail each of `faults`: the requests whose path
/// contains `part` of `part=status`, or only the first N with `xN`.
fn failing<'a>(faults: &[&'a str]) -> Vec<&'a str> {
    faults.iter().flat_map(|f| ["--fail", f]).collect()
}

/// [`failing`], with a Retry-After of 0: retries follow at once.
fn failing_at_once<'a>(faults: &[&'a str]) -> Vec<&'a str> {
    let mut args = failing(faults);
    args.extend(["--retry-after", "0"]);
    args
}

#[test]
fn throttling_is_retried_after_the_retry_after_delay() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(
        &sb,
        &failing(&["networkInterfaces=429x2", "loadBalancers=503x1"]),
    );
    let audit = cloud_audit(&clouds, &["azcloud"]);
    let started = Instant::now();
    let run = audit.run(&sb, "clouds.yaml");
    run.assert_status(0);
    run.assert_says("listing nic: HTTP 429 Too Many Requests; retrying in 1.00 s.");
    run.assert_says("listing lb: HTTP 503 Service Unavailable; retrying in 1.00 s.");
    assert!(started.elapsed().as_secs_f64() >= 1.0);
    let azcloud = sb.records("cloudaudit_azcloud.json");
    let summary = &of_type(&azcloud, "collection_summary")[0]["ext"];
    assert_eq!(
        (
            summary["collected"]["nic"].clone(),
            summary["complete"].clone()
        ),
        (json!(2), json!(true))
    );
}

#[test]
fn a_storm_beyond_the_retries_fails_that_type_only() {
    let server_args = failing_at_once(&["loadBalancers=503"]);
    let (_sb, clouds, run) = run_azcloud(&server_args, ", max_retries: 2");
    run.assert_status(1);
    run.assert_says("listing lb: InternalServerError: Injected 503");
    run.assert_says("(after 3 attempts)");
    let lb_requests = count_requests(&clouds, "loadBalancers");
    assert_eq!(lb_requests, 2 * 3, "3 attempts in each of 2 subscriptions");
}

#[test]
fn the_new_azure_plugins_wait_out_throttling() {
    // 429 with Retry-After on a management list, a data plane list and a
    // per-item read: each is retried and the read completes.
    let server_args = failing_at_once(&[
        "Microsoft.Storage/storageAccounts=429x2",
        "/vaults/kv-recoverable/secrets=429x1",
        "/config/web=429x1",
    ]);
    let (sb, clouds, run) = run_audit(&server_args, "throttled.yaml", |clouds| {
        let azure = clouds.azure_params(", max_retries: 3");
        AuditYaml::new("throttled")
            .cloud("azstorageaccount", "azstorageaccount", &azure)
            .cloud("azkv", "azkv", &azure)
            .cloud("azwebapp", "azwebapp", &azure)
    });
    let count = |file: &str, record_type: &str| of_type(&sb.records(file), record_type).len();
    assert_eq!(
        count(
            "throttled_azstorageaccount.json",
            "storage_account_properties"
        ),
        6,
        "{}",
        run.output()
    );
    assert_eq!(count("throttled_azkv.json", "key_vault_secret"), 2);
    assert_eq!(count("throttled_azwebapp.json", "web_app_config"), 2);
    let storage_lists = count_requests(&clouds, "Microsoft.Storage/storageAccounts");
    assert_eq!(
        storage_lists,
        3 + 1,
        "two 429s, then the list; the other subscription once"
    );
}

#[test]
fn the_other_new_lists_wait_out_throttling_too() {
    // 429 with Retry-After on the monitor, SQL, bucket and Cloud SQL lists:
    // retried, and the read completes.
    let server_args = failing_at_once(&[
        "Microsoft.Insights/logprofiles=429x1",
        "/firewallRules=429x1",
        "/storage/v1/b=429x1",
        "/sqladmin/v1/projects/example-project/instances=429x1",
    ]);
    let (sb, clouds, run) = run_audit(&server_args, "clouds.yaml", |clouds| {
        let azure = clouds.azure_params(", max_retries: 3");
        cloud_audit(clouds, &["gcpcloud"])
            .cloud("azmonitor", "azmonitor", &azure)
            .cloud("azsql", "azsql", &azure)
    });
    run.assert_status(0);
    let count = |file: &str, record_type: &str| of_type(&sb.records(file), record_type).len();
    assert_eq!(count("cloudaudit_azmonitor.json", "log_profile"), 1);
    assert_eq!(count("cloudaudit_azsql.json", "sql_firewall_rule"), 3);
    assert_eq!(count("cloudaudit_gcpcloud.json", "bucket"), 2);
    assert_eq!(count("cloudaudit_gcpcloud.json", "sql_instance"), 2);
    assert_eq!(
        count_requests(&clouds, "Microsoft.Insights/logprofiles"),
        2 + 1,
        "a 429, then the list; the other subscription once"
    );
}

#[test]
fn requests_stay_within_max_concurrency() {
    let (_sb, clouds, run) = run_azcloud(&["--latency-ms", "100"], ", max_concurrency: 3");
    run.assert_status(0);
    let requests = azure_list_requests(&clouds);
    assert_eq!(
        requests.len(),
        2 * 10 + 3,
        "10 listed types in 2 subscriptions, three of them with 2 pages"
    );
    let peak = most_at_once(&requests);
    assert!(peak <= 3, "at most 3 requests at once, saw {peak}");
    assert!(peak >= 2, "requests do run in parallel, saw {peak}");
}

#[test]
fn an_unreachable_cloud_fails_without_hanging() {
    let sb = Sandbox::new();
    let clouds = Clouds::start(&sb, &[]);
    let dead = free_port();
    let text = cloud_audit(&clouds, &["azvm"])
        .with_params("azvm", ", max_retries: 1")
        .yaml()
        .replace(&clouds.url(), &format!("http://127.0.0.1:{dead}"))
        .replace(
            &clouds.server.authority(),
            &format!("https://127.0.0.1:{dead}"),
        );
    sb.file("clouds.yaml", &text);
    let run = sb.run_now(&["clouds.yaml"]);
    run.assert_status(1);
    run.assert_says("azvm: cannot list subscriptions: signing in with client_secret failed:");
    run.assert_says("Connection refused");
}

#[test]
fn max_subs_and_max_recs_limit_the_read_and_a_zone_reads_one_zone() {
    let (sb, clouds, run) = run_audit(&[], "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["azcloud", "gcpcloud"])
            .with_params("azcloud", ", _max_subs: 1, _max_recs: 1")
            .with_params("gcpcloud", ", zone: us-central1-a")
    });
    run.assert_status(0);
    let azcloud = sb.records("cloudaudit_azcloud.json");
    let summaries = of_type(&azcloud, "collection_summary");
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0]["ext"]["collected"]["storage_account"], 1);
    assert!(clouds
        .requests()
        .iter()
        .any(|r| r.0 == "/compute/v1/projects/example-project/zones/us-central1-a/instances"));
}

#[test]
fn a_paging_loop_is_cut_and_reported_in_the_summary() {
    let server_args = ["--cycle", "networkSecurityGroups", "--stuck-page-token"];
    let (sb, clouds, run) = run_audit(&server_args, "clouds.yaml", |clouds| {
        cloud_audit(clouds, &["azcloud", "gcpcloud"])
    });
    run.assert_status(1);
    let loop_text = "the server sent a page link or token it had sent before (a paging loop)";
    let azure = failed_in(&sb, "cloudaudit_azcloud.json");
    let nsg = azure["nsg"].as_str().unwrap_or_default();
    assert!(
        nsg.contains(&format!("stopped after 3 page(s): {loop_text}")),
        "{azure}"
    );
    assert_eq!(
        count_requests(&clouds, "networkSecurityGroups"),
        3 + 1,
        "pages 0, 1 and 0 again in the looping subscription, one in the other"
    );
    let google = failed_in(&sb, "cloudaudit_gcpcloud.json");
    assert!(
        google["firewall"]
            .as_str()
            .unwrap_or_default()
            .contains(loop_text),
        "{google}"
    );
    assert_eq!(
        count_requests(&clouds, "/projects/example-project/global/firewalls"),
        2,
        "the repeat is never fetched"
    );
}

#[test]
fn max_pages_cuts_a_long_listing_and_says_so() {
    let server_args = ["--subscriptions-per-page", "2"];
    let (sb, _clouds, run) = run_azcloud(&server_args, ", max_pages: 1");
    run.assert_status(1);
    let failed = failed_in(&sb, "cloudaudit_azcloud.json");
    for record_type in ["nsg", "virtual_machine"] {
        assert!(
            failed[record_type]
                .as_str()
                .unwrap_or_default()
                .contains("stopped after 1 page(s), the limit (max_pages); the list is longer"),
            "{failed}"
        );
    }
    assert!(
        failed.get("storage_account").is_none(),
        "one-page lists are whole"
    );
}

#[test]
fn an_oversized_answer_is_refused_and_reported() {
    let (sb, _clouds, run) = run_azcloud(
        &["--huge", "virtualMachines"],
        ", max_response_bytes: 1048576",
    );
    run.assert_status(1);
    let failed = failed_in(&sb, "cloudaudit_azcloud.json");
    assert!(
        failed["virtual_machine"]
            .as_str()
            .unwrap_or_default()
            .contains(
                "the answer is larger than 1048576 bytes (max_response_bytes); it was not read"
            ),
        "{failed}"
    );
    assert!(failed.get("nsg").is_none(), "{failed}");
}

/// Every file of `sb`'s output as sorted record texts, without the run's
/// `audit_version`, with `clouds`' address as `SERVER` and the sandbox as
/// `SANDBOX`, for comparing two runs of the same audit.
fn outputs(sb: &Sandbox, clouds: &Clouds) -> BTreeMap<String, Vec<String>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(sb.out()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let mut texts: Vec<String> = sb
            .records(path.file_name().unwrap().to_str().unwrap())
            .into_iter()
            .map(|mut r| {
                if let Some(com) = r["com"].as_object_mut() {
                    // When the run happened, not what it read; the finding
                    // ids hash references that hold the server's address.
                    for key in ["audit_version", "first_seen", "last_seen", "finding_id"] {
                        com.remove(key);
                    }
                }
                r.to_string()
                    .replace(&clouds.url(), "SERVER")
                    .replace(&sb.path().display().to_string(), "SANDBOX")
            })
            .collect();
        texts.sort();
        files.insert(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            texts,
        );
    }
    files
}

#[test]
fn every_list_reads_the_same_one_item_a_page() {
    // The server re-pages every Azure list (also those a real service
    // answers in one page: SQL firewall rules and databases, locations,
    // monitor settings) and the bucket and Cloud SQL lists at one item
    // a page; every plugin must read exactly what it reads in one page.
    let whole = Sandbox::new();
    let clouds = Clouds::start(&whole, &[]);
    head_config(&whole, &clouds);
    assert_eq!(whole.run_now(&["head.yaml"]).status, Some(1));

    let paged = Sandbox::new();
    let one_a_page = Clouds::start(&paged, &["--page-size", "1"]);
    head_config(&paged, &one_a_page);
    let run = paged.run_now(&["head.yaml"]);
    run.assert_status(1);

    let (expected, got) = (outputs(&whole, &clouds), outputs(&paged, &one_a_page));
    assert!(expected.len() > 30, "{:?}", expected.keys());
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (file, records) in &expected {
        let missing: Vec<_> = records.iter().filter(|r| !got[file].contains(r)).collect();
        let extra: Vec<_> = got[file].iter().filter(|r| !records.contains(r)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{file}: missing {missing:#?}, extra {extra:#?}"
        );
    }
    for list in [
        "/firewallRules",
        "/databases",
        "/locations",
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Compute/disks",
        "/storage/v1/b",
        "/sqladmin/v1/projects/example-project/instances",
    ] {
        assert!(
            count_requests(&one_a_page, list) > count_requests(&clouds, list),
            "{list} was read in more pages"
        );
    }
}
