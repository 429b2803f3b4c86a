//! Sharded runs (`--shard I/N`, `shard:` and `JOB_COMPLETION_INDEX`): each
//! shard reads only its subscriptions, every subscription is read by
//! exactly one shard, always the same one, and the shards together write
//! what one unsharded run writes.

mod common;

use cloudmarker_plugin_api::sdk::shard::Shard;
use common::python::{self, CloudServer};
use common::Sandbox;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SUBSCRIPTIONS: usize = 40;
const SHARDS: u32 = 4;

/// The records of every file under `out`, without the fields that differ
/// from run to run or shard to shard, as sorted canonical JSON texts (the
/// order of keys may differ).
fn written(out: &Path) -> Vec<String> {
    let mut records = Vec::new();
    for name in [
        "cloudaudit_azcloud.json",
        "cloudaudit_firewallruleevent.json",
    ] {
        for mut value in common::records_at(&out.join(name)) {
            let com = value["com"].as_object_mut().unwrap();
            for key in [
                "audit_version",
                "shard",
                "status",
                "first_seen",
                "last_seen",
                "occurrences",
            ] {
                com.remove(key);
            }
            if let Some(ext) = value["ext"].as_object_mut() {
                ext.remove("shard");
                ext.remove("shard_scopes");
            }
            records.push(cloudmarker_plugin_api::sdk::check::canonical_json(&value));
        }
    }
    records.sort();
    records
}

/// The subscriptions whose resources the requests `from..` listed.
fn listed_subscriptions(log: &Path, from: usize) -> (BTreeSet<String>, usize) {
    let requests = common::timed_requests(log, "path");
    let listed = requests[from..]
        .iter()
        .filter_map(|(path, _, _)| {
            let rest = path.strip_prefix("/subscriptions/")?;
            let (id, tail) = rest.split_once('/')?;
            (!tail.is_empty()).then(|| id.to_string())
        })
        .collect();
    (listed, requests.len())
}

/// Runs the four shards; returns each subscription's shard.
fn run_shards(sb: &Sandbox, server: &CloudServer, log: &Path, round: u32) -> BTreeMap<String, u32> {
    let mut owner = BTreeMap::new();
    let mut seen = common::timed_requests(log, "path").len();
    for index in 0..SHARDS {
        let out = sb.path().join(format!("round{round}-shard{index}"));
        let name = format!("shard{index}.yaml");
        sb.azure_audit(server, &name, &out, &["firewallruleevent"], true);
        let shard = format!("{index}/{SHARDS}");
        let run = sb.run(&["-n", "--shard", &shard, "-c", "sandbox.yaml", &name]);
        run.assert_status(0);
        run.assert_says(&format!("Shard {shard}: taking "));
        let (listed, total) = listed_subscriptions(log, seen);
        seen = total;
        for subscription in listed {
            assert_eq!(
                Shard::of(&subscription, SHARDS),
                index,
                "{subscription} read by shard {index}, not its own"
            );
            let earlier = owner.insert(subscription.clone(), index);
            assert_eq!(earlier, None, "{subscription} read by two shards");
        }
        // Every record and event says which shard wrote it; each summary
        // says how many of the 40 subscriptions this shard took.
        let records = common::records_at(&out.join("cloudaudit_azcloud.json"));
        for record in &records {
            assert_eq!(record["com"]["shard"], shard.as_str(), "{record}");
        }
        for summary in records
            .iter()
            .filter(|r| r["ext"]["record_type"] == "collection_summary")
        {
            assert_eq!(summary["ext"]["shard"], shard.as_str());
            assert_eq!(summary["ext"]["shard_scopes"]["of"], SUBSCRIPTIONS);
            let taken = summary["ext"]["shard_scopes"]["taken"].as_u64().unwrap();
            let own = owner.values().filter(|i| **i == index).count() as u64;
            assert_eq!(taken, own);
        }
    }
    owner
}

