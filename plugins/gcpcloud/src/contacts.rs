//! Who Google tells about a project (`essential_contacts`).

use crate::Project;
use cloudrest::Collected;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// One `essential_contacts` record: the project's contacts, and those of
/// its organization (`organization`, when the project's parent is one)
/// when the credentials may read them, under `raw.contacts`;
/// `ext.categories`: the union of their `notificationCategorySubscriptions`.
/// The organization's contacts are extra: when they cannot be read, only
/// the project's are used (logged, not failed).
pub fn read_contacts(project: &Project<'_>, organization: Option<&str>) -> Collected {
    // Essential Contacts takes no read-only scope.
    let project = &project.full_scope();
    let reader = &project.reader;
    let url = project.url(reader.essentialcontacts_url, "/contacts");
    let mut contacts = match project.list_of("listing essential contacts", &url, "contacts") {
        Ok(contacts) => contacts,
        Err(why) => return crate::collected("essential_contacts", Err(why)),
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
    let categories: Vec<&str> = categories.into_iter().collect();
    let answer = json!({"contacts": contacts});
    project.emit_one("essential_contacts", Ok(answer), |_, record| {
        record
            .reference(format!("projects/{}", project.id))
            .ext("categories", categories)
    })
}
