//! Running a plugin instance in its own process (`isolation: process`).
//!
//! The host re-executes itself as `cloudmarker __plugin LIBRARY NAME LEVEL`;
//! the child loads the library, constructs the plugin from the params the
//! host sends, and answers each call over its stdin and stdout with the
//! frames of [`super::wire`]: batches of records, not single records, cross
//! the pipe. The child's log lines come back as frames and are logged by a
//! thread named after the worker. A child that crashes, exits, exceeds its
//! memory limit or stops answering ends the calls with an error that says
//! how, naming the plugin, the worker and the call; the rest of the audit
//! goes on. Children die with the thread that started them
//! (`PR_SET_PDEATHSIG`), so a host killed outright leaves none behind.

use super::loader::Instance;
use super::wire::{tags, Reply, Request};
use abi_stable::std_types::{RResult, RSlice, RStr};
use cloudmarker_plugin_api::{HostContext, LogLevel, Outcome, PluginError};
use crossbeam_channel::{Receiver, Sender};
use std::io::{BufWriter, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The hidden subcommand that runs an isolated plugin.
pub const CHILD_COMMAND: &str = "__plugin";

/// How much of a child's stderr is kept for the report.
const STDERR_TAIL: usize = 4096;

/// The limits of one isolated plugin instance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// The child's address-space limit in bytes (`RLIMIT_AS`).
    pub memory_limit: Option<u64>,
    /// How long the whole run of the plugin may take.
    pub timeout: Option<Duration>,
    /// How long one call (`new`, `read`, `eval`, `write`, `done`) may take.
    pub call_timeout: Option<Duration>,
}

/// What the host needs to start an isolated plugin.
pub struct Spec<'a> {
    /// The `cloudmarker` executable.
    pub exe: &'a Path,
    /// The plugin library.
    pub library: &'a Path,
    /// The plugin's name in the library.
    pub plugin: &'a str,
    /// The worker, for log lines and messages.
    pub worker: &'a str,
    /// The limits.
    pub limits: Limits,
}

/// Kills the child when a deadline passes; says which one it was.
struct Watch {
    state: Mutex<WatchState>,
    wake: Condvar,
}

#[derive(Default)]
struct WatchState {
    deadline: Option<(Instant, String)>,
    killed: Option<String>,
    stop: bool,
}

impl Watch {
    fn arm(&self, deadline: Option<(Instant, String)>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.deadline = deadline;
        self.wake.notify_all();
    }

    fn killed(&self) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.killed.clone()
    }

    fn stop(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.stop = true;
        self.wake.notify_all();
    }

    /// The watching thread's loop: kills `pid` when the armed deadline passes.
    fn run(&self, pid: u32) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.stop {
                return;
            }
            let Some((deadline, what)) = state.deadline.clone() else {
                state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            };
            let now = Instant::now();
            if now >= deadline {
                // SAFETY: plain kill(2) of our own child, which has not been
                // reaped (the owner waits for it only after stopping us or
                // after the pipes closed, and a reaped pid is not reused
                // before the owner's wait returns).
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                }
                state.killed = Some(what);
                state.deadline = None;
                continue;
            }
            state = self
                .wake
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A plugin instance running in a child process.
pub struct Isolated {
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    replies: Receiver<Reply>,
    watch: Arc<Watch>,
    watcher: Option<JoinHandle<()>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Disconnects when the stderr reader has read everything (EOF).
    stderr_done: Option<Receiver<()>>,
    plugin: String,
    worker: String,
    limits: Limits,
    started: Instant,
    /// Once the child is gone, every later call fails the same way.
    gone: Option<PluginError>,
}

