//! An alert plugin that sends the events of an audit run to Slack.

use crate::slack_api::{post_webhook, SlackApi};
use cloudmarker_plugin_api::record::Head;
use cloudmarker_plugin_api::sdk::{self, digest, PluginType, Records, Secret, Sink};
use cloudmarker_plugin_api::{ErrorKind, PluginError};
use cloudrest::{Http, Limits};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Parameters of [`SlackAlert`].
#[derive(Debug, Clone, Deserialize, Serialize, cloudmarker_plugin_api::sdk::schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "cloudmarker_plugin_api::sdk::schema::schemars")]
pub struct SlackParams {
    /// The bot user's OAuth token (`xoxb-...`; never logged).
    pub bot_user_token: Option<Secret>,
    /// Email addresses of the Slack users to send the events to.
    pub to: Vec<String>,
    /// The message text.
    pub text: String,
    /// Accepted for compatibility; the file is built in memory.
    pub temp_file: String,
    /// The Web API base URL.
    pub api_url: String,
    /// An incoming webhook URL: post the events as text there instead
    /// (secret: the URL is the credential).
    pub webhook_url: Option<Secret>,
    /// Seconds to wait for Slack per request.
    pub timeout: f64,
    /// Retries of a rate-limited (429) or failed (5xx) request.
    pub max_retries: u32,
    /// Bytes of one Slack answer read at most; a longer one is a failure.
    pub max_response_bytes: u64,
}

