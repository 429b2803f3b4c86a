//! A blocking HTTP client with bounded, polite retries.

use crate::limits::{read_limited, Limits, MAX_ERROR_BODY_BYTES};
use cloudmarker_plugin_api::sdk::net;
use cloudmarker_plugin_api::sdk::retry::{parse_retry_after, Backoff};
use cloudmarker_plugin_api::sdk::secret::excerpt;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;
use serde_json::Value;
use std::fmt;
use std::io::Read;
use std::time::{Duration, SystemTime};

/// Why a request failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// No answer: connection refused, timeout, TLS.
    Transport(String),
    /// An error answer, with the service's own code and message where it gave them.
    Status {
        /// The HTTP status.
        status: u16,
        /// The service's error text.
        message: String,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(message) => f.write_str(message),
            Self::Status { status, message } => write!(f, "HTTP {status}: {message}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A client that retries rate-limited and failing requests a bounded number of times.
#[derive(Clone)]
pub struct Http {
    client: Client,
    max_retries: u32,
    backoff: Backoff,
    limits: Limits,
}

/// The longest wait between two retries when the server says nothing.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Http {
    /// A client with a per-request `timeout` (seconds) that retries
    /// `max_retries` times, first after about `base_delay`.
    pub fn new(timeout: f64, max_retries: u32, base_delay: Duration) -> Result<Self, String> {
        Self::with_roots(timeout, max_retries, base_delay, &[])
    }

    /// Like [`Http::new`], also trusting the CA certificates `roots` (PEM
    /// text, e.g. a TLS-inspecting proxy's) besides the built-in ones.
    pub fn with_roots(
        timeout: f64,
        max_retries: u32,
        base_delay: Duration,
        roots: &[u8],
    ) -> Result<Self, String> {
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(format!(
                "timeout must be a positive number of seconds, not {timeout}"
            ));
        }
        let mut builder = Client::builder().timeout(Duration::from_secs_f64(timeout));
        if !roots.is_empty() {
            for root in reqwest::Certificate::from_pem_bundle(roots)
                .map_err(|e| format!("ca_cert is not PEM: {e}"))?
            {
                builder = builder.add_root_certificate(root);
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up HTTP: {e}"))?;
        Ok(Self {
            client,
            max_retries,
            backoff: Backoff::new(base_delay, MAX_BACKOFF),
            limits: Limits::default(),
        })
    }

    /// The same client with other page and answer size limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The page and answer size limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Sends the request `build` makes (again for each retry) and returns a
    /// successful response. `what` names the request in messages.
    pub fn send(
        &self,
        what: &str,
        build: impl Fn(&Client) -> RequestBuilder,
    ) -> Result<Response, HttpError> {
        let mut attempt = 0;
        loop {
            let response = build(&self.client)
                .send()
                .map_err(|e| HttpError::Transport(format!("{what}: {}", describe(&e))))?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if !retryable || attempt >= self.max_retries {
                let message = error_message(response);
                let tries = if retryable {
                    format!(" (after {} attempts)", attempt + 1)
                } else {
                    String::new()
                };
                return Err(HttpError::Status {
                    status: status.as_u16(),
                    message: format!("{what}: {message}{tries}"),
                });
            }
            let wait = self
                .backoff
                .wait(attempt, retry_after(&response))
                .map_err(|e| HttpError::Status {
                    status: status.as_u16(),
                    message: format!("{what}: throttled; {e}"),
                })?;
            log::warn!(
                "{what}: HTTP {status}; retrying in {:.2} s.",
                wait.as_secs_f64()
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// GETs `url` with a bearer token and parses the JSON body.
    pub fn get_json(&self, what: &str, url: &str, token: &str) -> Result<Value, HttpError> {
        let response = self.send(what, |c| c.get(url).bearer_auth(token))?;
        self.json(what, response)
    }

    /// GETs `url` with a bearer token; returns the body, at most
    /// `max_response_bytes` long.
    pub fn get_bytes(&self, what: &str, url: &str, token: &str) -> Result<Vec<u8>, HttpError> {
        let response = self.send(what, |c| c.get(url).bearer_auth(token))?;
        read_limited(response, what, self.limits.max_response_bytes).map_err(HttpError::Transport)
    }

    /// The JSON body of `response`, at most `max_response_bytes` long.
    pub fn json(&self, what: &str, response: Response) -> Result<Value, HttpError> {
        let url = response.url().to_string();
        let body = read_limited(response, what, self.limits.max_response_bytes)
            .map_err(HttpError::Transport)?;
        serde_json::from_slice(&body).map_err(|e| not_expected(what, &url, "JSON", &body, &e))
    }

    /// POSTs a form and parses the JSON body (token endpoints).
    pub fn post_form(
        &self,
        what: &str,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<Value, HttpError> {
        let response = self.send(what, |c| c.post(url).form(form))?;
        self.json(what, response)
    }
}

/// The error for an answer `body` of `url` that is not the `expected` JSON
/// (`JSON`, `a list page`): names the URL (without its query), says whether
/// the answer ends early, is not JSON at all (quoting its start) or has a
/// field of another type, names the field (`value[3].properties`), and
/// ends with the parser's words.
pub fn not_expected(
    what: &str,
    url: &str,
    expected: &str,
    body: &[u8],
    error: &serde_json::Error,
) -> HttpError {
    use serde_json::error::Category;
    let url = excerpt(url.split(['?', '#']).next().unwrap_or(url));
    let at = offset_of(body, error.line(), error.column());
    let path = json_path(body, at);
    let field = if path.is_empty() {
        String::new()
    } else {
        format!(" at `{path}`")
    };
    let how = match error.classify() {
        Category::Eof if body.iter().all(u8::is_ascii_whitespace) => "it is empty".to_string(),
        Category::Eof => format!(
            "it ends early{field} after {} bytes (cut short?)",
            body.len()
        ),
        Category::Data => format!("the field{field} has another type or value"),
        Category::Syntax | Category::Io => {
            let start = excerpt(&String::from_utf8_lossy(&body[..body.len().min(1024)]));
            format!("it is not valid JSON{field}; it starts: {start}")
        }
    };
    HttpError::Transport(format!(
        "{what}: the answer of {url} is not {}: {how} ({error})",
        if expected == "JSON" {
            "JSON".to_string()
        } else {
            format!("the expected JSON ({expected})")
        }
    ))
}

/// The byte offset of 1-based `line` and `column` in `text` (serde_json's
/// error position: the last byte it read).
fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column).min(text.len())
}

/// The path of the value being read just before byte `end` of the JSON
/// `text`: `value[3].properties.name` (keys as written, unescaped only of
/// nothing).
fn json_path(text: &[u8], end: usize) -> String {
    enum Frame {
        Object {
            key: Option<String>,
            wants_key: bool,
        },
        Array(usize),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut string: Option<Vec<u8>> = None;
    let mut escaped = false;
    // The byte at `end - 1` is the one the parser stopped at: the start of
    // the value it could not take belongs to the value, not to its parent.
    for &b in &text[..end.saturating_sub(1)] {
        if let Some(buffer) = string.as_mut() {
            if escaped {
                escaped = false;
                buffer.push(b);
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                let done = string.take().unwrap_or_default();
                if let Some(Frame::Object { key, wants_key }) = stack.last_mut() {
                    if *wants_key {
                        *key = Some(String::from_utf8_lossy(&done).into_owned());
                        *wants_key = false;
                    }
                }
            } else {
                buffer.push(b);
            }
            continue;
        }
        match b {
            b'"' => string = Some(Vec::new()),
            b'{' => stack.push(Frame::Object {
                key: None,
                wants_key: true,
            }),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(index)) => *index += 1,
                Some(Frame::Object { key, wants_key }) => {
                    *key = None;
                    *wants_key = true;
                }
                None => {}
            },
            _ => {}
        }
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&excerpt(key));
            }
            Frame::Object { key: None, .. } => {}
            Frame::Array(index) => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// The `Retry-After` header (seconds or an HTTP date) as a wait from now.
pub fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// The service's error text: Azure's `error.code: error.message`, Google's
/// `error.status: error.message`, OAuth's `error: error_description`, or
/// the start of the body.
/// Only the first [`MAX_ERROR_BODY_BYTES`] are read, and what is quoted is a
/// short, single-line excerpt with every known secret removed (a server may
/// echo the request).
pub fn error_message(response: Response) -> String {
    let status = response.status();
    let mut raw = Vec::new();
    let _ = response.take(MAX_ERROR_BODY_BYTES).read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let Ok(body) = serde_json::from_str::<Value>(&text) else {
        return format!("{status} {}", excerpt(&text));
    };
    let at = |p: &str| body.pointer(p).and_then(Value::as_str);
    let code = at("/error/code").or(at("/error/status")).or(at("/error"));
    let message = at("/error/message")
        .or(at("/error_description"))
        .unwrap_or("");
    match code {
        Some(code) if message.is_empty() => excerpt(code),
        Some(code) => excerpt(&format!("{code}: {message}")),
        None => format!("{status}"),
    }
}

/// reqwest's error as a sentence (timeouts, refused connections, unknown
/// hosts and TLS problems named as such) about the scheme, host and port
/// only: never the path or query, which may carry tokens.
pub fn describe(error: &reqwest::Error) -> String {
    let endpoint = match error.url() {
        Some(url) => {
            let port = url
                .port_or_known_default()
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            format!("{}://{}{port}", url.scheme(), url.host_str().unwrap_or(""))
        }
        None => "the server".to_string(),
    };
    // reqwest's own words quote the whole URL: use its causes only.
    match std::error::Error::source(error) {
        Some(cause) => net::describe(cause, &endpoint),
        None if error.is_timeout() => format!("timed out waiting for {endpoint}"),
        None => format!("request to {endpoint} failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        value: Vec<Value>,
    }

    fn page_error(body: &str) -> String {
        let url = "https://arm.example/subscriptions/s1/vms?api-version=2024-07-01&$skiptoken=7";
        let error = serde_json::from_str::<Page>(body).unwrap_err();
        not_expected("listing vms", url, "a list page", body.as_bytes(), &error).to_string()
    }

    #[test]
    fn an_answer_that_is_not_the_expected_json_names_the_url_the_field_and_why() {
        let cut = r#"{"value": [{"id": "a"}, {"id": "b", "properties": {"x": 1"#;
        assert_eq!(
            page_error(cut),
            format!("listing vms: the answer of https://arm.example/subscriptions/s1/vms is not the expected JSON (a list page): it ends early at `value[1].properties.x` after {} bytes (cut short?) (EOF while parsing an object at line 1 column {})", cut.len(), cut.len())
        );
        let said = page_error(r#"{"value": {"id": "a"}}"#);
        assert!(
            said.starts_with("listing vms: the answer of https://arm.example/subscriptions/s1/vms is not the expected JSON (a list page): the field at `value` has another type or value (invalid type: map, expected a sequence at line 1 column "),
            "{said}"
        );
        let said = page_error(r#"{"nextLink": "x", "value": [1, 2, "#);
        assert!(said.contains("it ends early at `value[2]`"), "{said}");
        let said = page_error("<html><body>502 Bad Gateway</body></html>");
        assert!(
            said.contains("is not the expected JSON (a list page): it is not valid JSON; it starts: <html><body>502 Bad Gateway</body></html> (expected value at line 1 column 1)"),
            "{said}"
        );
        assert!(page_error(" ").contains("(a list page): it is empty ("));
        assert!(!said.contains("skiptoken"), "no query: {said}");
    }

    #[test]
    fn a_cut_answer_names_the_url_it_came_from() {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let body = r#"{"items": [{"name": "a"}, {"name": "#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).unwrap();
        });
        let http = Http::new(10.0, 0, Duration::from_millis(1)).unwrap();
        let url =
            format!("http://127.0.0.1:{port}/compute/v1/projects/p/firewalls?pageToken=t0k3n-9");
        let said = http
            .get_json("listing firewalls", &url, "tok")
            .unwrap_err()
            .to_string();
        server.join().unwrap();
        assert!(
            said.starts_with(&format!("listing firewalls: the answer of http://127.0.0.1:{port}/compute/v1/projects/p/firewalls is not JSON: it ends early at `items[1].name` after ")),
            "{said}"
        );
        assert!(!said.contains("t0k3n-9"), "{said}");
    }

    #[test]
    fn bad_timeouts_are_refused() {
        assert!(Http::new(0.0, 1, Duration::from_millis(1)).is_err());
        assert!(Http::new(f64::NAN, 1, Duration::from_millis(1)).is_err());
    }
}
