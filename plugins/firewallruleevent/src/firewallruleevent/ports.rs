//! Port ranges as the original's `expand_port_ranges` reads them, but kept
//! as ranges: a rule open on `0-65535` is two numbers here, not 65,536 ports,
//! and overlaps are found by comparing range ends.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};
use std::fmt;

/// An inclusive, non-empty range of ports; port `22` is the range `22-22`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRange {
    start: u16,
    end: u16,
}

/// A port as an integer, or a port or an inclusive range as a string.
impl cloudmarker_plugin_api::sdk::schema::JsonSchema for PortRange {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PortRange".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(
        _: &mut cloudmarker_plugin_api::sdk::schema::schemars::SchemaGenerator,
    ) -> cloudmarker_plugin_api::sdk::schema::schemars::Schema {
        cloudmarker_plugin_api::sdk::schema::schemars::json_schema!({
            "type": ["integer", "string"],
            "description": "a port (22), or a port or inclusive range as a string (\"22\", \"8080-8085\")"
        })
    }
}

impl PortRange {
    /// The range `start-end`, or `None` when `start > end`: the original
    /// expands such a range to no ports at all.
    pub fn new(start: u16, end: u16) -> Option<Self> {
        (start <= end).then_some(Self { start, end })
    }

    /// The range holding only `port`.
    pub fn single(port: u16) -> Self {
        Self {
            start: port,
            end: port,
        }
    }

    /// Parses `"22"` or `"8000-8080"` (both ends included).
    ///
    /// As in the original, each number is ASCII digits only (no sign, no
    /// spaces); unlike it, a number above 65535 is not a port. Returns `None`
    /// for anything else and for an empty range (`m-n` with `m > n`).
    ///
    /// ```
    /// use firewallruleevent::PortRange;
    /// assert_eq!(PortRange::parse("8080-8085"), PortRange::new(8080, 8085));
    /// assert_eq!(PortRange::parse("8085-8080"), None);
    /// assert_eq!(PortRange::parse("80a"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text.split_once('-') {
            Some((start, end)) => Self::new(port_number(start)?, port_number(end)?),
            None => port_number(text).map(Self::single),
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// One port or `m-n`, as digits only.
fn port_number(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Fails above 65535, however many digits there are.
    text.parse().ok()
}

/// A single port serializes as a number, a range as `"m-n"`, so the
/// documented defaults print as the integers users write.
impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.start == self.end {
            serializer.serialize_u16(self.start)
        } else {
            serializer.collect_str(self)
        }
    }
}

/// A configured port: an integer, or a string holding a port or a range.
/// Anything else is an error, because a typo in the configuration must not
/// silently narrow the check.
impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrictVisitor;

        impl Visitor<'_> for StrictVisitor {
            type Value = PortRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port (0-65535) or a port range such as \"8080-8085\"")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortRange, E> {
                u16::try_from(v)
                    .map(PortRange::single)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortRange, E> {
                u16::try_from(v)
                    .map(PortRange::single)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortRange, E> {
                PortRange::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }

        deserializer.deserialize_any(StrictVisitor)
    }
}

/// A set of ports, as sorted, disjoint, non-adjacent ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortSet {
    ranges: Vec<PortRange>,
}

impl FromIterator<PortRange> for PortSet {
    fn from_iter<I: IntoIterator<Item = PortRange>>(iter: I) -> Self {
        let mut sorted: Vec<PortRange> = iter.into_iter().collect();
        sorted.sort_unstable();
        let mut ranges: Vec<PortRange> = Vec::with_capacity(sorted.len());
        for range in sorted {
            match ranges.last_mut() {
                // Overlapping or touching: `1-5` and `6-9` are `1-9`.
                Some(last) if u32::from(range.start) <= u32::from(last.end) + 1 => {
                    last.end = last.end.max(range.end);
                }
                _ => ranges.push(range),
            }
        }
        Self { ranges }
    }
}