impl Default for SlackParams {
    fn default() -> Self {
        Self {
            bot_user_token: None,
            to: Vec::new(),
            text: "Cloudmarker Alert".into(),
            temp_file: "/tmp/cloudmarker/slackalert.json".into(),
            api_url: "https://slack.com/api".into(),
            webhook_url: None,
            timeout: 30.0,
            max_retries: 3,
            max_response_bytes: cloudrest::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Where the events go.
enum Target {
    /// Each user in `to` gets a direct message with the events as a JSON file.
    Users { api: SlackApi, to: Vec<String> },
    /// One text message to an incoming webhook.
    Webhook { http: Http, url: String },
}

/// Buffers event records and, in `done`, sends them to Slack when there is
/// at least one.
pub struct SlackAlert {
    text: String,
    target: Target,
    events: Vec<Value>,
}

impl PluginType for SlackAlert {
    type Params = SlackParams;

    const NAME: &'static str = "slackalert";
    const CLASS: Option<&'static str> = Some("SlackAlert");
    const NOTIFIES: bool = true;
    const DESCRIPTION: &'static str =
        "Sends the events of an audit to Slack users or an incoming webhook.";

    /// With a bot token: the token is valid (`auth.test`) and every user in
    /// `to` is found by email. An incoming webhook cannot be checked without
    /// posting to it, so it has no check.
    fn health_check(&mut self) -> sdk::Result<String> {
        let unavailable = |e: String| PluginError::unavailable(format!("slackalert: {e}"));
        match &self.target {
            Target::Users { api, to } => {
                let who = api.whoami().map_err(unavailable)?;
                for email in to {
                    api.user_id(email).map_err(unavailable)?;
                }
                Ok(format!(
                    "signed in as {who}; found {} user(s) of to",
                    to.len()
                ))
            }
            Target::Webhook { .. } => Err(PluginError::new(
                ErrorKind::UNSUPPORTED,
                "slackalert: an incoming webhook cannot be checked without posting to it",
            )),
        }
    }

    fn new(params: SlackParams) -> sdk::Result<Self> {
        let config = |message: String| PluginError::config(format!("slackalert: {message}"));
        if !(params.timeout.is_finite() && params.timeout > 0.0) {
            return Err(config(format!(
                "timeout must be a positive number of seconds, not {}",
                params.timeout
            )));
        }
        let http = Http::new(
            params.timeout,
            params.max_retries,
            Duration::from_millis(500),
        )
        .map_err(config)?
        .with_limits(Limits {
            max_response_bytes: params.max_response_bytes,
            ..Limits::default()
        });
        let target = match (&params.webhook_url, &params.bot_user_token) {
            (Some(url), _) => Target::Webhook {
                http,
                url: url.expose().to_string(),
            },
            (None, Some(token)) if !token.is_empty() => {
                if params.to.is_empty() {
                    return Err(config("to must list at least one user email".into()));
                }
                Target::Users {
                    api: SlackApi::new(http, &params.api_url, token.expose()),
                    to: params.to.clone(),
                }
            }
            (None, _) => return Err(config("set bot_user_token (with to) or webhook_url".into())),
        };
        Ok(Self {
            text: params.text,
            target,
            events: Vec::new(),
        })
    }
}

impl Sink for SlackAlert {
    fn write(&mut self, records: Records<'_>) -> sdk::Result<()> {
        for record in records {
            let event: Value = serde_json::from_str(record).map_err(|e| {
                PluginError::partial(1, format!("slackalert: a record is not JSON: {e}"))
            })?;
            let marker = Head::parse(record).is_ok_and(|head| head.marker().is_some());
            if !marker {
                self.events.push(event);
            }
        }
        Ok(())
    }

    fn done(&mut self) -> sdk::Result<()> {
        if self.events.is_empty() {
            log::info!("No events; nothing sent to Slack.");
            return Ok(());
        }
        let failed = |message: String| PluginError {
            records_failed: self.events.len() as u64,
            ..PluginError::unavailable(format!("slackalert: {message}"))
        };
        match &self.target {
            Target::Webhook { http, url } => {
                let text = format!("{}\n{}", self.text, event_lines(&self.events));
                post_webhook(http, url, &text).map_err(failed)?;
                log::info!(
                    "Posted {} event(s) to the Slack webhook.",
                    self.events.len()
                );
            }
            Target::Users { api, to } => {
                let json = serde_json::to_vec_pretty(&self.events).unwrap_or_default();
                let mut errors = Vec::new();
                for email in to {
                    let sent = api
                        .user_id(email)
                        .and_then(|user| api.open_dm(&user))
                        .and_then(|channel| {
                            api.upload(&channel, "cloudmarker-events.json", &json, &self.text)
                        });
                    match sent {
                        Ok(()) => {
                            log::info!("Sent {} event(s) to Slack user {email}.", self.events.len())
                        }
                        Err(e) => errors.push(format!("{email}: {e}")),
                    }
                }
                if !errors.is_empty() {
                    return Err(failed(errors.join("; ")));
                }
            }
        }
        Ok(())
    }
}

/// The events for a text message: grouped by their finding's status (what
/// changed first), one line each with its severity.
fn event_lines(events: &[Value]) -> String {
    let events: Vec<&Value> = events.iter().collect();
    let mut lines = Vec::new();
    for group in digest::by_status(&events) {
        lines.push(format!("*{} ({})*", group.title, group.events.len()));
        lines.extend(
            group
                .events
                .iter()
                .map(|e| format!("• {}", digest::headline(e))),
        );
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudmarker_plugin_api::record::com;
    use serde_json::json;

    #[test]
    fn needs_a_token_and_users_or_a_webhook() {
        let err = SlackAlert::new(SlackParams::default()).err().unwrap();
        assert_eq!(
            err.message.as_str(),
            "slackalert: set bot_user_token (with to) or webhook_url"
        );
        let params = SlackParams {
            bot_user_token: Some(Secret::new("xoxb-1")),
            ..Default::default()
        };
        let err = SlackAlert::new(params).err().unwrap();
        assert!(err.message.contains("to must list"), "{err}");
        let params = SlackParams {
            webhook_url: Some(Secret::new("http://127.0.0.1:1/x")),
            ..Default::default()
        };
        assert!(SlackAlert::new(params).is_ok());
    }

    #[test]
    fn secrets_are_redacted() {
        let params = SlackParams {
            bot_user_token: Some(Secret::new("xoxb-secret")),
            webhook_url: Some(Secret::new("https://hooks.example/T/B/secret")),
            ..Default::default()
        };
        let shown = format!("{params:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn event_lines_group_by_status_with_severities() {
        let lines = event_lines(&[
            json!({"com": {"description": "d1", "status": "open", "severity": "low"}}),
            json!({"com": {com::RECORD_TYPE: "t", "status": "new", "severity": "high"}}),
            json!({"com": {"description": "d3"}}),
        ]);
        assert_eq!(
            lines,
            "*New (1)*\n• [high] A t event.\n*Still open (1)*\n• [low] d1\n*Events (1)*\n• d3"
        );
    }
}
