//! Records a server refused one by one, counted by kind.

use std::collections::BTreeMap;

/// Refused records since the last report: by kind (the text of a reason
/// before its first `:`, e.g. `mapper_parsing_exception`, `error 11000`,
/// `code 6`), a count and the first full reason.
#[derive(Debug, Default)]
pub struct Refusals(BTreeMap<String, (u64, String)>);

impl Refusals {
    /// Counts one refused record.
    pub fn add(&mut self, reason: String) {
        self.add_many(1, reason);
    }

    /// Counts `n` refused records with the same reason.
    pub fn add_many(&mut self, n: u64, reason: String) {
        if n == 0 {
            return;
        }
        let kind = reason.split(':').next().unwrap_or_default().to_string();
        self.0.entry(kind).or_insert((0, reason)).0 += n;
    }

    /// How many records were refused.
    pub fn total(&self) -> u64 {
        self.0.values().map(|(n, _)| n).sum()
    }

    /// `2 x reason; 1 x other reason`, and the count, emptying the tally.
    pub fn take(&mut self) -> Option<(u64, String)> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let reasons: Vec<String> = std::mem::take(&mut self.0)
            .into_values()
            .map(|(n, reason)| format!("{n} x {reason}"))
            .collect();
        Some((total, reasons.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_counted_by_kind_with_the_first_text() {
        let mut refusals = Refusals::default();
        refusals.add("error 11000 DuplicateKey: dup key a".into());
        refusals.add("error 11000 DuplicateKey: dup key b".into());
        refusals.add_many(3, "not JSON".into());
        assert_eq!(refusals.total(), 5);
        assert_eq!(
            refusals.take(),
            Some((
                5,
                "2 x error 11000 DuplicateKey: dup key a; 3 x not JSON".into()
            ))
        );
        assert_eq!(refusals.take(), None);
    }
}
