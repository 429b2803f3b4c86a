//! Loading, selecting and evaluating rules, end to end.

use super::*;
use cloudmarker_plugin_api::sdk::check::{finding_id, Finding};
use serde_json::{json, Map, Value};

/// A rule file with one rule over `vm` records; `extra` is added to it.
fn one_rule(extra: &str) -> String {
    format!(
        r#"rules:
  - id: open_vm
    title: Open VM
    severity: high
    cloud_type: mock
    record_type: vm
    fail: raw.open == true
    description: "VM {{{{ raw.name }}}} is open."
    remediation:
      text: Close VM {{{{ raw.name }}}}
      cli: mock close {{{{ raw.name }}}}
{extra}"#
    )
}

const TESTS: &str = r#"    tests:
      fail: [{raw: {name: a, open: true}}]
      pass: [{raw: {name: a, open: false}}]
"#;

fn load(text: &str, origin: Origin, options: &Options) -> Result<RuleSet, LoadError> {
    Loader::new()
        .add_text("pack.yaml", text, origin)
        .load(options)
}

fn record(rt: &str, cloud: &str, raw: Value) -> String {
    json!({"raw": raw, "ext": {"record_type": rt, "cloud_type": cloud, "project": "p1"},
           "com": {"record_type": rt, "cloud_type": cloud, "reference": "vm/a"}})
    .to_string()
}

fn events(set: &RuleSet, record: &str) -> Vec<Value> {
    set.evaluate(record)
        .unwrap()
        .iter()
        .map(|f| serde_json::to_value(f).unwrap())
        .collect()
}

fn messages(err: &LoadError) -> Vec<String> {
    err.errors().map(ToString::to_string).collect()
}

#[test]
fn a_rule_raises_events_like_a_compiled_check() {
    let set = load(&one_rule(TESTS), Origin::Bundled, &Options::default()).unwrap();
    let raised = events(
        &set,
        &record("vm", "mock", json!({"name": "a", "open": true})),
    );
    let mut expected = Finding::new(
        "open_vm",
        "VM a is open.".into(),
        "Close VM a: run mock close a".into(),
    )
    .cloud_type(Some("mock"))
    .reference(Some("vm/a"))
    .ext("project", "p1")
    .ext("cloud_type", "mock")
    .com(CHECK, "open_vm");
    expected.identify(cloudmarker_plugin_api::sdk::check::Severity::High);
    assert_eq!(raised, [serde_json::to_value(&expected).unwrap()]);
    assert_eq!(
        raised[0]["com"]["finding_id"],
        finding_id("open_vm", Some("vm/a"), &Map::new(), &Map::new())
    );
    assert_eq!(raised[0]["com"]["severity"], "high");
    assert!(events(
        &set,
        &record("vm", "mock", json!({"name": "a", "open": false}))
    )
    .is_empty());
    let stats = &set.stats()[0];
    assert_eq!((stats.evaluated, stats.failed), (2, 1));
}

#[test]
fn a_rule_indexes_only_its_record_types_and_cloud() {
    let set = load(&one_rule(TESTS), Origin::Bundled, &Options::default()).unwrap();
    assert_eq!(set.record_types().collect::<Vec<_>>(), ["vm"]);
    let open = json!({"name": "a", "open": true});
    // Another type: not even read.
    assert_eq!(
        set.evaluate_into(&record("disk", "mock", open.clone()), &mut Vec::new()),
        Ok(0)
    );
    // Another cloud.
    assert_eq!(
        set.evaluate_into(&record("vm", "gcp", open.clone()), &mut Vec::new()),
        Ok(0)
    );
    // The type in ext or in com alone.
    let ext_only =
        json!({"raw": open, "ext": {"record_type": "vm"}, "com": {"cloud_type": "mock"}});
    assert_eq!(events(&set, &ext_only.to_string()).len(), 1);
    let com_only = json!({"raw": open, "ext": {"record_type": "mock_vm"},
                          "com": {"record_type": "vm", "cloud_type": "mock"}});
    assert_eq!(events(&set, &com_only.to_string()).len(), 1);
    assert_eq!(set.stats()[0].not_applicable, 1);
    assert!(set.evaluate("[1]").is_err());
    assert!(set.evaluate("{").is_err());
}

