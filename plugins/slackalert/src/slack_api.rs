//! A small client for the Slack Web API calls the plugin needs: errors are
//! read from the `ok`/`error` fields, and HTTP 429 is retried after the
//! `Retry-After` the server asks for.

use cloudmarker_plugin_api::sdk::secret::excerpt;
use cloudrest::{describe, read_limited, retry_after, MAX_ERROR_BODY_BYTES};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// The longest `Retry-After` the client waits for before giving up.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A Web API client for one bot token.
pub struct SlackApi {
    client: Client,
    base: String,
    token: String,
    max_retries: u32,
    max_answer: u64,
}

impl SlackApi {
    /// A client for the API at `base` (e.g. `https://slack.com/api`) that
    /// reads answers of at most `max_answer` bytes.
    pub fn new(client: Client, base: &str, token: &str, max_retries: u32, max_answer: u64) -> Self {
        Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            max_retries,
            max_answer,
        }
    }

    /// The user id of the account with this email address.
    pub fn user_id(&self, email: &str) -> Result<String, String> {
        let url = format!("{}/users.lookupByEmail", self.base);
        let body = self.call("users.lookupByEmail", || {
            self.client.get(&url).query(&[("email", email)])
        })?;
        string_at(&body, "/user/id", "users.lookupByEmail")
    }

    /// The id of the direct-message channel with `user`.
    pub fn open_dm(&self, user: &str) -> Result<String, String> {
        let url = format!("{}/conversations.open", self.base);
        let body = self.call("conversations.open", || {
            self.client.post(&url).json(&json!({"users": user}))
        })?;
        string_at(&body, "/channel/id", "conversations.open")
    }

    /// Uploads `content` as `filename` and shares it in `channel` with
    /// `comment`, with the current three-step upload flow.
    pub fn upload(
        &self,
        channel: &str,
        filename: &str,
        content: &[u8],
        comment: &str,
    ) -> Result<(), String> {
        let url = format!("{}/files.getUploadURLExternal", self.base);
        let length = content.len().to_string();
        let form = [("filename", filename), ("length", length.as_str())];
        let body = self.call("files.getUploadURLExternal", || {
            self.client.post(&url).form(&form)
        })?;
        let upload_url = string_at(&body, "/upload_url", "files.getUploadURLExternal")?;
        let file_id = string_at(&body, "/file_id", "files.getUploadURLExternal")?;

        let response = self.send_with_retries("file upload", || {
            self.client.post(&upload_url).body(content.to_vec())
        })?;
        if !response.status().is_success() {
            return Err(format!(
                "file upload failed with HTTP {}",
                response.status()
            ));
        }

        let url = format!("{}/files.completeUploadExternal", self.base);
        let payload = json!({
            "files": [{"id": file_id, "title": filename}],
            "channel_id": channel,
            "initial_comment": comment,
        });
        self.call("files.completeUploadExternal", || {
            self.client.post(&url).json(&payload)
        })?;
        Ok(())
    }

    /// Calls an API method and returns its JSON body when `ok` is true.
    fn call(&self, method: &str, request: impl Fn() -> RequestBuilder) -> Result<Value, String> {
        let response = self.send_with_retries(method, || request().bearer_auth(&self.token))?;
        let status = response.status();
        let body = read_limited(response, method, self.max_answer)?;
        let body: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("{method}: HTTP {status} with a body that is not JSON: {e}"))?;
        if body.get("ok") == Some(&Value::Bool(true)) {
            return Ok(body);
        }
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error");
        Err(format!("{method} failed: {error} (HTTP {status})"))
    }

    /// Sends a request, waiting and retrying while the server answers 429
    /// (`Retry-After`) or 5xx (backoff), at most `max_retries` times.
    fn send_with_retries(
        &self,
        what: &str,
        request: impl Fn() -> RequestBuilder,
    ) -> Result<Response, String> {
        let mut attempt = 0;
        loop {
            let response = request()
                .send()
                .map_err(|e| format!("{what}: {}", describe(&e)))?;
            let status = response.status();
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if !retryable {
                return Ok(response);
            }
            if attempt >= self.max_retries {
                return Err(format!(
                    "{what}: HTTP {status} after {} attempts",
                    attempt + 1
                ));
            }
            let wait = retry_after(&response)
                .unwrap_or_else(|| Duration::from_millis(500 << attempt.min(6)));
            if wait > MAX_RETRY_AFTER {
                return Err(format!(
                    "{what}: rate limited; Slack asks to wait {} s",
                    wait.as_secs()
                ));
            }
            log::warn!(
                "{what}: HTTP {status}; retrying in {:.1} s.",
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }
}

/// Posts `text` to an incoming webhook.
pub fn post_webhook(client: &Client, url: &str, text: &str) -> Result<(), String> {
    let response = client
        .post(url)
        .json(&json!({"text": text}))
        .send()
        .map_err(|e| format!("webhook: {}", describe(&e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = read_limited(response, "webhook", MAX_ERROR_BODY_BYTES).unwrap_or_default();
    Err(format!(
        "webhook failed: HTTP {status}: {}",
        excerpt(&String::from_utf8_lossy(&body))
    ))
}

fn string_at(body: &Value, pointer: &str, method: &str) -> Result<String, String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{method}: the answer has no {pointer}"))
}
