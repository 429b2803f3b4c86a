//! The `mutes:` list: findings a team has accepted for a while, with who
//! and why. A muted finding still reaches the plugins that keep every event
//! (stamped `com.muted`), but no plugin that notifies people; once its mute
//! expires, it alerts again.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Mutex;

/// One entry of `mutes:`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mute {
    /// Which findings (every field given must match).
    #[serde(rename = "match")]
    pub matches: Match,
    /// Why they are muted (required).
    pub reason: String,
    /// Who decided.
    #[serde(default)]
    pub owner: Option<String>,
    /// The last day the mute holds (required; `YYYY-MM-DD`).
    pub expires: NaiveDate,
}

/// The fields a mute matches on.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// The event type (`com.record_type`).
    pub record_type: Option<String>,
    /// The resource (`com.reference`), a glob: `*` any text, `?` one character.
    pub reference: Option<String>,
    /// The audit key.
    pub audit: Option<String>,
    /// The resource's cloud (`com.cloud_type`).
    pub cloud_type: Option<String>,
    /// One finding (`com.finding_id`).
    pub finding_id: Option<String>,
}

impl Match {
    /// Whether no field is given (such a mute would mute everything).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    fn matches(&self, audit: &str, com: &Value) -> bool {
        let field = |key: &str| com.get(key).and_then(Value::as_str).unwrap_or_default();
        let equal = |wanted: &Option<String>, actual: &str| match wanted {
            None => true,
            Some(wanted) => wanted == actual,
        };
        let reference = match &self.reference {
            None => true,
            Some(pattern) => glob(pattern, field("reference")),
        };
        equal(&self.record_type, field("record_type"))
            && equal(&self.audit, audit)
            && equal(&self.cloud_type, field("cloud_type"))
            && equal(&self.finding_id, field("finding_id"))
            && reference
    }
}

impl Mute {
    /// `com.muted` of the findings it mutes.
    pub fn stamp(&self) -> Value {
        json!({"reason": self.reason, "owner": self.owner, "expires": self.expires.to_string()})
    }
}

/// The mutes of one run, as of `today`.
pub struct Mutes {
    mutes: Vec<Mute>,
    today: NaiveDate,
    /// Expired mutes already warned about in this run (by index).
    warned: Mutex<HashSet<usize>>,
}

impl Mutes {
    /// The mutes `mutes`, judged on `today`.
    pub fn new(mutes: Vec<Mute>, today: NaiveDate) -> Self {
        Self {
            mutes,
            today,
            warned: Mutex::default(),
        }
    }

    /// Whether there is no mute at all.
    pub fn is_empty(&self) -> bool {
        self.mutes.is_empty()
    }

    /// The mute in force for the event of `audit` whose `com` is `com`; an
    /// expired one that matches is logged once as a warning.
    pub fn find(&self, audit: &str, com: &Value) -> Option<&Mute> {
        for (index, mute) in self.mutes.iter().enumerate() {
            if !mute.matches.matches(audit, com) {
                continue;
            }
            if self.today <= mute.expires {
                return Some(mute);
            }
            let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
            if warned.insert(index) {
                log::warn!(
                    "The mute of mutes[{index}] ({}) expired on {}; its findings alert again.",
                    mute.reason,
                    mute.expires
                );
            }
        }
        None
    }
}

/// Whether `text` matches `pattern`: `*` is any text, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point for the last `*`.
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("/subscriptions/*/nsg-?", "/subscriptions/abc/nsg-1"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b", "axxc"));
        assert!(!glob("/x/?", "/x/12"));
    }

    #[test]
    fn a_mute_holds_until_its_last_day() {
        let mute = Mute {
            matches: Match {
                record_type: Some("firewall_rule_event".into()),
                reference: Some("/subs/*".into()),
                ..Match::default()
            },
            reason: "accepted: bastion".into(),
            owner: Some("ops".into()),
            expires: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        };
        let com = json!({"record_type": "firewall_rule_event", "reference": "/subs/1/nsg"});
        let on = |day| {
            Mutes::new(
                vec![mute.clone()],
                NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
            )
        };
        assert!(on(31).find("a", &com).is_some());
        assert!(on(3)
            .find(
                "a",
                &json!({"record_type": "other", "reference": "/subs/1"})
            )
            .is_none());
        let next_year = Mutes::new(
            vec![mute.clone()],
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        );
        assert!(next_year.find("a", &com).is_none());
        assert_eq!(
            mute.stamp(),
            json!({"reason": "accepted: bastion", "owner": "ops", "expires": "2026-12-31"})
        );
    }
}