#[test]
fn a_cel_syntax_error_names_file_line_and_rule() {
    let text = one_rule(TESTS).replace("fail: raw.open == true", "fail: raw.open ==");
    let err = load(&text, Origin::Bundled, &Options::default()).unwrap_err();
    let messages = messages(&err);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0]
            .starts_with("pack.yaml:7: rule open_vm: fail: CEL syntax error at line 1 column"),
        "{}",
        messages[0]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = format!(
        "{}{TESTS}  - id: second\n    title: t\n    severity: low\n    record_type: vm\n    fial: x\n    fail: nope.x\n    description: d\n    remediation: {{text: r}}\n{}",
        one_rule(""),
        "  - id: open_vm\n    title: again\n    severity: low\n    record_type: vm\n    fail: 'true'\n    description: d\n    remediation: {text: r}\n    tests: {fail: [{}], pass: [{}]}\n"
    );
    let err = load(&text, Origin::Bundled, &Options::default()).unwrap_err();
    let messages = messages(&err);
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("pack.yaml:15: rule second: unknown field `fial`")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with(
            "pack.yaml:23: rule open_vm: duplicate rule id (first defined at pack.yaml:2)"
        )),
        "{messages:?}"
    );
    // Nothing else: the copy's test cases are not run (a bundled rule's
    // are run by `rules test`).
    assert_eq!(messages.len(), 2, "{messages:?}");
}

#[test]
fn unknown_names_and_yaml_errors_are_located() {
    let text = one_rule(TESTS).replace("raw.open == true", "record.open");
    let err = load(&text, Origin::Bundled, &Options::default()).unwrap_err();
    assert!(
        messages(&err)[0].contains("pack.yaml:7: rule open_vm: fail: unknown variable `record`"),
        "{err}"
    );
    let err = load("rules:\n  - id: [\n", Origin::User, &Options::default()).unwrap_err();
    assert!(messages(&err)[0].starts_with("pack.yaml:"), "{err}");
    let err = load("rulez: []\n", Origin::User, &Options::default()).unwrap_err();
    assert!(messages(&err)[0].contains("unknown field `rulez`"), "{err}");
}

#[test]
fn tests_are_required_of_bundled_rules_and_run_at_load() {
    let err = load(&one_rule(""), Origin::Bundled, &Options::default()).unwrap_err();
    assert!(
        messages(&err)[0]
            .starts_with("pack.yaml:2: rule open_vm: no test records it must fail or pass"),
        "{err}"
    );
    let set = load(&one_rule(""), Origin::User, &Options::default()).unwrap();
    assert_eq!(set.warnings().len(), 1);
    assert!(set.warnings()[0]
        .to_string()
        .starts_with("warning: pack.yaml:2: rule open_vm: no test records"));
    // A case the user's rule disagrees with, or cannot evaluate.
    let wrong = one_rule(TESTS).replace("open: false}}]", "open: true}}, {raw: {name: b}}]");
    let err = load(&wrong, Origin::User, &Options::default()).unwrap_err();
    let messages = messages(&err);
    assert_eq!(
        messages,
        [
            "pack.yaml:12: rule open_vm: tests.pass[0]: raised a finding",
            "pack.yaml:12: rule open_vm: tests.pass[1]: not evaluated: fail: No such key: open",
        ]
    );
    // The bundled packs' cases run in CI (`rules test`), not at every load.
    assert!(load(&wrong, Origin::Bundled, &Options::default()).is_ok());
    // `rules test` loads without running them, then runs them itself.
    let set = load(
        &wrong,
        Origin::Bundled,
        &Options {
            skip_tests: true,
            ..Options::default()
        },
    )
    .unwrap();
    let report = set.run_tests();
    assert_eq!((report.cases.len(), report.passed()), (3, 1));
    assert_eq!(
        report.failures().next().unwrap().outcome,
        Outcome::Disagreed
    );
}

