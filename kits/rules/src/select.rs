//! Which rules a config runs: `include` and `exclude` patterns.

use serde::{Deserialize, Serialize};

/// `*` matches any run of characters, `?` one character; everything else
/// matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The rules a config runs. A pattern (a glob, see [`glob_match`]) names a
/// rule when it matches its id, the event plugin it answers to (`plugin`),
/// the id of a framework that maps it (`cis_gcp_5.0.0`) or one of the
/// framework's requirements that map it (`cis_gcp_5.0.0 4.*`, as in
/// `com.compliance`). No `include` means every rule; `exclude` removes
/// rules from what `include` chose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Selection {
    /// Rules to run (every rule when empty).
    pub include: Vec<String>,
    /// Rules not to run.
    pub exclude: Vec<String>,
}

/// What a pattern is matched against.
pub(crate) struct Names<'a> {
    pub id: &'a str,
    pub plugin: Option<&'a str>,
    /// The frameworks and requirements that map it: `<framework id>` and
    /// `<framework id> <requirement id>` for each mapping.
    pub frameworks: &'a [String],
}

pub(crate) fn matches(pattern: &str, names: &Names<'_>) -> bool {
    glob_match(pattern, names.id)
        || names.plugin.is_some_and(|p| glob_match(pattern, p))
        || names.frameworks.iter().any(|c| glob_match(pattern, c))
}

impl Selection {
    /// Whether the rule with `names` runs.
    pub(crate) fn selects(&self, names: &Names<'_>) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| matches(p, names)))
            && !self.exclude.iter().any(|p| matches(p, names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("gcp_*", "gcp_compute_x"));
        assert!(glob_match("*serial*", "gcp_compute_serial_port_enabled"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("gcp_*", "azure_x"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("abc", "abcd"));
    }

    #[test]
    fn include_then_exclude() {
        let names = |id| Names {
            id,
            plugin: Some("oldplugin"),
            frameworks: &[],
        };
        let s = Selection {
            include: vec!["gcp_*".into()],
            exclude: vec!["*_ip_*".into()],
        };
        assert!(s.selects(&names("gcp_compute_serial")));
        assert!(!s.selects(&names("gcp_compute_ip_forwarding")));
        assert!(!s.selects(&names("azure_x")));
        assert!(Selection::default().selects(&names("azure_x")));
        let by_plugin = Selection {
            include: vec!["oldplugin".into()],
            exclude: vec![],
        };
        assert!(by_plugin.selects(&names("anything")));
        let frameworks = ["cis_gcp_5.0.0".to_string(), "cis_gcp_5.0.0 4.5".to_string()];
        let mapped = Names {
            id: "x",
            plugin: None,
            frameworks: &frameworks,
        };
        for pattern in ["cis_gcp_5.0.0", "cis_gcp_5.0.0 4.*", "cis_gcp_*"] {
            let by_framework = Selection {
                include: vec![pattern.into()],
                exclude: vec![],
            };
            assert!(by_framework.selects(&mapped), "{pattern}");
        }
        let other = Selection {
            include: vec!["cis_gcp_5.0.0 3.*".into()],
            exclude: vec![],
        };
        assert!(!other.selects(&mapped));
    }
}