impl Isolated {
    /// Starts the child and constructs the plugin in it with `params`.
    pub fn start(spec: &Spec<'_>, params: &str) -> Result<Self, PluginError> {
        let max_level = log::max_level() as LogLevel;
        let mut command = Command::new(spec.exe);
        command
            .arg(CHILD_COMMAND)
            .arg(spec.library)
            .arg(spec.plugin)
            .arg(max_level.to_string())
            .env("CLOUDMARKER_ISOLATED_BY", std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let memory_limit = spec.limits.memory_limit;
        // SAFETY: only async-signal-safe calls (setrlimit, prctl) between
        // fork and exec.
        unsafe {
            command.pre_exec(move || {
                if let Some(bytes) = memory_limit {
                    let limit = libc::rlimit {
                        rlim_cur: bytes as libc::rlim_t,
                        rlim_max: bytes as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| {
            PluginError::failed(format!(
                "cannot start {} to run plugin {} in its own process: {e}",
                spec.exe.display(),
                spec.plugin
            ))
        })?;
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let stdin = child
            .stdin
            .take()
            .map(|s| BufWriter::with_capacity(1 << 20, s));
        let (tx, replies) = crossbeam_channel::bounded(4);
        spawn_reader(spec.worker, stdout, tx);
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let stderr_done = spawn_stderr_tail(stderr, Arc::clone(&stderr_tail));
        let watch = Arc::new(Watch {
            state: Mutex::new(WatchState::default()),
            wake: Condvar::new(),
        });
        let pid = child.id();
        let watcher = {
            let watch = Arc::clone(&watch);
            std::thread::Builder::new()
                .name(format!("{}-watch", spec.worker))
                .spawn(move || watch.run(pid))
                .ok()
        };
        log::info!(
            "Started plugin {} in its own process (pid {pid}).",
            spec.plugin
        );
        let mut isolated = Self {
            child,
            stdin,
            replies,
            watch,
            watcher,
            stderr: stderr_tail,
            stderr_done,
            plugin: spec.plugin.to_string(),
            worker: spec.worker.to_string(),
            limits: spec.limits,
            started: Instant::now(),
            gone: None,
        };
        match isolated.call("new", 0, |out| Request::New(params.to_string()).send(out)) {
            Ok(Reply::Constructed) => Ok(isolated),
            Ok(Reply::Error(e)) => Err(e),
            Ok(other) => Err(PluginError::failed(format!(
                "plugin {} answered new with {other:?}",
                isolated.plugin
            ))),
            Err(e) => Err(e),
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `read(max)` in the child.
    pub fn read(&mut self, max: usize) -> RResult<Outcome, PluginError> {
        let reply = self.call("read", 0, |out| Request::Read(max as u64).send(out));
        outcome(reply)
    }

    /// `eval(records)` in the child.
    pub fn eval(&mut self, records: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        self.batch("eval", tags::EVAL, None, records)
    }

    /// `write(records)` in the child.
    pub fn write(&mut self, records: RSlice<'_, RStr<'_>>) -> RResult<Outcome, PluginError> {
        self.batch("write", tags::WRITE, None, records)
    }

    /// `write_from(origin, records)` in the child.
    pub fn write_from(
        &mut self,
        origin: RStr<'_>,
        records: RSlice<'_, RStr<'_>>,
    ) -> RResult<Outcome, PluginError> {
        self.batch("write", tags::WRITE_FROM, Some(origin.as_str()), records)
    }

    /// `done()` in the child, which then exits.
    pub fn done(&mut self) -> RResult<Outcome, PluginError> {
        let reply = self.call("done", 0, |out| Request::Done.send(out));
        let result = outcome(reply);
        self.stdin = None;
        result
    }

    fn batch(
        &mut self,
        method: &str,
        tag: u8,
        origin: Option<&str>,
        records: RSlice<'_, RStr<'_>>,
    ) -> RResult<Outcome, PluginError> {
        let lost = if tag == tags::EVAL {
            0
        } else {
            records.len() as u64
        };
        let reply = self.call(method, lost, |out| {
            Request::send_batch(out, tag, origin, records.iter().map(RStr::as_str))
        });
        outcome(reply)
    }

    /// Sends a request and waits for its reply, within the limits. `lost`:
    /// the records lost if the child dies in this call.
    fn call(
        &mut self,
        method: &str,
        lost: u64,
        send: impl FnOnce(&mut BufWriter<ChildStdin>) -> std::io::Result<()>,
    ) -> Result<Reply, PluginError> {
        if let Some(gone) = &self.gone {
            return Err(gone.clone());
        }
        self.watch.arm(self.deadline(method));
        let sent = match self.stdin.as_mut() {
            Some(stdin) => send(stdin).is_ok(),
            None => false,
        };
        let reply = if sent { self.replies.recv().ok() } else { None };
        self.watch.arm(None);
        match reply {
            Some(reply) => Ok(reply),
            None => {
                let mut gone = self.ended(method);
                gone.records_failed = lost;
                self.gone = Some(gone.clone());
                Err(gone)
            }
        }
    }

    /// The earlier of the call's and the run's deadline, with what passing
    /// it means.
    fn deadline(&self, method: &str) -> Option<(Instant, String)> {
        let call = self.limits.call_timeout.map(|t| {
            (
                Instant::now() + t,
                format!(
                    "it exceeded call_timeout ({} s) in {method}",
                    t.as_secs_f64()
                ),
            )
        });
        let run = self.limits.timeout.map(|t| {
            (
                self.started + t,
                format!("it exceeded timeout ({} s) in {method}", t.as_secs_f64()),
            )
        });
        match (call, run) {
            (Some(c), Some(r)) => Some(if c.0 <= r.0 { c } else { r }),
            (c, r) => c.or(r),
        }
    }

    /// How the child ended, once its pipes closed.
    fn ended(&mut self, method: &str) -> PluginError {
        self.stdin = None;
        let status = match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => {
                // The pipes are closed; give it a moment, then make sure.
                std::thread::sleep(Duration::from_millis(50));
                if !matches!(self.child.try_wait(), Ok(Some(_))) {
                    let _ = self.child.kill();
                }
                self.child.wait().ok()
            }
        };
        let how = match (self.watch.killed(), status) {
            (Some(limit), _) => format!("{limit} and was killed"),
            (None, Some(status)) => match status.signal() {
                Some(signal) => format!(
                    "was killed by signal {signal} ({}) in {method}{}",
                    signal_name(signal),
                    self.memory_hint(signal)
                ),
                None => format!(
                    "exited with status {} in {method}",
                    status.code().unwrap_or(-1)
                ),
            },
            (None, None) => format!("stopped answering in {method}"),
        };
        // The child is gone: let the reader take its last words (a Rust
        // abort prints them just before dying) before quoting them.
        if let Some(done) = &self.stderr_done {
            let _ = done.recv_timeout(Duration::from_secs(2));
        }
        let said = {
            let tail = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
            cloudmarker_plugin_api::sdk::secret::excerpt(&String::from_utf8_lossy(&tail))
        };
        let said = if said.is_empty() {
            String::new()
        } else {
            format!("; it said: {said}")
        };
        PluginError::failed(format!(
            "plugin {} (worker {}, running in its own process) {how}{said}",
            self.plugin, self.worker
        ))
    }

    fn memory_hint(&self, signal: i32) -> String {
        match self.limits.memory_limit {
            Some(bytes) if signal == libc::SIGABRT || signal == libc::SIGSEGV => format!(
                "; with memory_limit {} MiB this is most likely an allocation that failed",
                bytes / (1024 * 1024)
            ),
            _ => String::new(),
        }
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        self.stdin = None;
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            // Closing stdin ends a healthy child; one that does not end soon
            // is killed.
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && !matches!(self.child.try_wait(), Ok(Some(_))) {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.watch.stop();
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
    }
}

fn outcome(reply: Result<Reply, PluginError>) -> RResult<Outcome, PluginError> {
    match reply {
        Ok(Reply::Outcome(outcome)) => RResult::ROk(outcome),
        Ok(Reply::Error(e)) => RResult::RErr(e),
        Ok(other) => RResult::RErr(PluginError::failed(format!(
            "an isolated plugin answered with {other:?}"
        ))),
        Err(e) => RResult::RErr(e),
    }
}

/// Reads the child's frames: log lines are logged here (the thread carries
/// the worker's name), the rest go to the caller.
fn spawn_reader(worker: &str, stdout: Option<impl Read + Send + 'static>, tx: Sender<Reply>) {
    let Some(mut stdout) = stdout else {
        return;
    };
    let log = crate::logging::host_context().log;
    let _ = std::thread::Builder::new()
        .name(worker.to_string())
        .spawn(move || {
            let mut input = std::io::BufReader::with_capacity(1 << 20, &mut stdout);
            while let Ok(Some(reply)) = Reply::receive(&mut input) {
                match reply {
                    Reply::Log(level, target, message) => {
                        log(level, RStr::from_str(&target), RStr::from_str(&message))
                    }
                    reply => {
                        if tx.send(reply).is_err() {
                            return;
                        }
                    }
                }
            }
        });
}

/// Keeps the last [`STDERR_TAIL`] bytes the child writes to stderr; the
/// receiver disconnects once all of it is read.
fn spawn_stderr_tail(
    stderr: Option<impl Read + Send + 'static>,
    tail: Arc<Mutex<Vec<u8>>>,
) -> Option<Receiver<()>> {
    let mut stderr = stderr?;
    let (done, finished) = crossbeam_channel::bounded::<()>(0);
    std::thread::Builder::new()
        .name("plugin-stderr".into())
        .spawn(move || {
            let _done = done;
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    return;
                }
                let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                tail.extend_from_slice(&buffer[..n]);
                let excess = tail.len().saturating_sub(STDERR_TAIL);
                tail.drain(..excess);
            }
        })
        .ok()?;
    Some(finished)
}

/// The name of a common fatal signal.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV, a segmentation fault",
        libc::SIGABRT => "SIGABRT, an abort",
        libc::SIGBUS => "SIGBUS, a bus error",
        libc::SIGILL => "SIGILL, an illegal instruction",
        libc::SIGFPE => "SIGFPE, an arithmetic fault",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        _ => "a fatal signal",
    }
}

/// Where the child's replies go: its stdout, shared with its log function.
static OUT: Mutex<Option<BufWriter<std::io::Stdout>>> = Mutex::new(None);

fn send(reply: &Reply) -> bool {
    let mut out = OUT.lock().unwrap_or_else(|e| e.into_inner());
    match out.as_mut() {
        Some(out) => reply.send(out).is_ok(),
        None => false,
    }
}

extern "C" fn child_log(level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
    send(&Reply::Log(level, target.to_string(), message.to_string()));
}

/// The child's side: loads plugin `name` of `library` and answers the
/// host's requests until `done` or the end of its stdin. Returns the exit
/// status.
pub fn run_child(library: &Path, name: &str, max_log_level: LogLevel) -> u8 {
    *OUT.lock().unwrap_or_else(|e| e.into_inner()) =
        Some(BufWriter::with_capacity(1 << 20, std::io::stdout()));
    let host = HostContext {
        log: child_log,
        max_log_level,
    };
    let plugin = match super::load_library(library)
        .and_then(|library| Arc::new(library).plugin(Some(name)))
    {
        Ok(plugin) => plugin,
        Err(reason) => {
            send(&Reply::Error(PluginError::failed(format!(
                "cannot load {}: {reason}",
                library.display()
            ))));
            return 1;
        }
    };
    let mut stdin = std::io::BufReader::with_capacity(1 << 20, std::io::stdin().lock());
    let mut instance: Option<Instance> = None;
    let answer = |result: RResult<Outcome, PluginError>| match result {
        RResult::ROk(outcome) => send(&Reply::Outcome(outcome)),
        RResult::RErr(e) => send(&Reply::Error(e)),
    };
    fn strs(records: &[String]) -> Vec<RStr<'_>> {
        records.iter().map(|r| RStr::from_str(r)).collect()
    }
    while let Ok(Some(request)) = Request::receive(&mut stdin) {
        let Some(plugin_instance) = instance.as_mut() else {
            if let Request::New(params) = request {
                match plugin.construct(&params, host) {
                    RResult::ROk(made) => {
                        instance = Some(made);
                        send(&Reply::Constructed);
                    }
                    RResult::RErr(e) => {
                        send(&Reply::Error(e));
                    }
                }
            } else {
                send(&Reply::Error(PluginError::failed("called before new")));
            }
            continue;
        };
        let sent = match request {
            Request::New(_) => send(&Reply::Error(PluginError::failed("new called twice"))),
            Request::Read(max) => answer(plugin_instance.read(max as usize)),
            Request::Eval(records) => {
                answer(plugin_instance.eval(RSlice::from_slice(&strs(&records))))
            }
            Request::Write(records) => {
                answer(plugin_instance.write(RSlice::from_slice(&strs(&records))))
            }
            Request::WriteFrom(origin, records) => answer(
                plugin_instance
                    .write_from(RStr::from_str(&origin), RSlice::from_slice(&strs(&records))),
            ),
            Request::Done => {
                answer(plugin_instance.done());
                break;
            }
        };
        if !sent {
            break;
        }
    }
    drop(instance);
    0
}