#[test]
fn absent_fields_are_not_evaluated_and_counted() {
    let set = load(&one_rule(""), Origin::User, &Options::default()).unwrap();
    assert!(events(&set, &record("vm", "mock", json!({"name": "a"}))).is_empty());
    assert_eq!(set.stats()[0].not_evaluated, 1);
    assert_eq!(set.stats()[0].evaluated, 0);
    // has() and optionals read them.
    let guarded = one_rule("").replace("raw.open == true", "has(raw.open) && raw.open");
    let set = load(&guarded, Origin::User, &Options::default()).unwrap();
    assert!(events(&set, &record("vm", "mock", json!({"name": "a"}))).is_empty());
    assert_eq!(set.stats()[0].not_evaluated, 0);
    let optional = one_rule("").replace("raw.open == true", "raw.?open.orValue(true)");
    let set = load(&optional, Origin::User, &Options::default()).unwrap();
    // An absent name in a template reads (unknown).
    let raised = events(&set, &record("vm", "mock", json!({})));
    assert_eq!(raised[0]["com"]["description"], "VM (unknown) is open.");
    // A fail that is not a boolean is not evaluated either.
    let not_bool = one_rule("").replace("raw.open == true", "raw.name");
    let set = load(&not_bool, Origin::User, &Options::default()).unwrap();
    assert!(events(&set, &record("vm", "mock", json!({"name": "a"}))).is_empty());
    assert_eq!(set.stats()[0].not_evaluated, 1);
}

#[test]
fn params_have_defaults_and_typed_overrides() {
    let text = one_rule("    params: {max_disks: 2, names: [x]}\n").replace(
        "raw.open == true",
        "size(raw.disks) > params.max_disks || raw.name in params.names",
    );
    let vm = |disks: usize, name: &str| {
        record("vm", "mock", json!({"name": name, "disks": vec![1; disks]}))
    };
    let set = load(&text, Origin::User, &Options::default()).unwrap();
    assert_eq!(events(&set, &vm(3, "a")).len(), 1);
    assert_eq!(events(&set, &vm(2, "x")).len(), 1);
    assert!(events(&set, &vm(2, "a")).is_empty());
    let rule_params: RuleParams =
        serde_json::from_value(json!({"open_vm": {"max_disks": 5, "names": ["a"]}})).unwrap();
    let options = Options {
        rule_params,
        ..Options::default()
    };
    let set = load(&text, Origin::User, &options).unwrap();
    assert!(events(&set, &vm(3, "b")).is_empty());
    assert_eq!(events(&set, &vm(1, "a")).len(), 1);
    assert_eq!(set.info()[0].params["max_disks"], 5);
    for (bad, expected) in [
        (
            json!({"open_vm": {"max_disks": "5"}}),
            "rule open_vm: rule_params: param `max_disks` must be an integer",
        ),
        (
            json!({"open_vm": {"maxdisks": 5}}),
            "rule open_vm: rule_params: unknown param `maxdisks`",
        ),
        (
            json!({"other": {}}),
            "rule_params names `other`, which is no rule's id",
        ),
    ] {
        let options = Options {
            rule_params: serde_json::from_value(bad).unwrap(),
            ..Options::default()
        };
        let err = load(&text, Origin::User, &options).unwrap_err();
        assert!(messages(&err)[0].contains(expected), "{err}");
    }
    // A param no rule declares, in CEL.
    let err = load(
        &one_rule("").replace("raw.open == true", "params.x"),
        Origin::User,
        &Options::default(),
    )
    .unwrap_err();
    assert!(
        messages(&err)[0].contains("unknown param `params.x`"),
        "{err}"
    );
}

