//! Where things are: our data directory and the agents' homes, from the environment.

use std::path::PathBuf;

/// Environment variable that moves session-sync's state and logs (tests, sandboxes).
pub const DATA_DIR_ENV: &str = "SESSION_SYNC_DATA_DIR";

/// A directory from the environment, if absolute: a relative one would resolve against the
/// hook's working directory, i.e. put our files in the user's project.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// session-sync's own state: `$SESSION_SYNC_DATA_DIR`, else the platform data directory
/// (`$XDG_DATA_HOME/session-sync`, `~/.local/share/session-sync`).
pub fn data_dir() -> Option<PathBuf> {
    env_path(DATA_DIR_ENV).or_else(|| {
        directories::ProjectDirs::from("", "", "session-sync")
            .map(|d| d.data_dir().to_path_buf())
            .filter(|p| p.is_absolute())
    })
}

pub fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .filter(|p| p.is_absolute())
}

/// `$CODEX_HOME`, else `~/.codex`.
pub fn codex_home() -> Option<PathBuf> {
    env_path("CODEX_HOME").or_else(|| home_dir().map(|h| h.join(".codex")))
}

/// `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub fn claude_config_dir() -> Option<PathBuf> {
    env_path("CLAUDE_CONFIG_DIR").or_else(|| home_dir().map(|h| h.join(".claude")))
}

pub fn hook_log(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("logs").join("hook.log")
}

/// The global configuration, used where no project configuration is found.
pub fn global_config(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("config.json")
}
