//! Sending one email over SMTP with the original's `send_email` parameters.

use cloudmarker_plugin_api::sdk::schema::JsonSchema;
use cloudmarker_plugin_api::sdk::{net, Secret};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub enum SslMode {
    /// TLS from the first byte (implicit TLS, port 465 by default).
    #[default]
    Ssl,
    /// Plain connection upgraded with STARTTLS (port 25 by default).
    Starttls,
    /// No encryption (port 25 by default).
    Disable,
}

/// The parameters of the original `send_email` (and of `emailalert` and the
/// top-level `email:` key), plus TLS and timeout settings.
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct EmailParams {
    /// The sender, e.g. `Cloudmarker <cloudmarker@example.com>`.
    pub from_addr: String,
    /// The recipients.
    pub to_addrs: Vec<String>,
    /// The subject.
    pub subject: String,
    /// Accepted for compatibility and ignored: the content is made from the events.
    pub content: Option<String>,
    /// The SMTP server; empty means localhost.
    pub host: String,
    /// The port; 0 means 465 for `ssl` and 25 for `starttls` and `disable`.
    pub port: u16,
    /// `ssl` (default), `starttls` or `disable`.
    pub ssl_mode: SslMode,
    /// Log in with this user when not empty.
    pub username: String,
    /// The password (never logged).
    pub password: Secret,
    /// Accepted for compatibility; above 0, sending is logged at debug level.
    pub debug: u8,
    /// A PEM file of extra CA certificates to trust (e.g. a private CA).
    pub ca_cert: Option<String>,
    /// Skip certificate verification (for tests only).
    pub accept_invalid_certs: bool,
    /// Seconds to wait for the server at each step.
    pub timeout: f64,
    /// Also mail the HTML report of each run (`report.html`, as `cloudmarker
    /// report` writes it) to the same recipients, once the run's findings
    /// are recorded: the host sends it in a message of its own after the
    /// run (an alert's digest goes out before the run's findings are
    /// committed, so it cannot carry the report of its own run).
    pub attach_report: bool,
}

impl Default for EmailParams {
    fn default() -> Self {
        Self {
            from_addr: String::new(),
            to_addrs: Vec::new(),
            subject: "Cloudmarker Alert".into(),
            content: None,
            host: String::new(),
            port: 0,
            ssl_mode: SslMode::Ssl,
            username: String::new(),
            password: Secret::default(),
            debug: 0,
            ca_cert: None,
            accept_invalid_certs: false,
            timeout: 30.0,
            attach_report: false,
        }
    }
}

impl EmailParams {
    /// The server host (`localhost` when empty).
    pub fn server(&self) -> &str {
        if self.host.trim().is_empty() {
            "localhost"
        } else {
            self.host.trim()
        }
    }

    /// The port, with 0 meaning the mode's default.
    pub fn effective_port(&self) -> u16 {
        match (self.port, self.ssl_mode) {
            (0, SslMode::Ssl) => 465,
            (0, _) => 25,
            (port, _) => port,
        }
    }

    /// `host:port (mode)`, for messages.
    pub fn describe(&self) -> String {
        let mode = match self.ssl_mode {
            SslMode::Ssl => "ssl",
            SslMode::Starttls => "starttls",
            SslMode::Disable => "disable",
        };
        format!(
            "{}:{} (ssl_mode {mode})",
            self.server(),
            self.effective_port()
        )
    }
}

/// A connection recipe for one server and its recipients.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
    server: String,
}

