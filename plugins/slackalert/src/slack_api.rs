//! A small client for the Slack Web API calls the plugin needs: errors are
//! read from the `ok`/`error` fields, and HTTP 429 is retried after the
//! `Retry-After` the server asks for.

use cloudrest::{Http, HttpError};
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{json, Value};

/// A Web API client for one bot token.
pub struct SlackApi {
    http: Http,
    base: String,
    token: String,
}

impl SlackApi {
    /// A client for the API at `base` (e.g. `https://slack.com/api`) that
    /// sends through `http` (its retries, Retry-After and answer size limit).
    pub fn new(http: Http, base: &str, token: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    /// Who the token belongs to (`auth.test`): `user@team`.
    pub fn whoami(&self) -> Result<String, String> {
        let url = format!("{}/auth.test", self.base);
        let body = self.call("auth.test", |c| c.post(&url))?;
        let user = string_at(&body, "/user", "auth.test")?;
        let team = string_at(&body, "/team", "auth.test")?;
        Ok(format!("{user}@{team}"))
    }

    /// The user id of the account with this email address.
    pub fn user_id(&self, email: &str) -> Result<String, String> {
        let url = format!("{}/users.lookupByEmail", self.base);
        let body = self.call("users.lookupByEmail", |c| {
            c.get(&url).query(&[("email", email)])
        })?;
        string_at(&body, "/user/id", "users.lookupByEmail")
    }

    /// The id of the direct-message channel with `user`.
    pub fn open_dm(&self, user: &str) -> Result<String, String> {
        let url = format!("{}/conversations.open", self.base);
        let body = self.call("conversations.open", |c| {
            c.post(&url).json(&json!({"users": user}))
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
        let body = self.call("files.getUploadURLExternal", |c| c.post(&url).form(&form))?;
        let upload_url = string_at(&body, "/upload_url", "files.getUploadURLExternal")?;
        let file_id = string_at(&body, "/file_id", "files.getUploadURLExternal")?;

        self.http
            .send("file upload", |c| {
                c.post(&upload_url).body(content.to_vec())
            })
            .map_err(|e| e.to_string())?;

        let url = format!("{}/files.completeUploadExternal", self.base);
        let payload = json!({
            "files": [{"id": file_id, "title": filename}],
            "channel_id": channel,
            "initial_comment": comment,
        });
        self.call("files.completeUploadExternal", |c| {
            c.post(&url).json(&payload)
        })?;
        Ok(())
    }

    /// Calls an API method and returns its JSON body when `ok` is true.
    fn call(
        &self,
        method: &str,
        request: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Value, String> {
        let text = |e: HttpError| e.to_string();
        let response = self
            .http
            .send(method, |c| request(c).bearer_auth(&self.token))
            .map_err(text)?;
        let status = response.status();
        let body = self.http.json(method, response).map_err(text)?;
        if body.get("ok") == Some(&Value::Bool(true)) {
            return Ok(body);
        }
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error");
        Err(format!("{method} failed: {error} (HTTP {status})"))
    }
}

/// Posts `text` to an incoming webhook.
pub fn post_webhook(http: &Http, url: &str, text: &str) -> Result<(), String> {
    http.send("webhook", |c| c.post(url).json(&json!({"text": text})))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn string_at(body: &Value, pointer: &str, method: &str) -> Result<String, String> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("{method}: the answer has no {pointer}"))
}
