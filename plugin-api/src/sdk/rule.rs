//! Checks of one rule on the `ext` of one record type, without params: the
//! shape of most security checks ("a storage account that accepts plain
//! HTTP", "a key that never expires"). A rule says which records it reads,
//! which `ext` fields, and what is wrong with a record and how to fix it;
//! [`RuleCheck`] makes it an event plugin that keeps the record's `ext` in
//! its events, as upstream Cloudmarker's events do.
//!
//! ```
//! use cloudmarker_plugin_api::sdk::check::Select;
//! use cloudmarker_plugin_api::sdk::rule::{Rule, RuleCheck, Verdict};
//! use serde::Deserialize;
//!
//! #[derive(Default, Deserialize)]
//! pub struct Bucket { #[serde(default)] public: bool }
//!
//! pub enum PublicBucketRule {}
//!
//! impl Rule for PublicBucketRule {
//!     const NAME: &'static str = "publicbucketevent";
//!     const DESCRIPTION: &'static str = "Flags public buckets.";
//!     const SELECT: Select = Select::ext(&["bucket"]);
//!     const EVENT: &'static str = "public_bucket_event";
//!     type Ext = Bucket;
//!     fn judge(bucket: &Bucket, reference: &str) -> Verdict {
//!         bucket.public.then(|| (
//!             format!("Bucket {reference} is public."),
//!             format!("Make bucket {reference} private."),
//!         ))
//!     }
//! }
//!
//! pub type PublicBucket = RuleCheck<PublicBucketRule>;
//! cloudmarker_plugin_api::export_plugin!(event: PublicBucket);
//! ```

use super::check::{Check, Finding, Findings, Select, Severity};
use super::{schema, PluginType, Result};
use crate::record::ComRef;
use crate::PluginError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::marker::PhantomData;

/// What a rule says about one record: `Some((description, recommendation))`
/// when the record breaks it: what is wrong with which resource, and how to
/// fix it (a portal path, a CLI command).
pub type Verdict = Option<(String, String)>;

/// One rule on the `ext` of the records [`Rule::SELECT`] picks.
pub trait Rule: Send + 'static {
    /// The plugin's name.
    const NAME: &'static str;
    /// One line saying what the plugin flags.
    const DESCRIPTION: &'static str;
    /// Upstream Cloudmarker's class name, if it has one.
    const CLASS: Option<&'static str> = None;
    /// The records it reads.
    const SELECT: Select;
    /// The `record_type` of its events.
    const EVENT: &'static str;
    /// How bad its events are (see [`Check::SEVERITY`]).
    const SEVERITY: Severity = Severity::Medium;
    /// The benchmark sections its events answer to (see [`Check::COMPLIANCE`]).
    const COMPLIANCE: &'static [&'static str] = &[];
    /// The `ext` fields it reads (missing fields take their defaults).
    type Ext: DeserializeOwned + Default;
    /// Judges a record's `ext`; `reference` is the record's
    /// `com.reference` (`(unknown)` when it has none).
    fn judge(ext: &Self::Ext, reference: &str) -> Verdict;
}

/// The params of a plugin without any.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schema::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[schemars(crate = "crate::sdk::schema::schemars")]
pub struct NoParams {}

/// A selected record, as a rule check reads it: its `ext` (kept whole for
/// the event) and its `com` head.
#[derive(Deserialize)]
pub struct RuleRecord<'a> {
    #[serde(borrow)]
    ext: &'a RawValue,
    #[serde(borrow, default)]
    com: ComRef<'a>,
}

impl<'a> RuleRecord<'a> {
    /// Judges this record with `judge` over its `ext` read as `E`, and adds
    /// the event of type `event` it raises (keeping the record's `ext`).
    pub fn raise<E: DeserializeOwned>(
        &self,
        event: &str,
        findings: &mut Findings,
        judge: impl FnOnce(&E, &str) -> Verdict,
    ) -> Result<()> {
        let ext: E = serde_json::from_str(self.ext.get())
            .map_err(|e| PluginError::failed(format!("unreadable ext: {e}")))?;
        let reference = self.com.reference.as_str().unwrap_or("(unknown)");
        if let Some((description, recommendation)) = judge(&ext, reference) {
            findings.push(
                Finding::new(event, description, recommendation)
                    .cloud_type(self.com.cloud_type.as_str())
                    .reference(self.com.reference.as_str())
                    .ext_from(Some(self.ext)),
            );
        }
        Ok(())
    }
}

