//! Network errors as sentences: what happened, and with which `host:port`.
//!
//! Client libraries report a timeout as `Resource temporarily unavailable
//! (os error 11)` and a certificate problem as a chain of TLS internals.
//! [`describe`] walks an error's causes, recognises the usual failures
//! (timeouts, refused or dropped connections, unknown host names, TLS
//! certificate and protocol mismatches) and says what they mean; the
//! library's own words follow as details, shortened and with secrets
//! removed.

use std::error::Error;
use std::io::ErrorKind;

/// What went wrong on the way to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the time allowed.
    Timeout,
    /// The server refused the connection.
    Refused,
    /// The connection was closed or reset by the other side.
    Dropped,
    /// The host name does not resolve.
    UnknownHost,
    /// The server's certificate is not trusted.
    Certificate,
    /// The TLS handshake failed (versions, ciphers, or no TLS at all).
    Handshake,
}

/// Recognises the failure in `error` or one of its causes.
pub fn classify(error: &(dyn Error + 'static)) -> Option<Failure> {
    let mut found = None;
    let mut cause: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(e) = cause {
        let by_kind = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| from_io_kind(io.kind()));
        if let Some(failure) = by_kind.or_else(|| from_text(&e.to_string())) {
            // The innermost cause is the most precise.
            found = Some(failure);
        }
        cause = e.source();
    }
    found
}

fn from_io_kind(kind: ErrorKind) -> Option<Failure> {
    match kind {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Some(Failure::Timeout),
        ErrorKind::ConnectionRefused => Some(Failure::Refused),
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => Some(Failure::Dropped),
        _ => None,
    }
}

fn from_text(text: &str) -> Option<Failure> {
    let t = text.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| t.contains(n));
    if any(&[
        "invalid peer certificate",
        "unknownissuer",
        "unknown issuer",
        "notvalidforname",
        "certificate verify failed",
        "certificate has expired",
        "self signed certificate",
        "self-signed certificate",
    ]) {
        Some(Failure::Certificate)
    } else if any(&[
        "peer is incompatible",
        "handshakefailure",
        "handshake failure",
        "protocolversion",
        "wrong version number",
        "invalidcontenttype",
        "received corrupt message",
        "unsupported protocol",
    ]) {
        Some(Failure::Handshake)
    } else if any(&[
        "failed to lookup address",
        "name or service not known",
        "temporary failure in name resolution",
        "no address associated",
        "nodename nor servname",
        "dns error",
    ]) {
        Some(Failure::UnknownHost)
    } else if any(&[
        "timed out",
        "deadline has elapsed",
        "resource temporarily unavailable",
        "os error 11)",
    ]) {
        Some(Failure::Timeout)
    } else if any(&["connection refused", "os error 111)"]) {
        Some(Failure::Refused)
    } else if any(&[
        "connection reset",
        "broken pipe",
        "unexpected eof",
        "connection closed",
    ]) {
        Some(Failure::Dropped)
    } else {
        None
    }
}

/// One sentence for `error` on the way to `endpoint` (`host:port`, or a
/// URL without path and credentials), followed by the library's words.
pub fn describe(error: &(dyn Error + 'static), endpoint: &str) -> String {
    let details = super::secret::excerpt(&causes(error));
    let sentence = match classify(error) {
        None => return format!("{endpoint}: {details}"),
        Some(Failure::Timeout) => format!("timed out waiting for {endpoint}"),
        Some(Failure::Refused) => {
            format!("{endpoint} refused the connection (is the server running on that port?)")
        }
        Some(Failure::Dropped) => format!("{endpoint} closed the connection unexpectedly"),
        Some(Failure::UnknownHost) => format!("cannot resolve the host name of {endpoint}"),
        Some(Failure::Certificate) => format!(
            "the TLS certificate of {endpoint} is not trusted{} (a private CA needs its certificate in ca_cert)",
            certificate_reason(&details)
        ),
        Some(Failure::Handshake) => format!(
            "the TLS handshake with {endpoint} failed: {}",
            handshake_reason(&details)
        ),
    };
    format!("{sentence}; details: {details}")
}

fn certificate_reason(details: &str) -> &'static str {
    let d = details.to_ascii_lowercase();
    if d.contains("unknownissuer") || d.contains("unknown issuer") || d.contains("self") {
        ": it is signed by an unknown certificate authority"
    } else if d.contains("notvalidforname") {
        ": it is not valid for this host name"
    } else if d.contains("expired") {
        ": it has expired"
    } else {
        ""
    }
}

fn handshake_reason(details: &str) -> &'static str {
    let d = details.to_ascii_lowercase();
    if d.contains("corrupt message")
        || d.contains("invalidcontenttype")
        || d.contains("wrong version number")
    {
        "the server did not answer with TLS (a plain-text port? check the scheme, tls or ssl_mode)"
    } else if d.contains("protocolversion") || d.contains("peer is incompatible") {
        "the server and cloudmarker share no TLS version (cloudmarker speaks TLS 1.2 and 1.3)"
    } else {
        "the server refused the handshake"
    }
}

/// The messages of `error` and its causes, without repeats.
pub fn causes(error: &(dyn Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = e.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct Wrapped(&'static str, Option<Box<dyn Error + 'static>>);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    fn io(kind: ErrorKind, text: &'static str) -> Wrapped {
        Wrapped(
            "Connection error",
            Some(Box::new(std::io::Error::new(kind, text))),
        )
    }

    #[test]
    fn the_smtp_timeout_is_a_timeout() {
        let e = io(ErrorKind::WouldBlock, "Resource temporarily unavailable");
        assert_eq!(
            describe(&e, "smtp.example:25"),
            "timed out waiting for smtp.example:25; details: Connection error: Resource temporarily unavailable"
        );
    }

    #[test]
    fn refused_dropped_and_unknown_hosts() {
        let refused = io(
            ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        assert!(describe(&refused, "h:1").starts_with("h:1 refused the connection"));
        let reset = io(ErrorKind::ConnectionReset, "reset");
        assert!(describe(&reset, "h:1").starts_with("h:1 closed the connection unexpectedly"));
        let dns = Wrapped(
            "error sending request",
            Some(Box::new(Wrapped(
                "dns error: failed to lookup address information: Name or service not known",
                None,
            ))),
        );
        assert!(describe(&dns, "nosuch.invalid:443")
            .starts_with("cannot resolve the host name of nosuch.invalid:443"));
    }

    #[test]
    fn tls_certificates_and_versions() {
        let unknown = Wrapped("invalid peer certificate: UnknownIssuer", None);
        assert!(describe(&unknown, "h:465").starts_with(
            "the TLS certificate of h:465 is not trusted: it is signed by an unknown certificate authority"
        ));
        let plain = Wrapped("received corrupt message of type InvalidContentType", None);
        assert!(describe(&plain, "h:25")
            .contains("the server did not answer with TLS (a plain-text port?"));
        let version = Wrapped("peer is incompatible: ProtocolVersion", None);
        assert!(describe(&version, "h:443").contains("share no TLS version"));
    }

    #[test]
    fn other_errors_keep_their_words() {
        let e = Wrapped("permission denied by policy", None);
        assert_eq!(describe(&e, "h:1"), "h:1: permission denied by policy");
    }
}
