//! Description and remediation templates: text with `{{ cel }}`
//! placeholders, each a CEL expression over the record (`raw`, `ext`,
//! `com`) and `params`, e.g. `Instance {{ raw.name }} in {{ ext.zone }}`.
//! A string result is inserted as it is, a number or boolean as written, a
//! list or map as JSON; a placeholder that fails (an absent field) or is
//! `null` reads `(unknown)`. `{{` has no escape: write `{{ "{{" }}`. In
//! YAML, quote a template that starts with `{{` (or use `>-`), or it reads
//! as a mapping.

use crate::expr::Expr;
use serde_json::{Map, Value};

/// What a placeholder that cannot be evaluated reads.
pub const UNKNOWN: &str = "(unknown)";

#[derive(Debug)]
enum Part {
    Text(String),
    Cel(Expr),
}

/// A compiled template.
#[derive(Debug)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Compiles `source`; an error names the placeholder that is wrong.
    pub fn compile(source: &str, params: &Map<String, Value>) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("unclosed `{{{{` in template `{source}`"))?;
            let cel = after[..close].trim();
            if cel.is_empty() {
                return Err(format!("empty `{{{{ }}}}` in template `{source}`"));
            }
            let expr = Expr::compile(cel, params)
                .map_err(|e| format!("in placeholder `{{{{ {cel} }}}}`: {e}"))?;
            parts.push(Part::Cel(expr));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// The text, with `eval` giving each placeholder's value (or an error).
    pub fn render(
        &self,
        mut eval: impl FnMut(&Expr) -> Result<serde_json::Value, String>,
        mut on_error: impl FnMut(&str, &str),
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Cel(expr) => match eval(expr) {
                    Ok(value) => crate::values::to_text(&value, &mut out),
                    Err(e) => {
                        on_error(&expr.source, &e);
                        out.push_str(UNKNOWN);
                    }
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, name: Option<&str>) -> Result<String, String> {
        let template = Template::compile(source, &Map::new())?;
        let mut errors = Vec::new();
        let text = template.render(
            |expr| match (expr.source.as_str(), name) {
                ("raw.name", Some(name)) => Ok(name.into()),
                ("raw.name", None) => Err("No such key: name".into()),
                ("1 + 1", _) => Ok(2.into()),
                ("null", _) => Ok(serde_json::Value::Null),
                (other, _) => Err(format!("unexpected {other}")),
            },
            |source, e| errors.push(format!("{source}: {e}")),
        );
        Ok(text)
    }

    #[test]
    fn placeholders_are_cel() {
        assert_eq!(
            render("VM {{ raw.name }} has {{1 + 1}} disks.", Some("vm1")).unwrap(),
            "VM vm1 has 2 disks."
        );
        assert_eq!(
            render("{{raw.name}}", None).unwrap(),
            "(unknown)",
            "an absent field"
        );
        assert_eq!(render("no placeholder", None).unwrap(), "no placeholder");
    }

    #[test]
    fn bad_templates_are_errors() {
        assert!(render("VM {{ raw.name", None)
            .unwrap_err()
            .starts_with("unclosed `{{`"));
        assert!(render("VM {{ }}", None).unwrap_err().starts_with("empty"));
        let err = render("VM {{ raw.name == }}", None).unwrap_err();
        assert!(err.contains("CEL syntax error"), "{err}");
    }
}
