//! A config's overrides of rule params (`rule_params`), checked against the
//! rules' defaults: the same JSON type (an integer default takes integers,
//! a float default any number; a list default of one element type takes
//! lists of that type).

use cloudmarker_plugin_api::sdk::schema::kind_of;
use serde_json::{Map, Value};

/// `{<rule id>: {<param>: value}}`.
pub type RuleParams = std::collections::BTreeMap<String, Map<String, Value>>;

/// Whether `value` may replace `default`; else what it should be.
fn fits(default: &Value, value: &Value) -> Result<(), String> {
    let ok = match (default, value) {
        (Value::Null, _) => true,
        (Value::Number(d), Value::Number(v)) => d.is_f64() || !v.is_f64(),
        (Value::Array(d), Value::Array(v)) => {
            let first = d.first().map(kind_of);
            match first {
                Some(k) if d.iter().all(|x| kind_of(x) == k) => v
                    .iter()
                    .all(|x| d.first().is_some_and(|sample| fits(sample, x).is_ok())),
                _ => true,
            }
        }
        (d, v) => std::mem::discriminant(d) == std::mem::discriminant(v),
    };
    if ok {
        return Ok(());
    }
    let expected = match default {
        Value::Array(d) => match d.first() {
            Some(sample) => format!(
                "a list of {}s",
                kind_of(sample)
                    .trim_start_matches("a ")
                    .trim_start_matches("an ")
            ),
            None => "a list".into(),
        },
        other => kind_of(other).to_string(),
    };
    Err(format!(
        "must be {expected} like its default {default}, not {value}"
    ))
}

/// The params of a rule: its `defaults` with `overrides` applied; an error
/// for each override that names no param or has the wrong type.
pub(crate) fn apply(
    defaults: &Map<String, Value>,
    overrides: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, Vec<String>> {
    let mut params = defaults.clone();
    let mut problems = Vec::new();
    for (name, value) in overrides.into_iter().flatten() {
        match defaults.get(name) {
            None => {
                let declared: Vec<&str> = defaults.keys().map(String::as_str).collect();
                problems.push(format!(
                    "rule_params: unknown param `{name}` (the rule declares: {})",
                    if declared.is_empty() {
                        "none".into()
                    } else {
                        declared.join(", ")
                    }
                ));
            }
            Some(default) => match fits(default, value) {
                Ok(()) => {
                    params.insert(name.clone(), value.clone());
                }
                Err(e) => problems.push(format!("rule_params: param `{name}` {e}")),
            },
        }
    }
    if problems.is_empty() {
        Ok(params)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn overrides_of_the_right_type_apply() {
        let defaults = map(json!({"days": 90, "ratio": 0.5, "names": ["a"], "on": true}));
        let params = apply(
            &defaults,
            Some(&map(json!({"days": 30, "ratio": 1, "names": ["b", "c"]}))),
        )
        .unwrap();
        assert_eq!(
            Value::Object(params),
            json!({"days": 30, "ratio": 1, "names": ["b", "c"], "on": true})
        );
        assert_eq!(apply(&defaults, None).unwrap(), defaults);
    }

    #[test]
    fn wrong_types_and_unknown_params_are_errors() {
        let defaults = map(json!({"days": 90, "names": ["a"]}));
        let errors = apply(
            &defaults,
            Some(&map(json!({"days": "30", "names": [1], "dayz": 3, }))),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("`days` must be an integer like its default 90, not \"30\"")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("`names` must be a list of strings")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("unknown param `dayz` (the rule declares: days, names)")),
            "{errors:?}"
        );
        assert!(apply(&defaults, Some(&map(json!({"days": 1.5})))).is_err());
    }
}
