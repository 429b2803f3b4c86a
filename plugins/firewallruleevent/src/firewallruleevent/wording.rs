//! The event's text, worded as the original's (`util.friendly_string`,
//! `util.pluralize` and `util.friendly_list`), so alerts read the same.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The cloud as people name it: `azure` is "Azure", `gcp` is "Google Cloud
/// Platform (GCP)", `aws` is "Amazon Web Services (AWS)", any other type is itself with its first letter
/// upper-cased, and a missing one is "Unknown cloud".
pub fn cloud_name(cloud_type: Option<&str>) -> Cow<'_, str> {
    match cloud_type {
        Some("azure") => Cow::Borrowed("Azure"),
        Some("gcp") => Cow::Borrowed("Google Cloud Platform (GCP)"),
        Some("aws") => Cow::Borrowed("Amazon Web Services (AWS)"),
        None | Some("") => Cow::Borrowed("Unknown cloud"),
        Some(other) => {
            let mut chars = other.chars();
            match chars.next() {
                Some(first) if !first.is_uppercase() => {
                    Cow::Owned(first.to_uppercase().chain(chars).collect())
                }
                _ => Cow::Borrowed(other),
            }
        }
    }
}

/// "port 22", "ports 22 and 3389", or "ports 22, 3389, and 5432" (with the
/// original's Oxford comma). `ports` is not empty: an event needs a port.
pub fn ports_phrase(ports: &[u16]) -> String {
    let mut text = String::from(if ports.len() == 1 { "port " } else { "ports " });
    let last = ports.len().saturating_sub(1);
    for (i, port) in ports.iter().enumerate() {
        let separator = match (i, ports.len()) {
            (0, _) => "",
            (_, 2) => " and ",
            (i, _) if i == last => ", and ",
            _ => ", ",
        };
        // Writing to a String cannot fail.
        let _ = write!(text, "{separator}{port}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_have_friendly_names() {
        assert_eq!(cloud_name(Some("azure")), "Azure");
        assert_eq!(cloud_name(Some("gcp")), "Google Cloud Platform (GCP)");
        assert_eq!(cloud_name(Some("mock")), "Mock");
        assert_eq!(cloud_name(Some("aws")), "Amazon Web Services (AWS)");
        assert_eq!(cloud_name(Some("Oracle")), "Oracle");
        assert_eq!(cloud_name(Some("überwolke")), "Überwolke");
        assert_eq!(cloud_name(Some("")), "Unknown cloud");
        assert_eq!(cloud_name(None), "Unknown cloud");
    }

    #[test]
    fn ports_read_as_an_english_list() {
        assert_eq!(ports_phrase(&[22]), "port 22");
        assert_eq!(ports_phrase(&[22, 3389]), "ports 22 and 3389");
        assert_eq!(ports_phrase(&[22, 3389, 5432]), "ports 22, 3389, and 5432");
        assert_eq!(
            ports_phrase(&[22, 1433, 3389, 5432]),
            "ports 22, 1433, 3389, and 5432"
        );
    }
}