#[test]
fn include_and_exclude_select_rules() {
    let text = format!(
        "{}{TESTS}{}",
        one_rule(""),
        one_rule(TESTS)
            .replace("rules:\n", "")
            .replace("id: open_vm", "id: other_vm\n    plugin: mockvmevent")
    );
    let ids = |selection: Selection| -> Result<Vec<String>, LoadError> {
        let set = load(
            &text,
            Origin::Bundled,
            &Options {
                selection,
                ..Options::default()
            },
        )?;
        Ok(set.rules().iter().map(|r| r.id().to_owned()).collect())
    };
    assert_eq!(ids(Selection::default()).unwrap(), ["open_vm", "other_vm"]);
    let only = |p: &str| Selection {
        include: vec![p.into()],
        exclude: vec![],
    };
    assert_eq!(ids(only("open_*")).unwrap(), ["open_vm"]);
    assert_eq!(ids(only("mockvmevent")).unwrap(), ["other_vm"]);
    // Framework ids and requirements name the rules they map.
    let framework = crate::framework::parse(
        std::path::Path::new("x_1.0.0.yaml"),
        "framework: {id: x_1.0.0, name: X, version: 1.0.0, provider: gcp}\nrequirements:\n  - {id: '1.1', section: '1 A', title: t, level: 1, automated: true, checks: [open_vm]}\n  - {id: '2.1', section: '2 B', title: t, level: 1, automated: true, checks: [], partial_checks: [other_vm]}\n",
    )
    .unwrap();
    let mut frameworks = crate::framework::Frameworks::new();
    frameworks.insert(framework);
    let by_framework = |p: &str| {
        let set = load(
            &text,
            Origin::Bundled,
            &Options {
                selection: only(p),
                frameworks: frameworks.clone(),
                ..Options::default()
            },
        )
        .unwrap();
        set.rules()
            .iter()
            .map(|r| r.id().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(by_framework("x_1.0.0"), ["open_vm", "other_vm"]);
    assert_eq!(by_framework("x_1.0.0 2.*"), ["other_vm"]);
    assert!(ids(only("x_1.0.0")).is_err(), "no frameworks given");
    assert_eq!(
        ids(Selection {
            include: vec![],
            exclude: vec!["other_*".into()]
        })
        .unwrap(),
        ["open_vm"]
    );
    let err = ids(only("typo_*")).unwrap_err();
    assert!(
        messages(&err)[0].contains("include: `typo_*` matches no rule"),
        "{err}"
    );
    let set = load(&text, Origin::Bundled, &Options::default()).unwrap();
    assert_eq!(set.plugins(), [("mockvmevent", vec!["other_vm"])].into());
}

#[test]
fn events_keep_their_type_and_identity_values() {
    let text = one_rule(TESTS).replace(
        "    record_type: vm\n",
        "    record_type: vm\n    event: legacy_open_event\n    distinguished_by: {port: raw.port}\n",
    );
    let set = load(&text, Origin::Bundled, &Options::default()).unwrap();
    let raised = events(
        &set,
        &record("vm", "mock", json!({"name": "a", "open": true, "port": 22})),
    );
    assert_eq!(raised[0]["com"]["record_type"], "legacy_open_event");
    assert_eq!(raised[0]["ext"]["record_type"], "legacy_open_event");
    assert_eq!(raised[0]["com"]["check"], "open_vm");
    let distinguishing: Map<String, Value> =
        [("port".to_string(), json!(22))].into_iter().collect();
    assert_eq!(
        raised[0]["com"]["finding_id"],
        finding_id(
            "legacy_open_event",
            Some("vm/a"),
            &Map::new(),
            &distinguishing
        )
    );
}

#[test]
fn rules_load_from_directories_and_describe_themselves() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mock")).unwrap();
    std::fs::write(dir.path().join("mock/vm.yaml"), one_rule(TESTS)).unwrap();
    std::fs::write(dir.path().join("mock/notes.txt"), "not rules").unwrap();
    let set = Loader::new()
        .add_path(dir.path(), Origin::Bundled)
        .load(&Options::default())
        .unwrap();
    let info = &set.info()[0];
    assert_eq!(info.id, "open_vm");
    assert_eq!(info.record_types, ["vm"]);
    assert_eq!(info.cloud_type.as_deref(), Some("mock"));
    assert_eq!(info.tests, (1, 1));
    assert_eq!(info.line, Some(2));
    assert!(info.path.ends_with("mock/vm.yaml"));
    let err = Loader::new()
        .add_path(dir.path().join("missing.yaml"), Origin::User)
        .load(&Options::default())
        .unwrap_err();
    assert!(
        messages(&err)[0].contains("missing.yaml: cannot read the rule file"),
        "{err}"
    );
}

#[test]
fn the_bundled_packs_load_and_pass_their_tests() {
    let dir = source_rules_dir();
    let set = Loader::new()
        .add_path(&dir, Origin::Bundled)
        .load(&Options {
            skip_tests: true,
            ..Options::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!set.is_empty());
    let report = set.run_tests();
    let failures: Vec<String> = report.failures().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(report.untested.is_empty(), "{:?}", report.untested);
}

/// This thread's CPU time, in nanoseconds (wall time misleads on a busy
/// machine).
fn cpu_ns() -> u128 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u128 * 1_000_000_000 + t.tv_nsec as u128
}

/// The bundled rules, from the source tree.
pub(crate) fn bundled_rules() -> RuleSet {
    Loader::new()
        .add_path(source_rules_dir(), Origin::Bundled)
        .load(&Options::default())
        .unwrap()
}

/// A page of GCP compute instances (Forseti's test data).
fn forseti_instances() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/data/gcp/instances_list.forseti.json"
    ))
    .unwrap()
}

