//! Audit versions: the original's format (UTC `%Y%m%d_%H%M%S`), unique per run.
//!
//! Two runs that start in the same second (two processes, or a service run
//! and a `-n` run) would share a version and mix their records in stores
//! keyed by it. Each run therefore claims its version in a small file under
//! the user's state directory (`$XDG_STATE_HOME/cloudmarker/audit_version`,
//! default `~/.local/state/cloudmarker/`), under an exclusive lock: the first
//! run of a second gets the plain version, the next ones `_2`, `_3`, ...

use chrono::{DateTime, Utc};
use cloudmarker_plugin_api::sdk::files;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

/// The file, in the state directory, that holds the last version claimed.
pub const CLAIM_FILE: &str = "audit_version";

/// The last version this process handed out (for when the claim file
/// cannot be used).
static LAST: Mutex<String> = Mutex::new(String::new());

/// The audit version for a run starting now.
pub fn new_audit_version() -> String {
    claim(Utc::now(), crate::dirs::state_dir().as_deref())
}

/// The version for a run starting at `now`, claimed in `dir` when given.
pub fn claim(now: DateTime<Utc>, dir: Option<&Path>) -> String {
    let base = now.format("%Y%m%d_%H%M%S").to_string();
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let claimed = match dir.map(|dir| claim_in(dir, &base)) {
        Some(Ok(version)) => version,
        Some(Err(e)) => {
            log::warn!(
                "Cannot use {} to keep audit versions unique across processes, error: {e}",
                dir.unwrap_or(Path::new("")).join(CLAIM_FILE).display()
            );
            successor(&last, &base)
        }
        None => successor(&last, &base),
    };
    // Unique within this process even if the file was edited meanwhile.
    let version = if claimed == *last {
        successor(&last, &base)
    } else {
        claimed
    };
    last.clone_from(&version);
    version
}

/// Reads the last claimed version from `dir`'s claim file and writes the
/// next one, holding an exclusive lock for the few microseconds it takes.
fn claim_in(dir: &Path, base: &str) -> std::io::Result<String> {
    files::create_private_dir_all(dir)?;
    let mut file = files::open_private_rw(&dir.join(CLAIM_FILE))?;
    files::lock_exclusive(&file)?;
    let mut last = String::new();
    Read::by_ref(&mut file)
        .take(256)
        .read_to_string(&mut last)?;
    let version = successor(last.trim(), base);
    files::rewrite(&mut file, &version)?;
    Ok(version)
}

/// `base` unless `last` already used it (or a suffixed form of it); then
/// the next suffix.
fn successor(last: &str, base: &str) -> String {
    if last == base {
        return format!("{base}_2");
    }
    match last
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|n| n.parse::<u32>().ok())
    {
        Some(n) => format!("{base}_{}", n + 1),
        None => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn runs_in_the_same_second_get_suffixes() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 8, 15, 0).unwrap();
        let versions: Vec<String> = (0..3).map(|_| claim(now, Some(dir.path()))).collect();
        assert_eq!(
            versions,
            ["20261203_081500", "20261203_081500_2", "20261203_081500_3"]
        );
        let later = now + chrono::Duration::seconds(1);
        assert_eq!(claim(later, Some(dir.path())), "20261203_081501");
    }

    #[test]
    fn claims_from_many_threads_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        let versions: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| claim(now, Some(dir.path()))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let unique: std::collections::HashSet<_> = versions.iter().collect();
        assert_eq!(unique.len(), 8, "{versions:?}");
    }

    #[test]
    fn successor_rules() {
        assert_eq!(successor("", "v"), "v");
        assert_eq!(successor("u_4", "v"), "v");
        assert_eq!(successor("v", "v"), "v_2");
        assert_eq!(successor("v_9", "v"), "v_10");
    }
}
