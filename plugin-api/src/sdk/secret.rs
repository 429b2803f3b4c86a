//! Secret parameters and the redaction of their values.
//!
//! A param of type [`Secret`] deserialises from a string only; a value of
//! another type is refused without echoing it (an unquoted `password:
//! 5331337` would otherwise appear in the type error). Its `Debug` and
//! `Display` print `***`. Every secret this library reads, and every value
//! passed to [`register`] (access tokens, passwords inside URIs), is
//! remembered: the SDK removes them from every log line and error message
//! the plugin sends to the host, in plain, URL-encoded and JSON-escaped form,
//! so a server that echoes a request cannot leak one.

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::sync::RwLock;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "***";

/// Shorter values are not redacted from text (they would redact ordinary
/// words); they are still never printed by [`Secret`]'s `Debug`/`Display`.
pub const MIN_REDACTED_LEN: usize = 4;

/// The longest server text quoted in a message, in characters.
pub const EXCERPT_CHARS: usize = 200;

/// Values to remove from text, longest first (so a secret that contains
/// another is removed whole).
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// A secret parameter value: a password, a client secret, a token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value` and remembers it for redaction.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Self(value)
    }

    /// The value, for the one place that sends it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (not set).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { REDACTED })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { REDACTED })
    }
}

/// Serialises as `***` (or `""` when not set): params are serialised only
/// to describe them.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0.is_empty() { "" } else { REDACTED })
    }
}

