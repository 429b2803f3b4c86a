//! CEL expressions of rules: compiled once, checked against the names a
//! rule sees (`raw`, `ext`, `com`, `params`), and analysed for the parts of
//! a record they read ([`Needs`]).

use crate::values::Needs;
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
}

impl Expr {
    /// Compiles `source`; an error says what is wrong with it. `params`
    /// are the rule's declared params; `needs` collects what it reads.
    pub fn compile(
        source: &str,
        params: &Map<String, Value>,
        needs: &mut Needs,
    ) -> Result<Self, String> {
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
        analyse(
            program.expression(),
            &mut Vec::new(),
            params,
            needs,
            &mut problems,
        );
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        Ok(Self {
            source: source.to_owned(),
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

/// The bucket `expr` names, unless a comprehension variable shadows it.
fn bucket_of<'e>(expr: &'e IdedExpr, scope: &[String]) -> Option<&'e str> {
    match &expr.expr {
        Ast::Ident(name)
            if ["raw", "ext", "com"].contains(&name.as_str())
                && !scope.iter().any(|s| s == name) =>
        {
            Some(name)
        }
        _ => None,
    }
}

fn is_params(expr: &IdedExpr, scope: &[String]) -> bool {
    matches!(&expr.expr, Ast::Ident(name) if name == "params" && !scope.iter().any(|s| s == name))
}

fn analyse(
    expr: &IdedExpr,
    scope: &mut Vec<String>,
    params: &Map<String, Value>,
    needs: &mut Needs,
    problems: &mut Vec<String>,
) {
    let check_param = |field: &str, problems: &mut Vec<String>| {
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
    };
    match &expr.expr {
        Ast::Ident(name) => {
            if scope.iter().any(|s| s == name) || name == "params" {
                return;
            }
            match needs.bucket(name) {
                Some(need) => *need = crate::values::Need::All,
                None => problems.push(format!(
                    "unknown variable `{name}` (a rule sees raw, ext, com and params)"
                )),
            }
        }
        Ast::Select(select) => {
            if let Some(bucket) = bucket_of(&select.operand, scope) {
                if let Some(need) = needs.bucket(bucket) {
                    need.add(&select.field);
                }
            } else if is_params(&select.operand, scope) {
                check_param(&select.field, problems);
            } else {
                analyse(&select.operand, scope, params, needs, problems);
            }
        }
        Ast::Call(call) => {
            let keyed = matches!(call.func_name.as_str(), "_[_]" | "_[?_]" | "_?._")
                && call.args.len() == 2;
            let key = keyed.then(|| literal_string(&call.args[1])).flatten();
            match (keyed.then(|| &call.args[0]), key) {
                (Some(operand), Some(key)) if bucket_of(operand, scope).is_some() => {
                    let bucket = bucket_of(operand, scope).unwrap_or_default();
                    if let Some(need) = needs.bucket(bucket) {
                        need.add(key);
                    }
                }
                (Some(operand), Some(key)) if is_params(operand, scope) => {
                    check_param(key, problems);
                }
                _ => {
                    if let Some(target) = &call.target {
                        analyse(target, scope, params, needs, problems);
                    }
                    for arg in &call.args {
                        analyse(arg, scope, params, needs, problems);
                    }
                }
            }
        }
        Ast::Comprehension(c) => {
            analyse(&c.iter_range, scope, params, needs, problems);
            analyse(&c.accu_init, scope, params, needs, problems);
            let depth = scope.len();
            scope.push(c.iter_var.clone());
            if let Some(second) = &c.iter_var2 {
                scope.push(second.clone());
            }
            scope.push(c.accu_var.clone());
            for part in [&c.loop_cond, &c.loop_step, &c.result] {
                analyse(part, scope, params, needs, problems);
            }
            scope.truncate(depth);
        }
        Ast::List(list) => {
            for element in &list.elements {
                analyse(element, scope, params, needs, problems);
            }
        }
        Ast::Map(map) => {
            for entry in &map.entries {
                if let EntryExpr::MapEntry(e) = &entry.expr {
                    analyse(&e.key, scope, params, needs, problems);
                    analyse(&e.value, scope, params, needs, problems);
                }
            }
        }
        Ast::Struct(s) => {
            for entry in &s.entries {
                if let EntryExpr::StructField(f) = &entry.expr {
                    analyse(&f.value, scope, params, needs, problems);
                }
            }
        }
        Ast::Literal(_) | Ast::Unspecified => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Need;

    fn needs_of(source: &str) -> Result<Needs, String> {
        let params: Map<String, Value> = serde_json::from_str(r#"{"max": 3}"#).unwrap();
        let mut needs = Needs::default();
        Expr::compile(source, &params, &mut needs).map(|_| needs)
    }

    fn keys(names: &[&str]) -> Need {
        Need::Keys(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_parts_read_are_found() {
        let needs = needs_of(
            "raw.a.b && has(raw.c) && raw['d'] == ext.e && \
             raw.items.exists(raw, raw.x == 1) && params.max > 2 && raw.?f.orValue(1) == 1",
        )
        .unwrap();
        assert_eq!(needs.raw, keys(&["a", "c", "d", "f", "items"]));
        assert_eq!(needs.ext, keys(&["e"]));
        assert_eq!(needs.com, keys(&[]));
        assert_eq!(needs_of("size(com) > 0").unwrap().com, Need::All);
    }

    #[test]
    fn syntax_errors_unknown_names_and_params_are_errors() {
        let err = needs_of("raw.a ==").unwrap_err();
        assert!(
            err.starts_with("CEL syntax error at line 1 column"),
            "{err}"
        );
        let err = needs_of("record.a == 1").unwrap_err();
        assert!(err.contains("unknown variable `record`"), "{err}");
        let err = needs_of("params.min > 1").unwrap_err();
        assert!(
            err.contains("unknown param `params.min` (the rule declares: max)"),
            "{err}"
        );
        assert!(needs_of("[1].all(x, x > 0)").is_ok());
    }
}