impl Mailer {
    /// Checks the parameters and prepares the transport (no connection yet).
    pub fn new(params: &EmailParams) -> Result<Self, String> {
        let from: Mailbox = params.from_addr.parse().map_err(|e| {
            format!(
                "from_addr {:?} is not an email address: {e}",
                params.from_addr
            )
        })?;
        if params.to_addrs.is_empty() {
            return Err("to_addrs must list at least one recipient".into());
        }
        let to = params
            .to_addrs
            .iter()
            .map(|a| {
                a.parse()
                    .map_err(|e| format!("to_addrs entry {a:?} is not an email address: {e}"))
            })
            .collect::<Result<Vec<Mailbox>, String>>()?;
        if !(params.timeout.is_finite() && params.timeout > 0.0) {
            return Err(format!(
                "timeout must be a positive number of seconds, not {}",
                params.timeout
            ));
        }
        let server = params.server().to_string();
        let tls = match params.ssl_mode {
            SslMode::Disable => Tls::None,
            SslMode::Ssl => Tls::Wrapper(tls_parameters(&server, params)?),
            SslMode::Starttls => Tls::Required(tls_parameters(&server, params)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(&server)
            .port(params.effective_port())
            .tls(tls)
            .timeout(Some(Duration::from_secs_f64(params.timeout)));
        if !params.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                params.username.clone(),
                params.password.expose().to_string(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            to,
            server: params.describe(),
        })
    }

    /// Connects, starts TLS and logs in as `send` would, then says goodbye
    /// without sending anything (the health check of `validate --connect`).
    pub fn check_connection(&self) -> Result<String, String> {
        match self.transport.test_connection() {
            Ok(true) => Ok(format!("logged in to {}", self.server)),
            Ok(false) => Err(format!("{} did not answer NOOP", self.server)),
            Err(e) => Err(format!(
                "cannot connect: {}",
                net::describe(&e, &self.server)
            )),
        }
    }

    /// Sends one email with a plain-text body and an optional attachment
    /// (file name, JSON text). Errors name the server, never the password.
    pub fn send(
        &self,
        subject: &str,
        body: &str,
        attachment: Option<(&str, String)>,
    ) -> Result<(), String> {
        self.send_file(
            subject,
            body,
            attachment.map(|(name, json)| (name, "application/json", json)),
        )
    }

    /// Sends one email with a plain-text body and an optional attachment
    /// (file name, content type, content).
    pub fn send_file(
        &self,
        subject: &str,
        body: &str,
        attachment: Option<(&str, &str, String)>,
    ) -> Result<(), String> {
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let text = SinglePart::plain(body.to_string());
        let message = match attachment {
            None => builder.singlepart(text),
            Some((name, content_type, content)) => {
                let content_type = ContentType::parse(content_type).map_err(|e| e.to_string())?;
                let file = Attachment::new(name.to_string()).body(content, content_type);
                builder.multipart(MultiPart::mixed().singlepart(text).singlepart(file))
            }
        }
        .map_err(|e| format!("cannot build the email: {e}"))?;
        log::debug!("Sending email {subject:?} via {}.", self.server);
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| format!("cannot send email: {}", net::describe(&e, &self.server)))
    }
}

fn tls_parameters(server: &str, params: &EmailParams) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(server.to_string())
        .dangerous_accept_invalid_certs(params.accept_invalid_certs);
    if let Some(path) = &params.ca_cert {
        let pem = cloudmarker_plugin_api::sdk::files::read_limited(
            std::path::Path::new(path),
            cloudmarker_plugin_api::sdk::files::MAX_PEM_BYTES,
        )
        .map_err(|e| format!("cannot read ca_cert {path}: {e}"))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| format!("ca_cert {path} is not a PEM certificate: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build_rustls()
        .map_err(|e| format!("cannot set up TLS for {server}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(yaml: serde_json::Value) -> EmailParams {
        serde_json::from_value(yaml).unwrap()
    }

    #[test]
    fn ports_follow_the_mode_as_in_the_original() {
        let p = |mode: &str, port: u16| {
            params(serde_json::json!({"ssl_mode": mode, "port": port})).effective_port()
        };
        assert_eq!(p("ssl", 0), 465);
        assert_eq!(p("starttls", 0), 25);
        assert_eq!(p("disable", 0), 25);
        assert_eq!(p("ssl", 2465), 2465);
        assert_eq!(EmailParams::default().server(), "localhost");
    }

    #[test]
    fn bad_addresses_and_modes_are_errors() {
        let e = Mailer::new(&params(
            serde_json::json!({"from_addr": "nobody", "to_addrs": ["a@b.c"]}),
        ))
        .err()
        .unwrap();
        assert!(
            e.starts_with("from_addr \"nobody\" is not an email address"),
            "{e}"
        );
        let e = Mailer::new(&params(serde_json::json!({"from_addr": "a@b.c"})))
            .err()
            .unwrap();
        assert_eq!(e, "to_addrs must list at least one recipient");
        let bad: Result<EmailParams, _> =
            serde_json::from_value(serde_json::json!({"ssl_mode": "tls"}));
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("unknown variant `tls`"));
    }

    #[test]
    fn the_password_is_never_printed() {
        let p = params(serde_json::json!({"password": "hunter2", "username": "u"}));
        assert!(!format!("{p:?}").contains("hunter2"));
        assert!(!p.describe().contains("hunter2"));
    }
}
