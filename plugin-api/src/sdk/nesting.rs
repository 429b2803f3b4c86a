//! How deeply a record nests, for messages about a record a plugin could
//! not read.
//!
//! Records pass through the host as text, at any depth; a plugin that
//! reads one with `serde_json` stops at its 128th level (its recursion limit)
//! with `recursion limit exceeded`, or earlier with a type error about the
//! first field that is not what it expects (`invalid type: sequence,
//! expected i64`). Neither says that the record was refused for its depth:
//! [`explain`] does, on the error path only (the depth is never measured
//! for a record that was read).

/// The deepest nesting of arrays and objects a record may have: what
/// `serde_json` reads by default (its recursion limit of 128 refuses the
/// 128th level).
pub const MAX_DEPTH: usize = 127;

/// How deeply the JSON `text` nests arrays and objects (`0` for a scalar,
/// `1` for `{}`), brackets inside strings not counted.
pub fn depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Why `record` cannot be read, when it nests deeper than [`MAX_DEPTH`]:
/// `it nests 100001 levels deep, more than the 127 records may (the JSON
/// reader's limit)`.
pub fn too_deep(record: &str) -> Option<String> {
    let levels = depth(record);
    (levels > MAX_DEPTH).then(|| {
        format!("it nests {levels} levels deep, more than the {MAX_DEPTH} records may (the JSON reader's limit)")
    })
}

/// The message of `plugin` about a record it could not read, when the
/// reason is the record's depth: `<plugin>: refused a record: it nests
/// 100001 levels deep, more than the 127 records may (the JSON reader's
/// limit); <message>`.
pub fn explain(plugin: &str, record: &str, message: &str) -> Option<String> {
    too_deep(record).map(|why| format!("{plugin}: refused a record: {why}; {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(depth("1"), 0);
        assert_eq!(depth("{}"), 1);
        assert_eq!(depth(r#"{"a": [1, {"b": "[[[{{"}], "c": "\"]"}"#), 3);
        let deep = format!(
            "{{\"raw\": {}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(depth(&deep), 100_001);
        assert_eq!(
            too_deep(&deep).unwrap(),
            "it nests 100001 levels deep, more than the 127 records may (the JSON reader's limit)"
        );
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(too_deep(&ok), None);
        assert!(serde_json::from_str::<serde_json::Value>(&ok).is_ok());
        let over = format!("[{ok}]");
        assert!(too_deep(&over).is_some());
        assert!(serde_json::from_str::<serde_json::Value>(&over).is_err());
        assert_eq!(
            explain("p", &over, "p: unreadable record").unwrap(),
            "p: refused a record: it nests 128 levels deep, more than the 127 records may (the JSON reader's limit); p: unreadable record"
        );
        assert_eq!(explain("p", "{}", "p: unreadable record"), None);
    }
}
