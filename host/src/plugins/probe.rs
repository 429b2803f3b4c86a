//! Probing a plugin library in a child process before loading it.
//!
//! `dlopen` runs a library's constructors before anything can be checked, so
//! a file that is not a plugin, or one that crashes while loading, would run
//! code in (or take down) the host. The host therefore first re-executes
//! itself as `cloudmarker __probe PATH`: the child loads the library, runs
//! the same version and layout checks, asks the library for the info of
//! each plugin it provides, and prints one JSON line. Only a library the child found to be a good plugin
//! is loaded into the host. A child that crashes, exits early or hangs is
//! reported as such, and the host goes on with the other plugins.
//!
//! This protects the host from broken and foreign libraries; it is not a
//! sandbox: the child runs the library's code with the user's rights. A
//! plugin directory holds code you trust.

use serde::{Deserialize, Serialize};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The hidden subcommand that probes a library.
pub const PROBE_COMMAND: &str = "__probe";

/// How long a probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a plugin says about itself, as the probe reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProbedInfo {
    /// The plugin's name.
    pub name: String,
    /// Its own version.
    pub version: String,
    /// The plugin-api version it was built against.
    pub api_version: String,
    /// Its roles (`cloud`, `event`, `store`, `alert`).
    pub kinds: Vec<String>,
    /// One line saying what it does.
    pub description: String,
    /// Its params with their defaults (a JSON object, as text).
    pub params: String,
}

impl ProbedInfo {
    /// The info of a loaded plugin.
    pub fn of(info: &cloudmarker_plugin_api::PluginInfo) -> Self {
        Self {
            name: info.name.to_string(),
            version: info.version.to_string(),
            api_version: info.api_version.to_string(),
            kinds: info.kinds.names().iter().map(|k| k.to_string()).collect(),
            description: info.description.to_string(),
            params: info.params.to_string(),
        }
    }
}

/// What the child says about a library.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Verdict {
    /// A library that passed the checks, and what its plugins say about
    /// themselves.
    Ok {
        /// The info of each plugin of the library, the first one first.
        plugins: Vec<ProbedInfo>,
    },
    /// Not usable, and why.
    Refused {
        /// The reason, as the loader says it.
        reason: String,
    },
}

/// What probing a library found (kept in the registry cache).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", content = "found", rename_all = "lowercase")]
pub enum Probed {
    /// A library that passed the checks, and its plugins.
    Plugins(Vec<ProbedInfo>),
    /// Not a plugin, or built against an incompatible plugin-api: why.
    Refused(String),
    /// Loading it crashed or hung the child: how.
    Crashed(String),
}

impl Probed {
    /// The plugins for a good library; otherwise why it must not be loaded.
    pub fn into_result(self) -> Result<Vec<ProbedInfo>, String> {
        match self {
            Self::Plugins(plugins) => Ok(plugins),
            Self::Refused(reason) | Self::Crashed(reason) => Err(reason),
        }
    }
}

/// The child's side: loads `path` with `load` and prints the verdict.
pub fn run_probe(path: &Path, load: impl FnOnce(&Path) -> Result<Vec<ProbedInfo>, String>) -> u8 {
    let verdict = match load(path) {
        Ok(plugins) => Verdict::Ok { plugins },
        Err(reason) => Verdict::Refused { reason },
    };
    match serde_json::to_string(&verdict) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(_) => 1,
    }
}

/// The host's side: probes `path` by running `exe __probe path`. The
/// library's plugins when it is good; otherwise why it must not be loaded.
pub fn probe(exe: &Path, path: &Path) -> Result<Vec<ProbedInfo>, String> {
    inspect(exe, path).into_result()
}

/// Probes `path` in a child process and says what it found.
pub fn inspect(exe: &Path, path: &Path) -> Probed {
    let child = Command::new(exe)
        .arg(PROBE_COMMAND)
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "off")
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            return Probed::Crashed(format!("cannot start {} to probe it: {e}", exe.display()))
        }
    };
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let read_all = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.by_ref().take(64 * 1024).read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read_all(stdout.map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = read_all(stderr.map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Probed::Crashed(format!(
                    "loading it did not finish within {} s (probed in a child process, which was killed); not loaded",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Probed::Crashed(format!("cannot wait for the probe: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let said = cloudmarker_plugin_api::sdk::secret::excerpt(&stderr);
    let said = if said.is_empty() {
        String::new()
    } else {
        format!("; it said: {said}")
    };
    if let Some(signal) = status.signal() {
        return Probed::Crashed(format!(
            "it crashed while being loaded (signal {signal}, {}) in a child process; not loaded{said}",
            super::isolate::signal_name(signal)
        ));
    }
    let verdict = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Verdict>(line).ok());
    match (status.code(), verdict) {
        (Some(0), Some(Verdict::Ok { plugins })) if !plugins.is_empty() => {
            Probed::Plugins(plugins)
        }
        (Some(0), Some(Verdict::Refused { reason })) => Probed::Refused(reason),
        (code, _) => Probed::Crashed(format!(
            "it ended the process while being loaded (exit status {}) in a child process; not loaded{said}",
            code.map_or("unknown".to_string(), |c| c.to_string())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_one_json_line() {
        let ok = serde_json::to_string(&Verdict::Ok {
            plugins: vec![ProbedInfo::default()],
        })
        .unwrap();
        assert!(ok.starts_with(r#"{"status":"ok","plugins":[{"#), "{ok}");
        let refused = Verdict::Refused {
            reason: "not a plugin".into(),
        };
        let line = serde_json::to_string(&refused).unwrap();
        assert_eq!(serde_json::from_str::<Verdict>(&line).unwrap(), refused);
    }

    #[test]
    fn a_crashing_or_silent_child_is_reported() {
        // `sh -c 'kill -SEGV $$'` stands in for a library that crashes.
        let dir = tempfile::tempdir().unwrap();
        let crash = dir.path().join("crash.sh");
        std::fs::write(&crash, "#!/bin/sh\nkill -SEGV $$\n").unwrap();
        let silent = dir.path().join("silent.sh");
        std::fs::write(&silent, "#!/bin/sh\nexit 3\n").unwrap();
        for script in [&crash, &silent] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(script, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let err = probe(&crash, Path::new("/x.so")).unwrap_err();
        assert!(
            err.starts_with("it crashed while being loaded (signal 11, SIGSEGV"),
            "{err}"
        );
        let err = probe(&silent, Path::new("/x.so")).unwrap_err();
        assert!(err.contains("(exit status 3)"), "{err}");
    }
}
