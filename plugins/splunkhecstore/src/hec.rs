//! A small client for the Splunk HTTP Event Collector: posts a batch of
//! events and classifies the answer by HTTP status and HEC `code` (the
//! store's retry logic).

use cloudmarker_plugin_api::sdk::secret::excerpt;
use cloudmarker_plugin_api::sdk::{net, Secret};
use cloudrest::{describe, read_limited, retry_after};
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde::Deserialize;
use std::time::Duration;
use storekit::{Sent, StoreClient};

/// What the collector did with one post.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// Every event was indexed (code 0).
    Indexed,
    /// The events before `index` were indexed; the event at `index` was
    /// refused (`invalid-event-number`) and the ones after it were not read.
    EventRefused {
        /// The position of the refused event in the batch.
        index: usize,
        /// Why, as `code N: text (HTTP status)`.
        reason: String,
    },
    /// A failure worth trying again later: transport errors, 429, 5xx, busy.
    Transient(String),
    /// A failure that another attempt cannot fix: bad token, bad index, ...
    Permanent(String),
}

/// The JSON body of a HEC answer.
#[derive(Debug, Default, Deserialize)]
struct Body {
    text: Option<String>,
    code: Option<i64>,
    #[serde(rename = "invalid-event-number")]
    invalid_event_number: Option<i64>,
}

/// HEC codes that refer to one event of the batch (with
/// `invalid-event-number`): invalid data format, event field required,
/// event field blank, error in handling indexed fields.
const EVENT_CODES: [i64; 4] = [6, 12, 13, 15];

/// HEC codes that say the server is overloaded or failed internally:
/// internal error, server busy, unhealthy (queues full, ack unavailable).
const BUSY_CODES: [i64; 5] = [8, 9, 18, 19, 20];

/// The collector, as the store kit sends batches to it.
pub struct HecClient {
    /// The HTTP client (timeouts, TLS).
    pub client: Client,
    /// The event endpoint.
    pub url: String,
    /// The HEC token.
    pub token: Secret,
    /// Bytes of an answer read at most.
    pub max_answer: u64,
}

impl HecClient {
    /// Reaches the collector and checks the token without indexing
    /// anything: an empty post, which the collector answers with code 5
    /// ("No data") only once the token is accepted.
    pub fn health(&self) -> Result<String, String> {
        let token = self.token.expose();
        let (answer, _) = post(
            &self.client,
            &self.url,
            token,
            String::new(),
            self.max_answer,
        );
        match answer {
            Answer::Permanent(reason) if reason.starts_with("code 5:") => {
                Ok("the collector accepted the token".into())
            }
            Answer::Indexed => Ok("the collector accepted the token".into()),
            Answer::Transient(reason) | Answer::Permanent(reason) => Err(reason),
            Answer::EventRefused { reason, .. } => Err(reason),
        }
    }
}

impl StoreClient for HecClient {
    /// One HEC event object.
    type Item = String;

    fn bytes(event: &String) -> usize {
        event.len()
    }

    fn send(&mut self, batch: &[String], _attempt: u32) -> Sent {
        let body = batch.concat();
        let (answer, retry_after) = post(
            &self.client,
            &self.url,
            self.token.expose(),
            body,
            self.max_answer,
        );
        match answer {
            Answer::Indexed => Sent::All,
            // The events before it were indexed; the rest were not read.
            Answer::EventRefused { index, reason } if index < batch.len() => Sent::Items {
                refused: vec![(index, reason)],
                retry: (index + 1..batch.len()).collect(),
                retry_reason: None,
            },
            Answer::EventRefused { reason, .. } | Answer::Permanent(reason) => {
                Sent::Permanent(reason)
            }
            Answer::Transient(reason) => Sent::Transient {
                reason,
                retry_after,
            },
        }
    }

    /// What to check for the permanent errors people cause.
    fn hint(&self, reason: &str) -> &'static str {
        let code = reason
            .strip_prefix("code ")
            .and_then(|r| r.split(':').next())
            .and_then(|c| c.parse::<i64>().ok());
        match code {
            Some(1..=4) => "; check the token param",
            Some(7) => "; check the index param (the token must be allowed to write to it)",
            _ => "",
        }
    }
}