/// A rule with params (a threshold, a list of names): built once from its
/// params, then judging every record. [`ParamRuleCheck`] makes it an event
/// plugin; a [`Rule`] is the case without params.
pub trait ParamRule: Sized + Send + 'static {
    /// The plugin's name.
    const NAME: &'static str;
    /// One line saying what the plugin flags.
    const DESCRIPTION: &'static str;
    /// Upstream Cloudmarker's class name, if it has one.
    const CLASS: Option<&'static str> = None;
    /// The records it reads.
    const SELECT: Select;
    /// The `record_type` of its events.
    const EVENT: &'static str;
    /// How bad its events are (see [`Check::SEVERITY`]).
    const SEVERITY: Severity = Severity::Medium;
    /// The benchmark sections its events answer to (see [`Check::COMPLIANCE`]).
    const COMPLIANCE: &'static [&'static str] = &[];
    /// Its params, with their documented defaults.
    type Params: DeserializeOwned + Serialize + Default + schema::JsonSchema;
    /// The `ext` fields it reads (missing fields take their defaults).
    type Ext: DeserializeOwned + Default;
    /// Checks the params; an error says which param is wrong and why (the
    /// plugin's name is added).
    fn new(params: Self::Params) -> std::result::Result<Self, String>;
    /// Judges a record's `ext`, as [`Rule::judge`] does.
    fn judge(&self, ext: &Self::Ext, reference: &str) -> Verdict;
}

/// The event plugin of a [`ParamRule`].
pub struct ParamRuleCheck<R>(R);

impl<R: ParamRule> PluginType for ParamRuleCheck<R> {
    type Params = R::Params;
    const NAME: &'static str = R::NAME;
    const DESCRIPTION: &'static str = R::DESCRIPTION;
    const CLASS: Option<&'static str> = R::CLASS;

    fn new(params: R::Params) -> Result<Self> {
        R::new(params)
            .map(Self)
            .map_err(|e| PluginError::config(format!("{}: {e}", R::NAME)))
    }
}

impl<R: ParamRule> Check for ParamRuleCheck<R> {
    const SELECT: Select = R::SELECT;
    const SEVERITY: Severity = R::SEVERITY;
    const COMPLIANCE: &'static [&'static str] = R::COMPLIANCE;
    type Record<'a> = RuleRecord<'a>;

    fn check(&mut self, record: RuleRecord<'_>, findings: &mut Findings) -> Result<()> {
        let rule = &self.0;
        record.raise(R::EVENT, findings, |ext: &R::Ext, reference| {
            rule.judge(ext, reference)
        })
    }
}

/// A [`Rule`] as a [`ParamRule`] without params.
pub struct Plain<R>(PhantomData<R>);

impl<R: Rule> ParamRule for Plain<R> {
    const NAME: &'static str = R::NAME;
    const DESCRIPTION: &'static str = R::DESCRIPTION;
    const CLASS: Option<&'static str> = R::CLASS;
    const SELECT: Select = R::SELECT;
    const EVENT: &'static str = R::EVENT;
    const SEVERITY: Severity = R::SEVERITY;
    const COMPLIANCE: &'static [&'static str] = R::COMPLIANCE;
    type Params = NoParams;
    type Ext = R::Ext;

    fn new(_: NoParams) -> std::result::Result<Self, String> {
        Ok(Self(PhantomData))
    }

    fn judge(&self, ext: &R::Ext, reference: &str) -> Verdict {
        R::judge(ext, reference)
    }
}

/// The event plugin of a [`Rule`].
pub type RuleCheck<R> = ParamRuleCheck<Plain<R>>;

/// `(resource group, name)` of an Azure resource id
/// (`/subscriptions/s/resourceGroups/rg/providers/.../name`), for the CLI
/// commands of recommendations; `?` for what the id lacks.
pub fn azure_group_and_name(id: &str) -> (&str, &str) {
    let parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let group = parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("resourceGroups"))
        .and_then(|i| parts.get(i + 1))
        .copied()
        .unwrap_or("?");
    (
        group,
        parts
            .last()
            .copied()
            .filter(|n| !n.is_empty())
            .unwrap_or("?"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_ids_give_group_and_name() {
        assert_eq!(
            azure_group_and_name(
                "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/sto1"
            ),
            ("rg1", "sto1")
        );
        assert_eq!(azure_group_and_name(""), ("?", "?"));
    }
}
