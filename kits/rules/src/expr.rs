//! CEL expressions of rules: compiled once, and checked against the names
//! a rule sees (`raw`, `ext`, `com`, `params`) and the params it declares.

use crate::direct::Direct;
use cel::common::ast::{EntryExpr, Expr as Ast, IdedExpr, LiteralValue};
use cel::{Env, Program};
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

/// The variables a rule's expressions see.
pub const VARIABLES: [&str; 4] = ["raw", "ext", "com", "params"];

/// The CEL environment of rules: the standard library, with optional
/// values (`raw.?x.orValue(d)`), and the `strings` (`lowerAscii`, `split`,
/// `join`, ...), `lists` and `math` extensions. Built once per process.
pub fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        for extension in [
            cel::extensions::strings as fn(&mut Env) -> _,
            cel::extensions::lists,
            cel::extensions::math,
        ] {
            env.add_extension(extension)
                .expect("the bundled CEL extensions declare no conflicts");
        }
        Arc::new(env)
    })
    .clone()
}

/// A compiled expression and its source.
#[derive(Debug)]
pub(crate) struct Expr {
    pub source: String,
    pub program: Program,
    /// Its direct form, when it has one (see [`crate::direct`]).
    pub direct: Option<Direct>,
}

impl Expr {
    /// Compiles `source`; an error says what is wrong with it. `params`
    /// are the rule's declared params.
    pub fn compile(source: &str, params: &Map<String, Value>) -> Result<Self, String> {
        let program = env().compile(source).map_err(|errors| {
            errors
                .errors
                .iter()
                .map(|e| {
                    format!(
                        "CEL syntax error at line {} column {}: {}",
                        e.pos.0,
                        e.pos.1 + 1,
                        e.msg
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let mut problems = Vec::new();
        analyse(program.expression(), &mut Vec::new(), params, &mut problems);
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Self {
            source: source.to_owned(),
            direct: Direct::compile(program.expression()),
            program,
        })
    }
}

fn literal_string(expr: &IdedExpr) -> Option<&str> {
    match &expr.expr {
        Ast::Literal(LiteralValue::String(s)) => Some(s.inner()),
        _ => None,
    }
}

/// Whether `expr` is the variable `name`, not shadowed by a comprehension's.
fn is_var(expr: &IdedExpr, name: &str, scope: &[String]) -> bool {
    matches!(&expr.expr, Ast::Ident(n) if n == name && !scope.iter().any(|s| s == name))
}

fn check_param(field: &str, params: &Map<String, Value>, problems: &mut Vec<String>) {
    if !params.contains_key(field) {
        let declared: Vec<&str> = params.keys().map(String::as_str).collect();
        problems.push(format!(
            "unknown param `params.{field}` (the rule declares: {})",
            if declared.is_empty() {
                "none".to_string()
            } else {
                declared.join(", ")
            }
        ));
    }
}

fn analyse(
    expr: &IdedExpr,
    scope: &mut Vec<String>,
    params: &Map<String, Value>,
    problems: &mut Vec<String>,
) {
    match &expr.expr {
        Ast::Ident(name) => {
            if !scope.iter().any(|s| s == name) && !VARIABLES.contains(&name.as_str()) {
                problems.push(format!(
                    "unknown variable `{name}` (a rule sees raw, ext, com and params)"
                ));
            }
        }
        Ast::Select(select) => {
            if is_var(&select.operand, "params", scope) {
                check_param(&select.field, params, problems);
            } else {
                analyse(&select.operand, scope, params, problems);
            }
        }
        Ast::Call(call) => {
            let keyed = matches!(call.func_name.as_str(), "_[_]" | "_[?_]" | "_?._")
                && call.args.len() == 2;
            match keyed.then(|| literal_string(&call.args[1])).flatten() {
                Some(key) if is_var(&call.args[0], "params", scope) => {
                    check_param(key, params, problems);
                }
                _ => {
                    if let Some(target) = &call.target {
                        analyse(target, scope, params, problems);
                    }
                    for arg in &call.args {
                        analyse(arg, scope, params, problems);
                    }
                }
            }
        }
        Ast::Comprehension(c) => {
            analyse(&c.iter_range, scope, params, problems);
            analyse(&c.accu_init, scope, params, problems);
            let depth = scope.len();
            scope.push(c.iter_var.clone());
            if let Some(second) = &c.iter_var2 {
                scope.push(second.clone());
            }
            scope.push(c.accu_var.clone());
            for part in [&c.loop_cond, &c.loop_step, &c.result] {
                analyse(part, scope, params, problems);
            }
            scope.truncate(depth);
        }
        Ast::List(list) => {
            for element in &list.elements {
                analyse(element, scope, params, problems);
            }
        }
        Ast::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(e) = &entry.expr {
                    analyse(&e.key, scope, params, problems);
                    analyse(&e.value, scope, params, problems);
                }
            }
        }
        Ast::Struct(s) => {
            for entry in &s.entries {
                if let EntryExpr::StructField(f) = &entry.expr {
                    analyse(&f.value, scope, params, problems);
                }
            }
        }
        Ast::Literal(_) | Ast::Unspecified => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(source: &str) -> Result<Expr, String> {
        let params: Map<String, Value> = serde_json::from_str(r#"{"max": 3}"#).unwrap();
        Expr::compile(source, &params)
    }

    #[test]
    fn names_are_checked() {
        assert!(compile(
            "raw.a.b && has(raw.c) && raw['d'] == ext.e && com.f == 1 && \
             raw.items.exists(raw, raw.x == 1) && params.max > 2 && params['max'] > 1 && \
             raw.?f.orValue(1) == 1 && [1].all(x, x > 0)"
        )
        .is_ok());
    }

    #[test]
    fn syntax_errors_unknown_names_and_params_are_errors() {
        let err = compile("raw.a ==").unwrap_err();
        assert!(
            err.starts_with("CEL syntax error at line 1 column"),
            "{err}"
        );
        let err = compile("record.a == 1").unwrap_err();
        assert!(err.contains("unknown variable `record`"), "{err}");
        let err = compile("params.min > 1").unwrap_err();
        assert!(
            err.contains("unknown param `params.min` (the rule declares: max)"),
            "{err}"
        );
        let err = compile("params['min'] > 1").unwrap_err();
        assert!(err.contains("unknown param `params.min`"), "{err}");
        let err = compile("[1].all(x, y > 0)").unwrap_err();
        assert!(err.contains("unknown variable `y`"), "{err}");
    }
}
