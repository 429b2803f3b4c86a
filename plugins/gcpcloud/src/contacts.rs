//! Who Google tells about a project (`essential_contacts`).

use crate::{collected, Reader};
use cloudrest::{Collected, Emitter};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// One `essential_contacts` record: the project's contacts, and those of
/// its organization (`organization`, when the project's parent is one)
/// when the credentials may read them, under `raw.contacts`;
/// `ext.categories`: the union of their `notificationCategorySubscriptions`.
/// The organization's contacts are extra: when they cannot be read, only
/// the project's are used (logged, not failed).
pub fn read_contacts(
    reader: &Reader<'_>,
    project: &str,
    organization: Option<&str>,
    project_ext: &Map<String, Value>,
    emit: &Emitter,
) -> Collected {
    // Essential Contacts takes no read-only scope.
    let reader = &reader.full_scope();
    let url = format!(
        "{}/projects/{project}/contacts",
        reader.essentialcontacts_url
    );
    let mut contacts = match reader.list_of(
        &format!("project {project}: listing essential contacts"),
        &url,
        "contacts",
    ) {
        Ok(contacts) => contacts,
        Err(why) => return collected("essential_contacts", Err(why)),
    };
    if let Some(organization) = organization {
        let url = format!(
            "{}/organizations/{organization}/contacts",
            reader.essentialcontacts_url
        );
        let what = format!("organization {organization}: listing essential contacts");
        match reader.list_of(&what, &url, "contacts") {
            Ok(more) => contacts.extend(more),
            Err(why) => log::info!("{why} (the project's contacts are used alone)"),
        }
    }
    let categories: BTreeSet<&str> = contacts
        .iter()
        .filter_map(|c| c.get("notificationCategorySubscriptions"))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let record = crate::record(project_ext, "essential_contacts")
        .reference(format!("projects/{project}"))
        .ext("categories", categories.into_iter().collect::<Vec<_>>());
    emit.record(record.to_json(&json!({"contacts": contacts})));
    collected("essential_contacts", Ok(1))
}
