//! Sharded runs (`cloudmarker --shard I/N`): each of N cloudmarker
//! processes (the pods of a Kubernetes indexed Job) reads its own part of
//! the estate, without a coordinator.
//!
//! The host gives the run's shard to each cloud plugin built against
//! plugin-api 0.1.2 or later, in a reserved key of its params ([`PARAM`])
//! that the SDK takes out before the plugin's own params are read. A cloud
//! plugin that partitions its work says so with
//! [`PluginType::SHARDS`](super::PluginType::SHARDS) and keeps, after
//! listing, the subscriptions, projects or accounts [`Shard::takes`] (see
//! [`partition`]); one that does not is refused in a sharded run, since it
//! would read everything on every shard.
//!
//! The partition is a stable hash (FNV-1a 128 of the lowercased id, modulo
//! the shard count): a subscription stays on the same shard from run to
//! run and machine to machine.

use serde_json::{json, Map, Value};
use std::fmt;
use std::sync::RwLock;

/// The params key in which the host passes the run's shard
/// (`{"index": I, "count": N}`).
pub const PARAM: &str = "_cloudmarker_shard";

/// One part of a sharded run: shard `index` of `count` (from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Which shard, from 0.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// Shard `index` of `count`; an error says why not.
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the shard count {count} (shards are numbered from 0)"
            ));
        }
        Ok(Self { index, count })
    }

    /// `I/N`, as `--shard` takes it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a shard: write INDEX/COUNT, e.g. 0/4"))?;
        let number = |part: &str, what: &str| {
            part.trim().parse::<u32>().map_err(|_| {
                format!("{text:?} is not a shard: the {what} {part:?} is not a whole number")
            })
        };
        Self::new(number(index, "index")?, number(count, "count")?)
    }

    /// The shard that `id` belongs to, of `count`.
    pub fn of(id: &str, count: u32) -> u32 {
        let hash = super::check::fnv1a_128(id.to_lowercase().as_bytes());
        (hash % u128::from(count.max(1))) as u32
    }

    /// Whether this shard takes the subscription, project or account `id`
    /// (compared without case: Azure ids are case-insensitive).
    pub fn takes(&self, id: &str) -> bool {
        Self::of(id, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

static CURRENT: RwLock<Option<Shard>> = RwLock::new(None);

/// The run's shard, if the run is sharded (set when the host constructs a
/// cloud plugin of this library).
pub fn current() -> Option<Shard> {
    *CURRENT.read().unwrap_or_else(|e| e.into_inner())
}

/// Takes the shard out of a plugin's `params` (JSON text): the params
/// without it, and the shard, which becomes [`current`].
pub(crate) fn take(params: &str) -> Result<(Option<String>, Option<Shard>), String> {
    if !params.contains(PARAM) {
        return Ok((None, None));
    }
    let mut map: Map<String, Value> =
        serde_json::from_str(params).map_err(|e| format!("invalid params: {e}"))?;
    let Some(value) = map.remove(PARAM) else {
        return Ok((None, None));
    };
    let shard: Shard =
        serde_json::from_value(value).map_err(|e| format!("invalid {PARAM}: {e}"))?;
    let shard = Shard::new(shard.index, shard.count)?;
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(shard);
    Ok((Some(Value::Object(map).to_string()), Some(shard)))
}

/// What a cloud plugin took of what it listed, for its logs and its
/// `collection_summary` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// The run's shard.
    pub shard: Shard,
    /// How many this shard took.
    pub taken: usize,
    /// How many there were.
    pub of: usize,
}

impl Taken {
    /// The `collection_summary` fields: `shard` (`"I/N"`) and
    /// `shard_scopes` (`{"taken": T, "of": N}`).
    pub fn summary_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("shard".into(), self.shard.to_string().into());
        fields.insert(
            "shard_scopes".into(),
            json!({"taken": self.taken, "of": self.of}),
        );
        fields
    }
}

/// Keeps the `items` of the run's shard (all of them when the run is not
/// sharded), `id` naming each one's subscription, project or account; logs
/// how many of how many it took, `what` naming them (`subscription(s)`).
pub fn partition<T, S: AsRef<str>>(
    items: Vec<T>,
    what: &str,
    id: impl Fn(&T) -> S,
) -> (Vec<T>, Option<Taken>) {
    let Some(shard) = current() else {
        return (items, None);
    };
    let of = items.len();
    let kept: Vec<T> = items
        .into_iter()
        .filter(|item| shard.takes(id(item).as_ref()))
        .collect();
    let taken = Taken {
        shard,
        taken: kept.len(),
        of,
    };
    log::info!("Shard {shard}: taking {} of {of} {what}.", kept.len());
    (kept, Some(taken))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_written_index_slash_count() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        assert_eq!(Shard::parse("0/1").unwrap().to_string(), "0/1");
        for bad in ["4/4", "1/0", "2", "a/4", "-1/4", "1/x"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert!(Shard::parse("4/4").unwrap_err().contains("numbered from 0"));
    }

    #[test]
    fn each_id_goes_to_exactly_one_shard_whatever_its_case() {
        let id = "6E0A1B2C-0000-4000-8000-00000000000A";
        let owners: Vec<u32> = (0..8)
            .filter(|i| {
                Shard {
                    index: *i,
                    count: 8,
                }
                .takes(id)
            })
            .collect();
        assert_eq!(owners.len(), 1);
        assert!(Shard {
            index: owners[0],
            count: 8
        }
        .takes(&id.to_lowercase()));
        // One shard takes everything.
        assert!(Shard { index: 0, count: 1 }.takes(id));
    }

    #[test]
    fn a_thousand_subscriptions_spread_evenly_over_eight_shards() {
        let count = 8;
        let mut per_shard = vec![0usize; count as usize];
        for n in 0..1000u32 {
            // Azure subscription ids are GUIDs.
            let id = format!(
                "{:08x}-{:04x}-4{:03x}-8000-{:012x}",
                n.wrapping_mul(2654435761),
                n % 65536,
                n % 4096,
                n
            );
            per_shard[Shard::of(&id, count) as usize] += 1;
        }
        let mean = 1000.0 / f64::from(count);
        let most = *per_shard.iter().max().unwrap() as f64;
        assert!(most <= 1.5 * mean, "{per_shard:?}");
        assert!(per_shard.iter().all(|n| *n > 0), "{per_shard:?}");
    }

    #[test]
    fn the_host_key_is_taken_out_of_the_params() {
        let (params, shard) =
            take(r#"{"a":1,"_cloudmarker_shard":{"index":1,"count":3}}"#).unwrap();
        assert_eq!(params.unwrap(), r#"{"a":1}"#);
        assert_eq!(shard, Some(Shard { index: 1, count: 3 }));
        assert_eq!(current(), shard);
        assert_eq!(take(r#"{"a":1}"#).unwrap(), (None, None));
        assert!(take(r#"{"_cloudmarker_shard":{"index":3,"count":3}}"#).is_err());
    }
}