/// The cost of evaluation, in a release build:
/// `cargo test --release -p cloudmarker-rules --lib -- --ignored --nocapture bench`.
#[test]
#[ignore]
fn bench_evaluate() {
    let set = bundled_rules();
    let page = forseti_instances();
    let mut instance = page["items"][0].clone();
    instance["shieldedInstanceConfig"] =
        json!({"enableSecureBoot": true, "enableVtpm": true, "enableIntegrityMonitoring": true});
    let record = |instance: &Value, rt: &str| {
        json!({"raw": instance,
               "ext": {"project_id": "project1", "project_name": "Project 1",
                       "client_email": "reader@project1.iam.gserviceaccount.com",
                       "cloud_type": "gcp", "record_type": rt, "zone": "us-central1-c"},
               "com": {"cloud_type": "gcp", "record_type": rt, "reference": instance["selfLink"]}})
        .to_string()
    };
    let compute = record(&instance, "compute");
    let other = record(&instance, "other");
    let mut failing = instance.clone();
    failing["canIpForward"] = json!(true);
    let failing = record(&failing, "compute");
    let n = 200_000;
    let time = |what: &str, f: &mut dyn FnMut()| {
        for _ in 0..n / 10 {
            f();
        }
        let start = cpu_ns();
        for _ in 0..n {
            f();
        }
        let ns = (cpu_ns() - start) as f64 / n as f64;
        println!("{what}: {ns:.0} ns");
        ns
    };
    let mut findings = Vec::new();
    println!("record: {} bytes, {} rules", compute.len(), set.len());
    let head = time(
        "Head::parse (what a compiled check pays per record)",
        &mut || {
            std::hint::black_box(cloudmarker_plugin_api::record::Head::parse(&compute).unwrap());
        },
    );
    let skip = time("evaluate, a record of no rule's type", &mut || {
        findings.clear();
        set.evaluate_into(&other, &mut findings).unwrap();
    });
    let pass = time(
        "evaluate, a compute record, 3 rules, no finding",
        &mut || {
            findings.clear();
            set.evaluate_into(&compute, &mut findings).unwrap();
        },
    );
    let fail = time(
        "evaluate, a compute record, 3 rules, 1 finding",
        &mut || {
            findings.clear();
            set.evaluate_into(&failing, &mut findings).unwrap();
        },
    );
    for rule in set.rules() {
        let one = Loader::new()
            .add_path(source_rules_dir(), Origin::Bundled)
            .load(&Options {
                selection: Selection {
                    include: vec![rule.id().into()],
                    exclude: vec![],
                },
                ..Options::default()
            })
            .unwrap();
        time(&format!("  {} alone", rule.id()), &mut || {
            findings.clear();
            one.evaluate_into(&compute, &mut findings).unwrap();
        });
    }
    let parse = time("  Located::parse of the compute record", &mut || {
        std::hint::black_box(crate::engine::Located::parse(&compute).unwrap());
    });
    for rule in set.rules() {
        let located = crate::engine::Located::parse(&compute).unwrap();
        match rule.judge(&located, false) {
            crate::engine::Judgement::NotEvaluated(e) => {
                println!("  {}: not evaluated: {e}", rule.id())
            }
            crate::engine::Judgement::NotApplicable(e) => {
                println!("  {}: not applicable: {e}", rule.id())
            }
            crate::engine::Judgement::Pass => println!("  {}: pass", rule.id()),
            crate::engine::Judgement::Fail(_) => println!("  {}: fail", rule.id()),
        }
        time(
            &format!("  parse + judge {} (parse {parse:.0} ns)", rule.id()),
            &mut || {
                let located = crate::engine::Located::parse(&compute).unwrap();
                std::hint::black_box(rule.judge(&located, false));
            },
        );
    }
    let located = crate::engine::Located::parse(&compute).unwrap();
    for rule in set.rules() {
        time(
            &format!("  judge {} again on a parsed record", rule.id()),
            &mut || {
                std::hint::black_box(rule.judge(&located, false));
            },
        );
    }
    println!(
        "per (record, applicable rule), above the scan: {:.0} ns; a finding costs {:.0} ns; \
         the scan: {:.0} ns ({:.0} ns for Head::parse)",
        (pass - skip) / 3.0,
        fail - pass,
        skip,
        head
    );
}

