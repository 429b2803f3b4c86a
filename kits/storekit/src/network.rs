//! Network failures of a store's connection, as sentences.

use cloudmarker_plugin_api::sdk::net::{self, Failure};
use std::error::Error;

/// [`net::describe`] of `error` on the way to `endpoint`, for a store that
/// connects with TLS when `tls` is set. A server that does not speak TLS on
/// that port (a plain-text port) often answers a TLS handshake with
/// nothing at all: the client waits until it times out and the driver
/// says only `timed out`. Such a timeout is said to be one with TLS, and
/// what to check.
pub fn describe(error: &(dyn Error + 'static), endpoint: &str, tls: bool) -> String {
    with_tls_hint(net::describe(error, endpoint), net::classify(error), tls)
}

/// Like [`describe`], for a failure known to be a timeout though `error`
/// may not say so (a driver that gave up waiting for a usable server, whose
/// connection attempts had not ended yet).
pub fn describe_timeout(error: &(dyn Error + 'static), endpoint: &str, tls: bool) -> String {
    let details = cloudmarker_plugin_api::sdk::secret::excerpt(&net::causes(error));
    with_tls_hint(
        format!("timed out waiting for {endpoint}; details: {details}"),
        Some(Failure::Timeout),
        tls,
    )
}

/// `message` about a failure of kind `failure`, with the TLS hint when the
/// connection uses TLS and the failure is a timeout: after its first
/// sentence, before the library's `details`, which may be long and cut.
pub fn with_tls_hint(message: String, failure: Option<Failure>, tls: bool) -> String {
    if !(tls && failure == Some(Failure::Timeout)) {
        return message;
    }
    match message.split_once("; details: ") {
        Some((sentence, details)) => format!("{sentence} {TLS_TIMEOUT_HINT}; details: {details}"),
        None => format!("{message} {TLS_TIMEOUT_HINT}"),
    }
}

/// What a timeout over TLS most often means.
pub const TLS_TIMEOUT_HINT: &str = "(the connection uses TLS: a server that does not speak TLS on that port never completes the TLS handshake, which ends in this timeout; is it a plain-text port? check the port and the TLS setting)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeout_over_tls_names_the_handshake() {
        let timeout = std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out");
        let said = describe(&timeout, "db.example:27017", true);
        assert!(
            said.starts_with("timed out waiting for db.example:27017"),
            "{said}"
        );
        assert!(said.contains("never completes the TLS handshake"), "{said}");
        let plain = describe(&timeout, "db.example:27017", false);
        assert!(!plain.contains("TLS"), "{plain}");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(!describe(&refused, "db.example:27017", true).contains("TLS"));
        let selection = std::io::Error::other("Server selection timeout: No available servers");
        assert_eq!(
            describe_timeout(&selection, "db.example:27017", true),
            format!("timed out waiting for db.example:27017 {TLS_TIMEOUT_HINT}; details: Server selection timeout: No available servers")
        );
    }
}