#[test]
fn four_shards_read_forty_subscriptions_once_each_and_write_what_one_run_writes() {
    let sb = Sandbox::new();
    let log = sb.path().join("requests.jsonl");
    let server = python::cloud_server(
        &log,
        &["--subscriptions", "40", "--subscriptions-per-page", "7"],
    );
    let whole: PathBuf = sb.path().join("unsharded");
    sb.azure_audit(&server, "whole.yaml", &whole, &["firewallruleevent"], true);
    let run = sb.run_now(&["whole.yaml"]);
    run.assert_status(0);
    let (everything, _) = listed_subscriptions(&log, 0);
    assert_eq!(everything.len(), SUBSCRIPTIONS);

    let owners = run_shards(&sb, &server, &log, 1);
    assert_eq!(
        owners.keys().cloned().collect::<BTreeSet<_>>(),
        everything,
        "every subscription is read by exactly one shard"
    );
    for index in 0..SHARDS {
        let own = owners.values().filter(|i| **i == index).count();
        assert!(own > 0 && own < 20, "shard {index} took {own} of 40");
    }
    let mut union: Vec<String> = (0..SHARDS)
        .flat_map(|i| written(&sb.path().join(format!("round1-shard{i}"))))
        .collect();
    union.sort();
    let unsharded = written(&whole);
    assert!(unsharded.len() > SUBSCRIPTIONS, "{}", unsharded.len());
    let missing: Vec<&String> = unsharded.iter().filter(|r| !union.contains(r)).collect();
    let extra: Vec<&String> = union.iter().filter(|r| !unsharded.contains(r)).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && union.len() == unsharded.len(),
        "the shards together write what one run writes: {} vs {} records; first missing: {:?}; first extra: {:?}",
        union.len(),
        unsharded.len(),
        missing.first(),
        extra.first()
    );

    // A saved estate re-read by filecloud divides the same way.
    sb.file(
        "saved.yaml",
        &format!(
            "plugins:\n  saved:\n    plugin: filecloud\n    params: {{path: \"{}\"}}\naudits:\n  mockaudit:\n    clouds: [saved]\n",
            whole.join("cloudaudit_azcloud.json").display()
        ),
    );
    let mut resaved = 0;
    for index in 0..SHARDS {
        let shard = format!("{index}/{SHARDS}");
        let run = sb.run(&["-n", "--shard", &shard, "-c", "sandbox.yaml", "saved.yaml"]);
        run.assert_status(0);
        let read = sb.read_json("mockaudit_saved.json");
        for record in read.as_array().unwrap() {
            let subscription = record["ext"]["subscription_id"].as_str().unwrap();
            assert_eq!(owners[subscription], index, "{record}");
            resaved += 1;
        }
    }
    let saved = common::records_at(&whole.join("cloudaudit_azcloud.json"));
    assert_eq!(resaved, saved.len());

    // The next night: each subscription on the same shard.
    assert_eq!(run_shards(&sb, &server, &log, 2), owners);
    // A sharded run resolves nothing outside its own subscriptions.
    let resolved = sb.run(&["findings", "--status", "resolved", "-c", "sandbox.yaml"]);
    assert_eq!(resolved.stdout, "No findings.\n", "{}", resolved.output());
}

#[test]
fn the_shard_index_comes_from_job_completion_index() {
    let sb = Sandbox::new();
    sb.file(
        "sharded.yaml",
        "plugins:\n  mockcloud:\n    params: {record_count: 40}\nshard:\n  count: 4\n",
    );
    let mut data = Vec::new();
    for index in 0..4 {
        let run = sb.run_with(
            &["-n", "-c", "sandbox.yaml", "sharded.yaml"],
            &[("JOB_COMPLETION_INDEX", &index.to_string())],
        );
        run.assert_status(0);
        run.assert_says("with audit version");
        run.assert_says(&format!(", shard {index}/4."));
        let records = sb.read_json("mockaudit_mockcloud.json");
        for record in records.as_array().unwrap() {
            assert_eq!(record["com"]["shard"], format!("{index}/4"));
            data.push(record["raw"]["data"].as_i64().unwrap());
        }
        let history = std::fs::read_to_string(sb.history_path()).unwrap_or_default();
        let last: Value = serde_json::from_str(history.lines().last().unwrap_or("{}")).unwrap();
        assert_eq!(last["shard"], format!("{index}/4"), "{history}");
    }
    data.sort();
    assert_eq!(data, (0..40).collect::<Vec<i64>>(), "each record once");
    // A cloud plugin in a process of its own takes its shard too.
    let run = sb.run_with(
        &[
            "-n",
            "--isolate-plugins",
            "-c",
            "sandbox.yaml",
            "sharded.yaml",
        ],
        &[("JOB_COMPLETION_INDEX", "2")],
    );
    run.assert_status(0);
    let isolated: Vec<i64> = sb
        .read_json("mockaudit_mockcloud.json")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["raw"]["data"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (0..40)
        .filter(|i| Shard::of(&i.to_string(), 4) == 2)
        .collect();
    assert_eq!(isolated, expected);
    // --shard wins over the variable.
    let run = sb.run_with(
        &["-n", "--shard", "1/4", "-c", "sandbox.yaml", "sharded.yaml"],
        &[("JOB_COMPLETION_INDEX", "3")],
    );
    run.assert_status(0);
    run.assert_says(", shard 1/4.");
}

#[test]
fn bad_shards_and_plugins_that_cannot_shard_are_refused_with_the_reason() {
    let sb = Sandbox::new();
    let run = sb.run(&["-n", "--shard", "4/4", "-c", "sandbox.yaml"]);
    run.assert_status(2);
    assert!(run.output().contains("numbered from 0"), "{}", run.output());

    sb.file("nocount.yaml", "shard:\n  count: 0\n");
    let run = sb.run_now(&["nocount.yaml"]);
    run.assert_status(2);
    assert!(run.output().contains("shard.count"), "{}", run.output());

    sb.file("noindex.yaml", "shard:\n  count: 4\n");
    let run = sb.run_now(&["noindex.yaml"]);
    run.assert_status(2);
    assert!(
        run.output()
            .contains("shard.index: is not set, and neither is JOB_COMPLETION_INDEX"),
        "{}",
        run.output()
    );

    // A cloud plugin that does not divide its work is refused.
    sb.file(
        "faulty.yaml",
        "plugins:\n  faulty:\n    plugin: faultycloud\naudits:\n  mockaudit:\n    clouds: [faulty]\n",
    );
    let run = sb.run(&["-n", "--shard", "0/2", "-c", "sandbox.yaml", "faulty.yaml"]);
    run.assert_status(1);
    run.assert_says("plugin faultycloud does not divide its work between shards");
}
