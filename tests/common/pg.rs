//! A real PostgreSQL server for a test: Debian's binaries (`initdb`,
//! `pg_ctl`) in a temporary directory, on a free loopback port, with TLS
//! (a throwaway CA) and a password, stopped when dropped. The server
//! refuses to run as root: as root the test runs it as `nobody`.

use super::python::free_port;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian puts the server's programs (the `postgresql` package).
pub const BIN: &str = "/usr/lib/postgresql/15/bin";

/// The password of the test role (long enough to be redacted).
pub const PASSWORD: &str = "pg-Secret-7f3a9c";

/// The role the tests connect as.
pub const USER: &str = "cloudmarker";

/// A running server.
pub struct Postgres {
    dir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The CA certificate its server certificate chains to.
    pub ca: PathBuf,
}

/// Whether the server's programs are installed; a test without them says
/// so and returns (CI installs them).
pub fn available() -> bool {
    let found = Path::new(BIN).join("initdb").is_file() && Path::new(BIN).join("pg_ctl").is_file();
    if !found {
        eprintln!(
            "SKIPPED: PostgreSQL's server programs are not in {BIN} (apt-get install postgresql)"
        );
    }
    found
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A command that runs `program` as the server's user.
fn as_server_user(program: &str) -> Command {
    let path = Path::new(BIN).join(program);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn give_to_server_user(path: &Path) {
    if is_root() {
        std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
    }
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Postgres {
    /// Starts a server with a database `cloudmarker` owned by the role
    /// [`USER`] (password [`PASSWORD`]).
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The server's user must reach its directory.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let pki = super::tls::generate(dir.path());
        let data = dir.path().join("data");
        let sockets = dir.path().join("sockets");
        std::fs::create_dir(&sockets).unwrap();
        give_to_server_user(&sockets);
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        give_to_server_user(&pwfile);
        // The server reads its key as its own user, mode 0600.
        for file in [&pki.server_cert, &pki.server_key] {
            give_to_server_user(file);
        }
        std::fs::set_permissions(&pki.server_key, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::create_dir(&data).unwrap();
        give_to_server_user(&data);
        let mut initdb = as_server_user("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .arg(format!("--pwfile={}", pwfile.display()));
        run(initdb, "initdb");
        let port = free_port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c fsync=off",
            sockets.display(),
            pki.server_cert.display(),
            pki.server_key.display()
        );
        let mut start = as_server_user("pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(sockets.join("server.log"))
            .args(["-w", "-t", "60", "start"]);
        run(start, "pg_ctl start");
        let server = Self {
            port,
            ca: pki.ca_cert.clone(),
            dir,
        };
        server.psql("postgres", "CREATE DATABASE cloudmarker");
        server
    }

    /// Stops the server at once (as a crash would).
    pub fn stop(&self) {
        let mut stop = as_server_user("pg_ctl");
        stop.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        run(stop, "pg_ctl stop");
    }

    /// Starts the stopped server again, on the same port.
    pub fn restart(&self) {
        let options = format!(
            "-p {} -k {dir}/sockets -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={dir}/server.pem -c ssl_key_file={dir}/server.key -c fsync=off",
            self.port,
            dir = self.dir.path().display()
        );
        let mut start = as_server_user("pg_ctl");
        start
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("sockets/server.log"))
            .args(["-w", "-t", "60", "start"]);
        run(start, "pg_ctl start");
    }

    /// Runs `sql` in `database` with psql (over the socket).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let output = Command::new(Path::new(BIN).join("psql"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-d", database, "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .env("PGSSLMODE", "disable")
            .output()
            .expect("psql");
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// The `state:` mapping for this server: the password from
    /// `${PGPASSWORD}`, TLS verified against the test CA (a copy at `ca`).
    pub fn state_config(&self, ca: &Path) -> String {
        format!(
            "state:\n  url: \"postgres://{USER}:${{PGPASSWORD}}@localhost:{}/cloudmarker?sslmode=verify-full\"\n  ca_file: {}\n",
            self.port,
            ca.display()
        )
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sockets/server.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut stop = as_server_user("pg_ctl");
        stop.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}
