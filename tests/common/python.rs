//! Test servers from PyPI, run with a venv that the tests create themselves
//! (`target/test-venv`, from `tests/support/requirements.txt`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The test venv's Python, with the requirements installed (once per
/// machine and requirements file).
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            venv(
                "test-venv",
                &root().join("tests/support/requirements.txt"),
                &[],
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .clone()
}

/// The Python of `target/<name>`, a venv with `requirements` installed by
/// `pip install <pip_options> -r <requirements>`: made once per machine
/// and requirements file (a marker keeps what was installed; a file lock
/// keeps processes from racing). The error says what could not be done.
pub fn venv(name: &str, requirements: &Path, pip_options: &[&str]) -> Result<PathBuf, String> {
    let target = root().join("target");
    std::fs::create_dir_all(&target).map_err(|e| format!("cannot create target/: {e}"))?;
    let lock = File::create(target.join(format!("{name}.lock")))
        .map_err(|e| format!("cannot create the lock of target/{name}: {e}"))?;
    lock.lock()
        .map_err(|e| format!("cannot lock target/{name}: {e}"))?;
    let venv = target.join(name);
    let python = venv.join("bin/python");
    let wanted = std::fs::read_to_string(requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let marker = venv.join("installed-requirements.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let system = std::env::var("CLOUDMARKER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        run(
            Command::new(&system)
                .args(["-m", "venv", "--clear"])
                .arg(&venv),
            &format!("create target/{name}"),
        )?;
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(pip_options)
                .arg("-r")
                .arg(requirements),
            &format!("pip install -r {}", requirements.display()),
        )?;
        std::fs::write(&marker, &wanted)
            .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    }
    Ok(python)
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot {what}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "cannot {what}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// A free TCP port on the loopback interface for a server a test starts.
///
/// Asking the kernel for port 0 and handing that number on races: between
/// closing the probe and the server's bind, the kernel may give the same
/// ephemeral port to an outgoing connection (CI saw "Address already in
/// use"). So the ports come from below Linux's ephemeral range (32768 and
/// up), start at an offset from the process id (so that two test binaries
/// rarely try the same ones), are never handed out twice in one process,
/// and each is probed before it is handed out.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(2_654_435_761) % SPAN;
    loop {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(
            step < SPAN,
            "no free port left in {FIRST}..{}",
            FIRST + SPAN
        );
        let port = (FIRST + (start + step) % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The cloud test server: plain HTTP for the APIs, and the same over TLS
/// for signing in (azure_identity talks to an authority over https only).
pub struct CloudServer {
    server: Server,
    /// The TLS port.
    pub tls_port: u16,
    /// The CA certificate (PEM) that signed the TLS certificate.
    pub ca_cert: PathBuf,
    _pki: tempfile::TempDir,
}

impl CloudServer {
    /// The plain HTTP base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// The https base URL, for `authority_host`.
    pub fn authority(&self) -> String {
        format!("https://127.0.0.1:{}", self.tls_port)
    }

    /// The Azure params that sign in here with the client secret:
    /// `authority_host` and the `ca_cert` that trusts it.
    pub fn azure_sign_in(&self) -> String {
        format!(
            "authority_host: \"{}\", ca_cert: \"{}\"",
            self.authority(),
            self.ca_cert.display()
        )
    }

    /// The params of an Azure plugin that signs in here with the client
    /// secret `client-secret` and reads here, with `extra`
    /// (`", max_retries: 0"`) appended.
    pub fn azure_params(&self, extra: &str) -> String {
        format!(
            "{{tenant: tenant-1, client: client-id, secret: client-secret, {}, resource_manager: \"{}\", timeout: 10{extra}}}",
            self.azure_sign_in(),
            self.url()
        )
    }
}

impl std::ops::Deref for CloudServer {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

/// Starts `tests/support/cloud_server.py` (the Azure and Google APIs over
/// the fixtures in `tests/data`, and their sign-in endpoints, also over
/// TLS), logging each request to `log`, with `extra` options.
pub fn cloud_server(log: &Path, extra: &[&str]) -> CloudServer {
    let pki_dir = tempfile::tempdir().expect("temp dir for the TLS certificates");
    let pki = super::tls::generate(pki_dir.path());
    let (port, tls_port) = (free_port(), free_port());
    let (port_text, tls_text, data, log_text) = (
        port.to_string(),
        tls_port.to_string(),
        root().join("tests/data").display().to_string(),
        log.display().to_string(),
    );
    let tls_args = pki.server_args();
    let mut args = vec![
        "--port",
        &port_text,
        "--tls-port",
        &tls_text,
        "--data",
        &data,
        "--log",
        &log_text,
    ];
    args.extend(tls_args.iter().map(String::as_str));
    args.extend_from_slice(extra);
    CloudServer {
        server: Server::start("cloud_server.py", port, &args),
        tls_port,
        ca_cert: pki.ca_cert,
        _pki: pki_dir,
    }
}

/// Starts `tests/support/aws_server.py` (moto behind a paging, fault
/// injecting proxy; with `--estate`, the test estate), logging each request
/// to `log`, with `extra` options.
pub fn aws_server(log: &Path, extra: &[&str]) -> Server {
    let (port, moto_port) = (free_port(), free_port());
    let (port_text, moto_text, log_text) = (
        port.to_string(),
        moto_port.to_string(),
        log.display().to_string(),
    );
    let mut args = vec![
        "--port",
        &port_text,
        "--moto-port",
        &moto_text,
        "--log",
        &log_text,
    ];
    args.extend_from_slice(extra);
    let (server, _) = Server::start_announced("aws_server.py", port, &args);
    server
}

/// A server process that stops when dropped (its stdin closes, then kill).
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The port it listens on.
    pub port: u16,
}

impl Server {
    /// Starts `tests/support/<script>` with `args` and waits for its `READY` line.
    pub fn start(script: &str, port: u16, args: &[&str]) -> Self {
        let (server, rest) = Self::start_announced(script, port, args);
        assert!(rest.is_empty(), "{script}: unexpected READY line: {rest}");
        server
    }

    /// Like [`Server::start`] for a script that prints `READY <text>` (such
    /// as the URL it chose); returns the server and the text.
    pub fn start_announced(script: &str, port: u16, args: &[&str]) -> (Self, String) {
        let mut child = Command::new(python())
            .args(["-W", "ignore"])
            .arg(root().join("tests/support").join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {script}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let rest = match rx.recv_timeout(deadline - Instant::now()) {
            Ok(line) if line.trim() == "READY" || line.starts_with("READY ") => {
                line.trim()["READY".len()..].trim().to_string()
            }
            other => {
                let _ = child.kill();
                panic!("{script} did not start: {other:?}");
            }
        };
        (Self { child, stdin, port }, rest)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