#[test]
#[ignore]
fn bench_cel_pieces() {
    use cel::common::value::CowVal;
    use cel::context::VariableResolver;
    struct R<'a>(&'a (dyn cel::common::value::Val + 'a));
    impl VariableResolver for R<'_> {
        fn resolve<'b>(&'b self, v: &str) -> Option<CowVal<'b, 'b>> {
            (v == "raw").then(|| CowVal::Borrowed(self.0))
        }
    }
    let text = r#"{"name": "vm1", "canIpForward": false, "metadata": {"items": [{"key": "a", "value": "b"}, {"key": "c", "value": "d"}]}}"#;
    let text_raw: Box<serde_json::value::RawValue> = serde_json::from_str(text).unwrap();
    let raw = crate::values::value(&text_raw);
    let r = R(raw.as_ref());
    let n = 100_000;
    let per = |what: &str, f: &mut dyn FnMut()| {
        let start = cpu_ns();
        for _ in 0..n {
            f();
        }
        println!("{what}: {:.0} ns", (cpu_ns() - start) as f64 / n as f64);
    };
    for source in [
        "true",
        "1 == 1",
        "raw.canIpForward",
        "has(raw.canIpForward)",
        "raw.name == 'vm1'",
        "raw.metadata.items.exists(i, i.key == 'c')",
        "raw.name.lowerAscii() in ['a', 'vm1']",
    ] {
        let program = crate::env().compile(source).unwrap();
        per(source, &mut || {
            let mut ctx = cel::Context::with_env(crate::env());
            ctx.set_variable_resolver(&r);
            std::hint::black_box(program.execute(&ctx).unwrap());
        });
    }
    per("context", &mut || {
        let mut ctx = cel::Context::with_env(crate::env());
        ctx.set_variable_resolver(&r);
        std::hint::black_box(&ctx);
    });
    per(
        &format!("locate the entries of {} bytes", text.len()),
        &mut || {
            std::hint::black_box(crate::values::value(&text_raw));
        },
    );
    per(
        &format!("serde_json::Value of {} bytes", text.len()),
        &mut || {
            std::hint::black_box(serde_json::from_str::<Value>(text).unwrap());
        },
    );
}

#[test]
#[ignore]
fn bench_one_rule() {
    let set = bundled_rules();
    let page = forseti_instances();
    let instance = page["items"][0].clone();
    let compute = json!({"raw": instance,
           "ext": {"project_id": "project1", "cloud_type": "gcp", "record_type": "compute", "zone": "z"},
           "com": {"cloud_type": "gcp", "record_type": "compute", "reference": instance["selfLink"]}})
    .to_string();
    let rule = set.rule("gcp_compute_ip_forwarding_enabled").unwrap();
    let start = cpu_ns();
    for _ in 0..300_000 {
        let located = crate::engine::Located::parse(&compute).unwrap();
        std::hint::black_box(rule.judge(&located, false));
    }
    println!(
        "parse + judge: {:.0} ns",
        (cpu_ns() - start) as f64 / 300_000.0
    );
}

#[test]
fn params_checks_refuse_unusable_params_at_load() {
    let text = one_rule(TESTS).replace(
        "    fail: raw.open == true\n",
        "    params: {max_days: 90}\n    params_check:\n      - {valid: params.max_days >= 1, message: max_days must be at least 1}\n    fail: raw.open == true && params.max_days > 0\n",
    );
    assert!(load(&text, Origin::User, &Options::default()).is_ok());
    let options = |days: i64| Options {
        rule_params: serde_json::from_value(json!({"open_vm": {"max_days": days}})).unwrap(),
        ..Options::default()
    };
    assert!(load(&text, Origin::User, &options(30)).is_ok());
    let err = load(&text, Origin::User, &options(0)).unwrap_err();
    assert_eq!(
        messages(&err),
        [
            r#"pack.yaml:7: rule open_vm: params: max_days must be at least 1 (in force: {"max_days":0})"#
        ]
    );
    // A check that reads the record, or is no boolean, is a bad rule.
    for (valid, says) in [
        ("raw.open", "params_check: raw.open: "),
        (
            "params.max_days",
            "params_check: params.max_days gives 90, not a boolean",
        ),
    ] {
        let bad = text.replace("params.max_days >= 1", valid);
        let err = load(&bad, Origin::User, &Options::default()).unwrap_err();
        assert!(messages(&err)[0].contains(says), "{err}");
    }
}