impl PortSet {
    /// The ports in both sets, found from the range ends alone.
    pub fn intersection(&self, other: &PortSet) -> PortSet {
        let (a, b) = (&self.ranges, &other.ranges);
        let (mut i, mut j) = (0, 0);
        let mut ranges = Vec::new();
        while i < a.len() && j < b.len() {
            if let Some(both) = PortRange::new(a[i].start.max(b[j].start), a[i].end.min(b[j].end)) {
                ranges.push(both);
            }
            // The range that ends first cannot overlap anything further on.
            if a[i].end < b[j].end {
                i += 1;
            } else {
                j += 1;
            }
        }
        // Both inputs are sorted and have gaps between ranges, so the
        // pieces are sorted and keep a gap between them too.
        PortSet { ranges }
    }

    /// Whether the set holds no port.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The ports, in ascending order, each once.
    pub fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges.iter().flat_map(|r| r.start..=r.end)
    }

    /// The ranges, in ascending order.
    #[cfg(test)]
    pub fn ranges(&self) -> &[PortRange] {
        &self.ranges
    }
}

/// The `destination_ports` of a firewall rule: a list in which, as in the
/// original, entries that are not a port or a non-empty range are ignored.
/// Integers are accepted as ports too.
#[derive(Debug, Default)]
pub struct RulePorts(pub PortSet);

impl<'de> Deserialize<'de> for RulePorts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;

        impl<'de> Visitor<'de> for ListVisitor {
            type Value = RulePorts;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of ports and port ranges")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RulePorts, A::Error> {
                let mut ranges = Vec::new();
                while let Some(LenientRange(range)) = seq.next_element()? {
                    ranges.extend(range);
                }
                Ok(RulePorts(ranges.into_iter().collect()))
            }
        }

        deserializer.deserialize_seq(ListVisitor)
    }
}

/// One entry of a rule's port list; `None` when it is not a usable range.
struct LenientRange(Option<PortRange>);

