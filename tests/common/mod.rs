//! Helpers for the end-to-end tests: run the real `cloudmarker` binary with
//! the plugins this workspace built, in a temporary directory, with a timeout.

#![allow(dead_code)]

pub mod hosts;
pub mod pg;
pub mod python;
pub mod tls;

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run may take before the test calls it a hang.
const TIMEOUT: Duration = Duration::from_secs(120);

/// The variables through which the Azure and Google identity crates find
/// credentials; cleared for every run (tests set the ones they need).
const IDENTITY_VARIABLES: [&str; 13] = [
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "GCE_METADATA_HOST",
];

/// The records of the filestore output file `path`: none when there is no
/// such file (a worker that wrote nothing).
pub fn records_at(path: &Path) -> Vec<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// The JSON objects of a JSON Lines file (a test server's request log)
/// that its writer has finished: the lines up to the last newline. A
/// last line without one is still being written, and is left out (the
/// servers write whole lines at once, but a reader may still catch a
/// write half done). None when the file does not exist yet.
pub fn json_lines(path: &Path) -> Vec<Value> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&bytes[..0], |end| &bytes[..end]);
    complete
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_slice(line).unwrap_or_else(|e| {
                panic!(
                    "{}: not a JSON line ({e}): {}",
                    path.display(),
                    String::from_utf8_lossy(line)
                )
            })
        })
        .collect()
}