/// A string marked secret (and write-only) in param schemas.
impl schemars::JsonSchema for Secret {
    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "writeOnly": true,
            "x-cloudmarker-secret": true
        })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl SecretVisitor {
    fn refuse<E: de::Error>(kind: &str) -> E {
        E::invalid_type(
            Unexpected::Other(&format!("{kind} (value not shown: it is a secret)")),
            &"a string; quote the value in YAML",
        )
    }
}

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string; quote the value in YAML")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Secret, E> {
        Ok(Secret::new(value))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Secret, E> {
        Ok(Secret::new(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Secret, E> {
        Ok(Secret::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Secret, E> {
        Ok(Secret::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
        Err(Self::refuse("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
        Err(Self::refuse("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
        Err(Self::refuse("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
        Err(Self::refuse("a number"))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        Err(Self::refuse("a list"))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        Err(Self::refuse("a mapping"))
    }
}

/// Remembers `value` so that it is redacted from every message and log line
/// this library sends (tokens fetched at run time, a password inside a URI).
pub fn register(value: &str) {
    if value.chars().count() < MIN_REDACTED_LEN {
        return;
    }
    let mut forms = vec![
        value.to_string(),
        url_encoded(value),
        percent_encoded(value),
    ];
    // Servers echo URL escapes in lower case too (`%2b`).
    let lower_hex: Vec<String> = forms[1..].iter().map(|f| lower_escapes(f)).collect();
    forms.extend(lower_hex);
    if let Ok(json) = serde_json::to_string(value) {
        let json = &json[1..json.len() - 1];
        forms.push(json.to_string());
        // Some servers also escape `/` in JSON strings.
        forms.push(json.replace('/', "\\/"));
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for form in forms {
        if !known.contains(&form) {
            known.push(form);
        }
    }
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
}

/// `text` with every registered secret replaced by `***`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    let mut text = Cow::Borrowed(text);
    for secret in known.iter() {
        if text.contains(secret.as_str()) {
            text = Cow::Owned(text.replace(secret.as_str(), REDACTED));
        }
    }
    text
}

/// `error` with registered secrets removed from its message.
pub fn redact_error(mut error: crate::PluginError) -> crate::PluginError {
    redact_message(&mut error);
    error
}

fn redact_message(error: &mut crate::PluginError) {
    if let Cow::Owned(clean) = redact(&error.message) {
        error.message = clean.into();
    }
}

/// Removes registered secrets from the messages of `problems`.
pub(crate) fn redact_all(problems: &mut [crate::PluginError]) {
    problems.iter_mut().for_each(redact_message);
}

/// A short, single-line, redacted excerpt of text a server sent, for
/// messages: at most [`EXCERPT_CHARS`] characters, control characters and
/// runs of white space (line breaks included) turned into one space.
pub fn excerpt(text: &str) -> String {
    // Secrets go before the text is changed or cut: one that spans lines,
    // or that the cut would halve, could no longer be recognised.
    let text = redact(text);
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one_line = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    let redacted = redact(&one_line);
    let mut chars = redacted.chars();
    let mut short: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        short.push_str("...");
    }
    short
}

/// The RFC 3986 percent-encoded form of `value`, as a URL path or query
/// carries it (`%20` for a space).
fn percent_encoded(value: &str) -> String {
    escaped(value, b"-_.~", None)
}

/// `form` with the hex digits of its `%XX` escapes in lower case.
fn lower_escapes(form: &str) -> String {
    let mut out = String::with_capacity(form.len());
    let mut hex_left = 0;
    for c in form.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            out.push(c);
            if c == '%' {
                hex_left = 2;
            }
        }
    }
    out
}

/// `application/x-www-form-urlencoded` form of `value`, as a form body
/// carries it.
fn url_encoded(value: &str) -> String {
    escaped(value, b"-_.*", Some("+"))
}

/// `value` with each byte other than an ASCII letter or digit or one of
/// `unreserved` as `%XX` (upper-case hex), a space as `space` if given.
fn escaped(value: &str, unreserved: &[u8], space: Option<&str>) -> String {
    value
        .bytes()
        .map(|b| match (b, space) {
            (b' ', Some(space)) => space.to_string(),
            _ if b.is_ascii_alphanumeric() || unreserved.contains(&b) => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Params {
        #[allow(dead_code)]
        password: Secret,
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_refused_without_its_value() {
        for value in [
            "5331337",
            "true",
            "[\"s3cr3tlist\"]",
            "{\"a\": 987654}",
            "3.14159",
        ] {
            let err = serde_json::from_str::<Params>(&format!("{{\"password\": {value}}}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("value not shown: it is a secret"), "{err}");
            for digit_run in ["5331337", "s3cr3tlist", "987654", "14159"] {
                assert!(!err.contains(digit_run), "{err}");
            }
        }
    }

    #[test]
    fn secrets_print_as_stars_and_are_redacted_from_text() {
        let params: Params = serde_json::from_str(r#"{"password": "hunter2+/x"}"#).unwrap();
        assert_eq!(format!("{params:?}"), "Params { password: *** }");
        assert_eq!(params.password.to_string(), "***");
        assert_eq!(
            redact("echo: hunter2+/x, form: client_secret=hunter2%2B%2Fx, json: \"hunter2+/x\""),
            "echo: ***, form: client_secret=***, json: \"***\""
        );
        assert_eq!(serde_json::to_string(&params.password).unwrap(), "\"***\"");
    }

    #[test]
    fn very_short_values_are_not_redacted_from_words() {
        register("ab");
        assert_eq!(redact("abc abd"), "abc abd");
    }

    #[test]
    fn secrets_are_redacted_from_excerpts_in_every_echoed_form() {
        register("pem-line-1\npem line/2+x");
        let echoed = [
            "echo: pem-line-1\npem line/2+x; the end",
            "echo: pem-line-1%0Apem+line%2F2%2Bx; the end",
            "echo: pem-line-1%0apem%20line%2f2%2bx; the end",
            "echo: pem-line-1\\npem line\\/2+x; the end",
        ];
        for text in echoed {
            assert_eq!(excerpt(text), "echo: ***; the end", "{text}");
        }
        // A secret at the cut is removed whole, not halved.
        register("cut-secret-0123456789");
        let text = format!("{} cut-secret-0123456789", "x".repeat(EXCERPT_CHARS - 5));
        let short = excerpt(&text);
        assert!(!short.contains("cut-secret"), "{short}");
    }

    #[test]
    fn excerpts_are_short_single_lines() {
        register("tok-123456");
        let long = format!("line one\nline two tok-123456\r\n{}", "x".repeat(500));
        let short = excerpt(&long);
        assert!(short.starts_with("line one line two *** "), "{short}");
        assert!(!short.contains('\n'));
        assert_eq!(short.chars().count(), EXCERPT_CHARS + 3);
    }
}