impl<'de> Deserialize<'de> for LenientRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = LenientRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("anything")
            }

            fn visit_str<E>(self, v: &str) -> Result<LenientRange, E> {
                Ok(LenientRange(PortRange::parse(v)))
            }

            fn visit_u64<E>(self, v: u64) -> Result<LenientRange, E> {
                Ok(LenientRange(u16::try_from(v).ok().map(PortRange::single)))
            }

            fn visit_i64<E>(self, v: i64) -> Result<LenientRange, E> {
                Ok(LenientRange(u16::try_from(v).ok().map(PortRange::single)))
            }

            fn visit_f64<E>(self, _: f64) -> Result<LenientRange, E> {
                Ok(LenientRange(None))
            }

            fn visit_bool<E>(self, _: bool) -> Result<LenientRange, E> {
                Ok(LenientRange(None))
            }

            fn visit_unit<E>(self) -> Result<LenientRange, E> {
                Ok(LenientRange(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LenientRange, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientRange(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LenientRange, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientRange(None))
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u16, end: u16) -> PortRange {
        PortRange::new(start, end).unwrap()
    }

    fn set(ranges: &[(u16, u16)]) -> PortSet {
        ranges.iter().map(|&(s, e)| range(s, e)).collect()
    }

    fn rule_ports(json: &str) -> PortSet {
        serde_json::from_str::<RulePorts>(json).unwrap().0
    }

    #[test]
    fn parse_follows_expand_port_ranges() {
        assert_eq!(PortRange::parse("22"), Some(PortRange::single(22)));
        assert_eq!(PortRange::parse("8080-8085"), Some(range(8080, 8085)));
        assert_eq!(PortRange::parse("0-65535"), Some(range(0, 65535)));
        assert_eq!(PortRange::parse("7-7"), Some(PortRange::single(7)));
        assert_eq!(PortRange::parse("022"), Some(PortRange::single(22)));
        assert_eq!(PortRange::parse("8085-8080"), None, "m > n is empty");
        for bad in [
            "",
            "-",
            "8081a",
            "8080a-8085",
            "80-",
            "-80",
            " 22",
            "+22",
            "1-2-3",
            "*",
            "65536",
            "0-65536",
            "99999999999999999999",
        ] {
            assert_eq!(PortRange::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn sets_merge_overlapping_and_touching_ranges() {
        assert_eq!(
            set(&[(8082, 8086), (22, 22), (8080, 8084), (23, 25), (27, 30)]).ranges(),
            [range(22, 25), range(27, 30), range(8080, 8086)]
        );
        assert_eq!(
            set(&[(0, 65535), (65535, 65535)]).ranges(),
            [range(0, 65535)]
        );
    }

    #[test]
    fn intersection_works_on_range_ends() {
        let a = set(&[(20, 30), (100, 200), (1000, 1000)]);
        let b = set(&[(25, 150), (199, 1000)]);
        let both = a.intersection(&b);
        assert_eq!(
            both.ranges(),
            [
                range(25, 30),
                range(100, 150),
                range(199, 200),
                range(1000, 1000)
            ]
        );
        assert_eq!(both, b.intersection(&a), "symmetric");
        assert!(a.intersection(&set(&[(31, 99)])).is_empty());
        assert!(a.intersection(&PortSet::default()).is_empty());
    }

    #[test]
    fn huge_ranges_intersect_without_expanding() {
        let everything = set(&[(0, 65535)]);
        let defaults = set(&[(22, 22), (3389, 3389), (1433, 1433)]);
        assert_eq!(everything.intersection(&defaults), defaults);
        let all_but_zero = set(&[(1, 65535)]);
        let both = everything.intersection(&all_but_zero);
        assert_eq!(both.ranges(), [range(1, 65535)]);
        assert_eq!(both.ports().count(), 65535);
        assert_eq!(both.ports().next(), Some(1));
        assert_eq!(both.ports().last(), Some(65535));
    }

    #[test]
    fn rule_port_lists_ignore_invalid_entries() {
        let ports = rule_ports(
            r#"["8080", "8081a", "8082", "8085-8080", "7070-7075", "8080a-8085", 443,
                -1, 70000, 1.5, null, true, ["22"], {"port": "22"}, "65536"]"#,
        );
        assert_eq!(
            ports.ports().collect::<Vec<_>>(),
            [443, 7070, 7071, 7072, 7073, 7074, 7075, 8080, 8082]
        );
        assert!(rule_ports("[]").is_empty());
        assert!(serde_json::from_str::<RulePorts>(r#""22""#).is_err());
    }

    #[test]
    fn configured_ports_are_strict() {
        let ok: Vec<PortRange> = serde_json::from_str(r#"[22, "3389", "8080-8085", 0]"#).unwrap();
        assert_eq!(
            ok,
            [
                PortRange::single(22),
                PortRange::single(3389),
                range(8080, 8085),
                PortRange::single(0)
            ]
        );
        for bad in [
            "[-1]",
            "[65536]",
            r#"["ssh"]"#,
            r#"["8085-8080"]"#,
            "[1.5]",
            "[null]",
        ] {
            let err = serde_json::from_str::<Vec<PortRange>>(bad).unwrap_err();
            assert!(err.is_data(), "{bad}: {err}");
        }
        let err = serde_json::from_str::<Vec<PortRange>>(r#"["ssh"]"#).unwrap_err();
        assert!(
            err.to_string().contains(
                "invalid value: string \"ssh\", expected a port (0-65535) or a port range"
            ),
            "{err}"
        );
    }

    #[test]
    fn configured_ports_print_as_written() {
        let ports = [PortRange::single(22), range(8080, 8085)];
        assert_eq!(
            serde_json::to_string(&ports).unwrap(),
            r#"[22,"8080-8085"]"#
        );
    }
}