/// The requests of a test server's JSON Lines log: (the entry's `key`,
/// start, end).
pub fn timed_requests(path: &Path, key: &str) -> Vec<(String, f64, f64)> {
    json_lines(path)
        .iter()
        .map(|v| {
            (
                v[key].as_str().unwrap().to_string(),
                v["start"].as_f64().unwrap(),
                v["end"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// The `cloudmarker` binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_cloudmarker")
}

/// Where cargo put the plugin libraries this test depends on.
pub fn plugin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .expect("test executable directory")
        .to_path_buf()
}

/// The library file of a plugin built in this workspace.
pub fn plugin_lib(name: &str) -> PathBuf {
    let file = format!(
        "{}{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let path = plugin_dir().join(file);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The records of `records` whose `ext.record_type` is `record_type`.
pub fn of_type<'a>(records: &'a [Value], record_type: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["ext"]["record_type"] == record_type)
        .collect()
}

/// The automated requirements of a `compliance --format json` run (its
/// success asserted) with their statuses, and the ids of those evaluated
/// (`pass` or `fail`).
/// The most of `requests` that were under way at once.
pub fn most_at_once(requests: &[(String, f64, f64)]) -> usize {
    requests
        .iter()
        .map(|(_, start, _)| {
            requests
                .iter()
                .filter(|(_, s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// A test server started for a sandbox, and the log of the requests it
/// answered (the sandbox's [`Sandbox::requests_log`]).
pub struct Logged<S> {
    /// The server.
    pub server: S,
    /// Its request log (JSON Lines).
    pub log: PathBuf,
}

impl<S> Logged<S> {
    /// Starts a server with `start`, which is given the request log.
    pub fn with_log(sb: &Sandbox, start: impl FnOnce(&Path) -> S) -> Self {
        let log = sb.requests_log();
        Self {
            server: start(&log),
            log,
        }
    }
}

/// The arguments of `cloudmarker compliance --framework <framework>
/// --format json -c <configs>`.
pub fn compliance_json_args<'a>(framework: &'a str, configs: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "compliance",
        "--framework",
        framework,
        "--format",
        "json",
        "-c",
    ];
    args.extend_from_slice(configs);
    args
}

pub fn automated_statuses(report: &Run) -> (Vec<(String, String)>, Vec<String>) {
    report.assert_status(0);
    let report: Value = serde_json::from_str(&report.stdout).unwrap();
    let statuses: Vec<(String, String)> = report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["automated"] == true)
        .map(|r| {
            (
                r["id"].as_str().unwrap().into(),
                r["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let evaluated = statuses
        .iter()
        .filter(|(_, s)| s == "pass" || s == "fail")
        .map(|(id, _)| id.clone())
        .collect();
    (statuses, evaluated)
}

/// A temporary working directory with an output directory for filestore.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, for assertions on messages.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts the run exited with `code`, showing its output if not.
    #[track_caller]
    pub fn assert_status(&self, code: i32) {
        assert_eq!(self.status, Some(code), "{}", self.output());
    }

    /// The JSON the run printed, its exit 0 asserted.
    pub fn json(&self) -> Value {
        self.assert_status(0);
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }

    /// Asserts the output contains `text`.
    pub fn assert_says(&self, text: &str) {
        assert!(
            self.output().contains(text),
            "expected {text:?} in output:\n{}",
            self.output()
        );
    }
}

impl Sandbox {
    /// A new sandbox with `sandbox.yaml`: filestore writes to `out/` and the
    /// log goes to `cloudmarker.log`, both inside the sandbox.
    pub fn new() -> Self {
        let sandbox = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let settings = format!(
            "plugins:\n  filestore:\n    params:\n      path: {}\nlogger:\n  handlers:\n    file:\n      filename: {}\nhistory:\n  path: {}\n",
            sandbox.out().display(),
            sandbox.log_path().display(),
            sandbox.history_path().display()
        );
        sandbox.file("sandbox.yaml", &settings);
        sandbox
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The log file of runs in this sandbox.
    pub fn log_path(&self) -> PathBuf {
        self.path().join("cloudmarker.log")
    }

    /// The run history file of runs in this sandbox.
    pub fn history_path(&self) -> PathBuf {
        self.path().join("history.jsonl")
    }

    /// The runs recorded in the history file.
    pub fn history(&self) -> Vec<Value> {
        json_lines(&self.history_path())
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Waits until `done` holds, failing the test after `seconds`.
    pub fn wait_for(&self, what: &str, seconds: u64, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The filestore output directory.
    pub fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    /// The temporary file filestore is writing (or kept) for `worker` in
    /// the output directory: `<worker>.<audit_version>-<random>.tmp`.
    pub fn temporary(&self, worker: &str) -> Option<PathBuf> {
        temporaries(&self.out(), worker).into_iter().next()
    }

    /// Writes `name` with exactly `text`; returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// Creates the directory `name` (and its parents); returns its path.
    pub fn dir(&self, name: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::create_dir_all(&path).expect("create dir");
        path
    }

    /// The log the Python test servers write of the requests they answer.
    pub fn requests_log(&self) -> PathBuf {
        self.path().join("requests.jsonl")
    }

    /// Writes the config `name` with `text` and runs
    /// `cloudmarker -n -c sandbox.yaml <name>` with `env`.
    pub fn run_config(&self, name: &str, text: &str, env: &[(&str, &str)]) -> Run {
        self.file(name, text);
        self.run_with(&["-n", "-c", "sandbox.yaml", name], env)
    }

    /// Runs `cloudmarker -n -c sandbox.yaml <configs...>`.
    pub fn run_now(&self, configs: &[&str]) -> Run {
        let mut args = vec!["-n", "-c", "sandbox.yaml"];
        args.extend_from_slice(configs);
        self.run(&args)
    }

    /// Runs `cloudmarker` with `args` (plus `--plugin-dir` for the built
    /// plugins) in the sandbox directory.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Writes the config `name`: one audit, `cloudaudit`, of azcloud
    /// reading `server`, the event plugins `events` on its records
    /// (`rulesevent` reads the bundled Azure rules), and filestore writing
    /// to `out` as its alert and, with `store`, as its store.
    pub fn azure_audit(
        &self,
        server: &python::CloudServer,
        name: &str,
        out: &Path,
        events: &[&str],
        store: bool,
    ) {
        let stores = if store {
            "\n    stores: [filestore]"
        } else {
            ""
        };
        self.file(
            name,
            &format!(
                "plugins:\n  azcloud:\n    plugin: azcloud\n    params: {}\n  rulesevent:\n    plugin: rulesevent\n    params: {{paths: [\"{}/../rules/azure\"]}}\n  filestore:\n    params: {{path: \"{}\"}}\naudits:\n  cloudaudit:\n    clouds: [azcloud]{stores}\n    events: [{}]\n    alerts: [filestore]\nrun: [cloudaudit]\n",
                server.azure_params(""),
                env!("CARGO_MANIFEST_DIR"),
                out.display(),
                events.join(", ")
            ),
        );
    }

    /// Writes `cmp.yaml`: the audit `cmp`, whose `jsoncloud` reads the
    /// records of `records`, evaluated by the event plugins `events`, with
    /// filestore as its alert; `plugins` declares more plugins (YAML lines
    /// under `plugins:`) and `more` follows (mutes, say).
    pub fn cmp_audit(&self, records: &Path, plugins: &str, events: &[&str], more: &str) {
        self.file(
            "cmp.yaml",
            &format!(
                "plugins:\n  jsoncloud:\n    plugin: jsoncloud\n    params: {{path: {}}}\n{plugins}audits:\n  cmp:\n    clouds: [jsoncloud]\n    events: [{}]\n    alerts: [filestore]\nrun: [cmp]\n{more}",
                records.display(),
                events.join(", ")
            ),
        );
    }

    /// The JSON compliance report of `framework` over the state of
    /// `configs`, its exit 0 asserted.
    pub fn compliance_json(&self, framework: &str, configs: &[&str]) -> Value {
        self.run(&compliance_json_args(framework, configs)).json()
    }

    /// Like [`Sandbox::run`] with extra environment variables.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        wait(self.command(args, env).spawn().expect("spawn cloudmarker"))
    }

    /// Like [`Sandbox::run`] under file-creation mask `umask`.
    pub fn run_with_umask(&self, umask: u32, args: &[&str]) -> Run {
        use std::os::unix::process::CommandExt;
        let mut command = self.command(args, &[]);
        // SAFETY: umask is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(move || {
                libc::umask(umask as libc::mode_t);
                Ok(())
            });
        }
        wait(command.spawn().expect("spawn cloudmarker"))
    }

    /// Like [`Sandbox::run_with`], in a private mount namespace whose
    /// `/etc/hosts` is `hosts`: names that resolve for this run only (needs
    /// root, as the tests have on the CI machine).
    pub fn run_with_hosts(&self, hosts: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let file = self.file("hosts", hosts);
        let mut command = self.command(args, env);
        hosts::with_hosts(&mut command, &file);
        let child = command
            .spawn()
            .expect("cloudmarker in a mount namespace of its own (the test must run as root)");
        wait(child)
    }

    /// Starts `cloudmarker` with `args` and returns at once; its output
    /// goes to `stdout.txt` and `stderr.txt` in the sandbox.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.spawn_with(args, &[])
    }

    /// Like [`Sandbox::spawn`] with extra environment variables.
    pub fn spawn_with(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let out = std::fs::File::create(self.path().join("stdout.txt")).expect("stdout file");
        let err = std::fs::File::create(self.path().join("stderr.txt")).expect("stderr file");
        self.command(args, env)
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn cloudmarker")
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(binary());
        command
            .args(["--plugin-dir", plugin_dir().to_str().unwrap()])
            .args(args)
            .current_dir(self.path())
            .env("HOME", self.path())
            .env_remove("RUST_LOG")
            // The messages of crashing plugins are asserted word for word;
            // a backtrace (RUST_BACKTRACE=1 in the tester's shell) would
            // add to them, and capturing one after a failed allocation
            // can crash the child another way.
            .env_remove("RUST_BACKTRACE")
            .env_remove("CLOUDMARKER_PLUGIN_PATH")
            .env_remove("XDG_STATE_HOME")
            .env_remove("XDG_CACHE_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Runs sign in with what the test gives, never with the identity of
        // the machine or the person running the tests.
        for variable in IDENTITY_VARIABLES {
            command.env_remove(variable);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        command
    }

    /// Reads a JSON file written by filestore, relative to the output dir.
    pub fn read_json(&self, name: &str) -> Value {
        let path = self.out().join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The records filestore wrote to `name`.
    pub fn records(&self, name: &str) -> Vec<Value> {
        self.read_json(name)
            .as_array()
            .expect("a JSON array")
            .clone()
    }

    /// How many records filestore wrote to `name`.
    pub fn record_count(&self, name: &str) -> usize {
        self.read_json(name).as_array().expect("a JSON array").len()
    }
}

/// The temporary files of `worker` in `dir`.
pub fn temporaries(dir: &Path, worker: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&format!("{worker}.")) && name.ends_with(".tmp")
        })
        .collect();
    found.sort();
    found
}

/// Waits for `child`, killing it and failing the test if it hangs.
fn wait(mut child: Child) -> Run {
    fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    }
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("cloudmarker did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        status: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Sends `signal` (e.g. "TERM") to `child`.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits for `child` to exit within `seconds`; returns its exit code.
pub fn exit_within(child: &mut Child, seconds: u64) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cloudmarker did not exit within {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `deploy/install.sh PREFIX BUILD_DIR` (what `just install` and the
/// container image run) and asserts that it succeeded.
pub fn install(prefix: &Path, build: &Path) {
    let installed = std::process::Command::new(python::root().join("deploy/install.sh"))
        .arg(prefix)
        .arg(build)
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
}
