//! The Kubernetes manifests (deploy/kubernetes): every manifest of the base
//! and of the example overlay (rendered as Kustomize does) is valid against
//! the Kubernetes schema, the Job is Indexed with one pod per shard, each
//! pod's index reaches `--shard`, and the pods run locked down.

mod common;

use common::python::{python, root};
use common::Sandbox;
use serde_json::Value;
use std::path::Path;

/// The Kubernetes release whose schema the manifests must satisfy.
const KUBERNETES: &str = "1.30";

/// The manifests of the kustomization in `dir`, rendered and validated.
fn rendered(dir: &str) -> Vec<Value> {
    let output = std::process::Command::new(python())
        .arg(root().join("tests/support/validate_k8s.py"))
        .arg(root().join(dir))
        .arg(KUBERNETES)
        .output()
        .expect("run validate_k8s.py");
    assert!(
        output.status.success(),
        "{dir}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

/// Checks the CronJob of `docs` for `shards` shards; returns its container.
fn check_cronjob(docs: &[Value], shards: u64) -> Value {
    let cronjob = of_kind(docs, "CronJob");
    assert_eq!(cronjob["spec"]["concurrencyPolicy"], "Forbid");
    assert!(cronjob["spec"]["successfulJobsHistoryLimit"].is_u64());
    assert!(cronjob["spec"]["failedJobsHistoryLimit"].is_u64());
    let job = &cronjob["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["completionMode"], "Indexed");
    assert_eq!(job["completions"], shards);
    assert_eq!(job["parallelism"], shards);
    let pod = &job["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(
        pod["serviceAccountName"],
        of_kind(docs, "ServiceAccount")["metadata"]["name"]
    );
    // One shared findings state (PostgreSQL, its URL from a Secret): no
    // volume shared between nodes, where SQLite's WAL mode would break.
    assert!(
        !docs.iter().any(|d| d["kind"] == "PersistentVolumeClaim"),
        "no claim"
    );
    assert!(
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.get("persistentVolumeClaim").is_none()),
        "{pod}"
    );
    let container = pod["containers"][0].clone();
    let url = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "CLOUDMARKER_STATE_URL")
        .expect("CLOUDMARKER_STATE_URL");
    assert_eq!(
        url["valueFrom"]["secretKeyRef"]["name"], "cloudmarker-state",
        "the state URL comes from a Secret"
    );
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    for bound in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][bound][resource].is_string(),
                "{bound}.{resource}"
            );
        }
    }
    // The pod's index reaches --shard: the variable is the Job's
    // completion index, and the argument after --shard is INDEX/COUNT.
    let env = container["env"].as_array().unwrap();
    let index = env
        .iter()
        .find(|e| e["name"] == "JOB_COMPLETION_INDEX")
        .expect("JOB_COMPLETION_INDEX");
    assert_eq!(
        index["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let at = args.iter().position(|a| *a == "--shard").expect("--shard");
    assert_eq!(args[at + 1], format!("$(JOB_COMPLETION_INDEX)/{shards}"));
    container
}

/// The container's args as the kubelet passes them to pod `index`
/// (`$(VAR)` expanded from the container's environment), with the config
/// file `config` instead of the ConfigMap's mount.
fn pod_args(container: &Value, index: u64, config: &Path) -> Vec<String> {
    let mounted = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "config")
        .unwrap()["mountPath"]
        .as_str()
        .unwrap()
        .to_string();
    container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let arg = a
                .as_str()
                .unwrap()
                .replace("$(JOB_COMPLETION_INDEX)", &index.to_string());
            if arg.starts_with(&mounted) {
                config.display().to_string()
            } else {
                arg
            }
        })
        .collect()
}

#[test]
fn the_base_and_the_example_overlay_are_valid_and_wired_for_their_shards() {
    let base = rendered("deploy/kubernetes/base");
    let container = check_cronjob(&base, 4);
    assert_eq!(container["image"], "cloudmarker");

    let overlay = rendered("deploy/kubernetes/overlays/example");
    let container = check_cronjob(&overlay, 8);
    assert_eq!(
        container["image"],
        "registry.example.com/security/cloudmarker:0.1.0"
    );
    for doc in &overlay {
        assert_eq!(doc["metadata"]["namespace"], "security-audit", "{doc}");
        assert_eq!(
            doc["metadata"]["labels"]["app.kubernetes.io/name"],
            "cloudmarker"
        );
    }

    // Pod 5 of the overlay's Job runs shard 5/8.
    let sb = Sandbox::new();
    let config = sb.file(
        "pod.yaml",
        &format!(
            "plugins:\n  mockcloud:\n    params: {{record_count: 40}}\n  filestore:\n    params: {{path: {}}}\nhistory:\n  path: {}\n",
            sb.out().display(),
            sb.history_path().display()
        ),
    );
    let args = pod_args(&container, 5, &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = sb.run(&args);
    run.assert_status(0);
    run.assert_says(", shard 5/8.");
    for record in sb.read_json("mockaudit_mockcloud.json").as_array().unwrap() {
        assert_eq!(record["com"]["shard"], "5/8");
    }
}

#[test]
fn the_config_map_is_a_valid_config_with_its_variables_set() {
    let base = rendered("deploy/kubernetes/base");
    let config = of_kind(&base, "ConfigMap")["data"]["cloudmarker.yaml"]
        .as_str()
        .unwrap()
        .to_string();
    let sb = Sandbox::new();
    sb.file("cloudmarker.yaml", &config);
    let env = [
        ("JOB_COMPLETION_INDEX", "3"),
        ("AZURE_TENANT_ID", "tenant"),
        ("AZURE_CLIENT_ID", "client"),
        ("AZURE_CLIENT_SECRET", "s3cr3t-value"),
        ("ES_URL", "https://es.example.com:9200"),
        (
            "CLOUDMARKER_STATE_URL",
            "postgres://cloudmarker:pg-s3cr3t@db.example.com/cloudmarker?sslmode=verify-full",
        ),
    ];
    let run = sb.run_with(&["validate", "-c", "cloudmarker.yaml"], &env);
    run.assert_status(0);
    assert!(!run.output().contains("s3cr3t-value"));
    assert!(config.contains("url: ${CLOUDMARKER_STATE_URL}"), "{config}");
    let shown = sb.run_with(&["config", "show", "-c", "cloudmarker.yaml"], &env);
    shown.assert_status(0);
    assert!(
        shown
            .stdout
            .contains("postgres://cloudmarker@db.example.com/cloudmarker")
            && !shown.output().contains("pg-s3cr3t"),
        "{}",
        shown.output()
    );
    // Without the Secret's variables, the error names the one missing.
    let run = sb.run_with(&["validate", "-c", "cloudmarker.yaml"], &env[..3]);
    run.assert_status(2);
    assert!(
        run.output().contains("AZURE_CLIENT_SECRET"),
        "{}",
        run.output()
    );
}
