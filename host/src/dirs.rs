//! The user's directories: where cloudmarker keeps its state and its cache,
//! and the home directory the config cascade reads from.

use std::path::PathBuf;

/// The user's home directory (`$HOME`).
pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The state directory: `$XDG_STATE_HOME/cloudmarker`, else
/// `$HOME/.local/state/cloudmarker` (the audit version claim, the findings
/// database, the run history).
pub fn state_dir() -> Option<PathBuf> {
    user_dir("XDG_STATE_HOME", ".local/state")
}

/// The cache directory: `$XDG_CACHE_HOME/cloudmarker`, else
/// `$HOME/.cache/cloudmarker` (the plugin registry cache).
pub fn cache_dir() -> Option<PathBuf> {
    user_dir("XDG_CACHE_HOME", ".cache")
}

/// The user's `cloudmarker` directory of one XDG kind: `$<xdg_var>/cloudmarker`
/// when that variable is an absolute path, else `$HOME/<home_default>/cloudmarker`.
pub fn user_dir(xdg_var: &str, home_default: &str) -> Option<PathBuf> {
    let xdg = std::env::var_os(xdg_var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    xdg.or_else(|| home().map(|h| h.join(home_default)))
        .map(|d| d.join("cloudmarker"))
}
