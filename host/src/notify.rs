//! Audit notification emails (the top-level `email:` key): when all audits
//! begin and end, and when each audit begins and ends.

use crate::audit::AuditHooks;
use chrono::{DateTime, Local, Utc};
use chrono_tz::Tz;
use smtp::{EmailParams, Mailer};
use std::str::FromStr;

/// Sends the notifications, or does nothing without an `email:` config.
/// A failure to send is logged and never stops or delays an audit beyond the
/// SMTP timeout.
pub struct Notifier {
    email: Option<(EmailParams, Mailer)>,
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn disabled() -> Self {
        Self { email: None }
    }

    /// A notifier for the typed `email:` mapping (the `emailalert` params);
    /// an error says what is wrong with them (an address, a CA file, ...).
    pub fn from_config(email: Option<&EmailParams>) -> Result<Self, String> {
        let Some(params) = email else {
            return Ok(Self::disabled());
        };
        let mailer = Mailer::new(params)?;
        Ok(Self {
            email: Some((params.clone(), mailer)),
        })
    }

    /// Says once, at the start, when notifications are off.
    pub fn log_if_disabled(&self) {
        if self.email.is_none() {
            log::info!("Audit notification emails are skipped: there is no email config.");
        }
    }

    /// All audits of a run began.
    pub fn audits_started(&self, at: DateTime<Utc>) {
        self.send("all audits", "started", &body("all audits", at, None));
    }

    /// All audits of a run ended.
    pub fn audits_ended(&self, started: DateTime<Utc>, ended: DateTime<Utc>) {
        self.send(
            "all audits",
            "ended",
            &body("all audits", started, Some(ended)),
        );
    }

    fn send(&self, about: &str, state: &str, body: &str) {
        let Some((params, mailer)) = &self.email else {
            return;
        };
        let subject = format!("{}: {about} {state}", params.subject);
        log::info!("Sending notification email: {about} {state}.");
        if let Err(e) = mailer.send(&subject, body, None) {
            log::error!("Cannot send the notification email for {about} {state}, error: {e}");
        }
    }
}

impl AuditHooks for Notifier {
    fn audit_started(&self, audit_key: &str, at: DateTime<Utc>) {
        self.send(audit_key, "started", &body(audit_key, at, None));
    }

    fn audit_ended(&self, audit_key: &str, started: DateTime<Utc>, ended: DateTime<Utc>) {
        self.send(audit_key, "ended", &body(audit_key, started, Some(ended)));
    }
}

/// The original's body: `About`, `Started`, and for ends `Ended` and `Duration`.
fn body(about: &str, started: DateTime<Utc>, ended: Option<DateTime<Utc>>) -> String {
    let mut text = format!("About: {about}\nStarted: {}\n", local_time(started));
    if let Some(ended) = ended {
        let seconds = (ended - started).num_seconds().max(0);
        text.push_str(&format!(
            "Ended: {}\nDuration: {:02} h {:02} m {:02} s\n",
            local_time(ended),
            seconds / 3600,
            seconds % 3600 / 60,
            seconds % 60
        ));
    }
    text
}

/// `%Y-%m-%d %H:%M:%S %z (%Z)` in the machine's time zone, with the zone's
/// abbreviation where its IANA name is known.
fn local_time(t: DateTime<Utc>) -> String {
    const FORMAT: &str = "%Y-%m-%d %H:%M:%S %z (%Z)";
    match iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| Tz::from_str(&name).ok())
    {
        Some(tz) => t.with_timezone(&tz).format(FORMAT).to_string(),
        None => t.with_timezone(&Local).format(FORMAT).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn end_bodies_have_times_and_duration() {
        let started = Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap();
        let ended = Utc.with_ymd_and_hms(2026, 11, 22, 9, 2, 5).unwrap();
        let text = body("mockaudit", started, Some(ended));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "About: mockaudit");
        assert!(lines[1].starts_with("Started: 2026-11-2"), "{text}");
        assert!(lines[1].ends_with(')'), "{text}");
        assert!(lines[2].starts_with("Ended: "), "{text}");
        assert_eq!(lines[3], "Duration: 01 h 02 m 05 s");
        assert_eq!(body("all audits", started, None).lines().count(), 2);
    }

    #[test]
    fn bad_email_config_is_an_error() {
        let params: EmailParams =
            serde_json::from_value(serde_json::json!({"from_addr": "x@y.z", "to_addrs": ["bad"]}))
                .unwrap();
        let err = Notifier::from_config(Some(&params)).err().unwrap();
        assert!(
            err.starts_with("to_addrs entry \"bad\" is not an email address"),
            "{err}"
        );
        assert!(Notifier::from_config(None).unwrap().email.is_none());
    }
}