/// Posts `body` (concatenated event objects) to `url` with the token;
/// returns what the collector did and how long it asked to wait
/// (`Retry-After`) before the next attempt, if it did. An answer longer
/// than `max_answer` bytes is not read (and not success).
pub fn post(
    client: &Client,
    url: &str,
    token: &str,
    body: String,
    max_answer: u64,
) -> (Answer, Option<Duration>) {
    let response = client
        .post(url)
        .header(reqwest::header::AUTHORIZATION, format!("Splunk {token}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send();
    match response {
        Ok(response) => read_answer(response, max_answer),
        Err(e) => {
            let failure = match e.is_timeout() {
                true => Some(net::Failure::Timeout),
                false => net::classify(&e),
            };
            let tls = url.starts_with("https://");
            let reason = storekit::network::with_tls_hint(describe(&e), failure, tls);
            (Answer::Transient(reason), None)
        }
    }
}

fn read_answer(response: Response, max_answer: u64) -> (Answer, Option<Duration>) {
    let status = response.status();
    let wait = retry_after(&response);
    match read_limited(response, "the collector's answer", max_answer) {
        Ok(body) => (classify(status, &String::from_utf8_lossy(&body)), wait),
        Err(e) => (Answer::Transient(format!("HTTP {status}: {e}")), wait),
    }
}

/// Decides what an answer with `status` and body `text` means.
pub fn classify(status: StatusCode, text: &str) -> Answer {
    let body: Option<Body> = serde_json::from_str(text).ok();
    let reason = match &body {
        Some(Body {
            code: Some(code),
            text,
            ..
        }) => format!(
            "code {code}: {} (HTTP {status})",
            text.as_deref().map_or_else(|| "no text".into(), excerpt)
        ),
        _ => format!("HTTP {status}: {}", excerpt_or_empty(text)),
    };
    let code = body.as_ref().and_then(|b| b.code);
    if status.is_success() {
        return match code {
            Some(0) => Answer::Indexed,
            // A proxy's page, a load balancer's `{}`: nothing says the
            // events were indexed, so they are kept and sent again.
            None => Answer::Transient(format!(
                "HTTP {status} without the collector's answer ({{\"code\": 0}}); is uri the HEC endpoint? The answer was: {}",
                excerpt_or_empty(text)
            )),
            Some(_) if code.is_some_and(|c| BUSY_CODES.contains(&c)) => Answer::Transient(reason),
            Some(_) => Answer::Permanent(reason),
        };
    }
    if status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || code.is_some_and(|c| BUSY_CODES.contains(&c))
    {
        return Answer::Transient(reason);
    }
    if let (Some(code), Some(n)) = (code, body.as_ref().and_then(|b| b.invalid_event_number)) {
        if EVENT_CODES.contains(&code) {
            if let Ok(index) = usize::try_from(n) {
                return Answer::EventRefused { index, reason };
            }
        }
    }
    Answer::Permanent(reason)
}

/// The start of a body that is not a HEC answer (an HTML error page), on
/// one line, or `empty body`.
fn excerpt_or_empty(text: &str) -> String {
    match excerpt(text) {
        line if line.is_empty() => "empty body".into(),
        line => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_param_to_check() {
        let client = HecClient {
            client: Client::new(),
            url: String::new(),
            token: Secret::default(),
            max_answer: 0,
        };
        assert!(client
            .hint("code 4: Invalid token (HTTP 403)")
            .contains("token"));
        assert!(client
            .hint("code 7: Incorrect index (HTTP 400)")
            .contains("index"));
        assert_eq!(client.hint("HTTP 404: not found"), "");
    }

    #[test]
    fn success_is_code_zero() {
        assert_eq!(
            classify(StatusCode::OK, r#"{"text":"Success","code":0}"#),
            Answer::Indexed
        );
    }

    #[test]
    fn a_200_that_is_not_the_collectors_answer_is_not_success() {
        for body in ["<html>Sign in</html>", "{}", "", r#"{"text": "Success"}"#] {
            let answer = classify(StatusCode::OK, body);
            let Answer::Transient(reason) = &answer else {
                panic!("{body:?} gave {answer:?}")
            };
            assert!(
                reason.contains("without the collector's answer"),
                "{reason}"
            );
        }
        assert!(matches!(
            classify(StatusCode::OK, r#"{"text":"Invalid token","code":4}"#),
            Answer::Permanent(_)
        ));
    }

    #[test]
    fn a_bad_token_is_permanent_and_named() {
        assert_eq!(
            classify(
                StatusCode::FORBIDDEN,
                r#"{"text":"Invalid token","code":4}"#
            ),
            Answer::Permanent("code 4: Invalid token (HTTP 403 Forbidden)".into())
        );
        assert!(matches!(
            classify(
                StatusCode::UNAUTHORIZED,
                r#"{"text":"Token is required","code":2}"#
            ),
            Answer::Permanent(_)
        ));
    }

    #[test]
    fn an_incorrect_index_is_permanent_even_with_an_event_number() {
        let answer = classify(
            StatusCode::BAD_REQUEST,
            r#"{"text":"Incorrect index","code":7,"invalid-event-number":0}"#,
        );
        assert_eq!(
            answer,
            Answer::Permanent("code 7: Incorrect index (HTTP 400 Bad Request)".into())
        );
    }

    #[test]
    fn busy_and_rate_limits_are_transient() {
        for (status, body) in [
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"text":"Server is busy","code":9}"#,
            ),
            (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
            (StatusCode::BAD_GATEWAY, "<html>Bad gateway</html>"),
        ] {
            assert!(
                matches!(classify(status, body), Answer::Transient(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn a_refused_event_is_located() {
        assert_eq!(
            classify(
                StatusCode::BAD_REQUEST,
                r#"{"text":"Invalid data format","code":6,"invalid-event-number":3}"#
            ),
            Answer::EventRefused {
                index: 3,
                reason: "code 6: Invalid data format (HTTP 400 Bad Request)".into()
            }
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_quoted_briefly() {
        let page = format!("<html>\n  {}</html>", "x".repeat(500));
        let Answer::Permanent(reason) = classify(StatusCode::NOT_FOUND, &page) else {
            panic!("404 is permanent");
        };
        assert!(
            reason.starts_with("HTTP 404 Not Found: <html> xxx"),
            "{reason}"
        );
        assert!(reason.len() < 260, "{reason}");
    }
}
