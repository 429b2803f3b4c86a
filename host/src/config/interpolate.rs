//! `${VAR}` in config values: replaced from the environment when a file is
//! read, so that secrets and per-host settings stay out of the YAML.
//!
//! In every string value (never in keys): `${NAME}` is the variable's value,
//! `${NAME:-default}` the value or `default` when the variable is unset or
//! empty, `$$` a literal `$`. A `$` followed by anything else is kept as it
//! is. A variable that is unset without a default is an error naming the
//! file, line and key.

use serde_json::Value;

/// Replaces the variables in the string values of `value`, looking names up
/// with `lookup`; returns the key path and message of each problem.
pub fn interpolate(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Vec<(Vec<String>, String)> {
    let mut problems = Vec::new();
    walk(value, &mut Vec::new(), lookup, &mut problems);
    problems
}

fn walk(
    value: &mut Value,
    path: &mut Vec<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<(Vec<String>, String)>,
) {
    match value {
        Value::String(text) if text.contains('$') => match expand(text, lookup) {
            Ok(expanded) => *text = expanded,
            Err(message) => problems.push((path.clone(), message)),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                walk(item, path, lookup, problems);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                path.push(key.clone());
                walk(item, path, lookup, problems);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `text` with its variables replaced.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| {
                format!("unterminated ${{ in {text:?} (write $$ for a literal $)")
            })?;
            let (name, default) = match body[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&body[..end], None),
            };
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(format!(
                    "${{{name}}} is not a variable name (letters, digits and _)"
                ));
            }
            match (lookup(name).filter(|v| !v.is_empty()), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(format!(
                        "the environment variable {name} is not set (use ${{{name}:-default}} for a default)"
                    ))
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_defaults_and_dollars() {
        assert_eq!(expand("Splunk ${TOKEN}", &env).unwrap(), "Splunk s3cr3t");
        assert_eq!(expand("${MISSING:-/tmp/x}/y", &env).unwrap(), "/tmp/x/y");
        assert_eq!(expand("${EMPTY:-d}", &env).unwrap(), "d");
        assert_eq!(expand("cost: $$5 and $5", &env).unwrap(), "cost: $5 and $5");
        assert!(expand("${MISSING}", &env)
            .unwrap_err()
            .contains("MISSING is not set"));
        assert!(expand("${TOKEN", &env)
            .unwrap_err()
            .contains("unterminated"));
        assert!(expand("${1X}", &env)
            .unwrap_err()
            .contains("not a variable name"));
    }

    #[test]
    fn every_string_value_but_no_key() {
        let mut value = json!({"plugins": {"${TOKEN}": {"params": {"token": "${TOKEN}", "list": ["${MISSING}", 5]}}}});
        let problems = interpolate(&mut value, &env);
        assert_eq!(value["plugins"]["${TOKEN}"]["params"]["token"], "s3cr3t");
        assert_eq!(
            problems,
            [(
                vec!["plugins".into(), "${TOKEN}".into(), "params".into(), "list".into(), "0".into()],
                "the environment variable MISSING is not set (use ${MISSING:-default} for a default)".into()
            )]
        );
    }
}
