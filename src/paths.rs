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

/// The hook log's previous part, once it grew past its cap.
pub fn rotated_hook_log(data_dir: &std::path::Path) -> PathBuf {
    hook_log(data_dir).with_extension("log.1")
}

/// The global configuration, used where no project configuration is found.
pub fn global_config(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("config.json")
}

/// Gemini CLI's root: `$GEMINI_CLI_HOME/.gemini`, else `~/.gemini`.
pub fn gemini_root() -> Option<PathBuf> {
    env_path("GEMINI_CLI_HOME")
        .or_else(home_dir)
        .map(|h| h.join(".gemini"))
}

/// OpenCode's database: `$OPENCODE_DB` (absolute, or relative to its data dir), else
/// `$XDG_DATA_HOME/opencode/opencode.db` (`~/.local/share/opencode/opencode.db`).
pub fn opencode_db() -> Option<PathBuf> {
    let data = env_path("XDG_DATA_HOME")
        .or_else(|| home_dir().map(|h| h.join(".local").join("share")))?
        .join("opencode");
    Some(match env_path("OPENCODE_DB") {
        Some(db) => data.join(db),
        None => data.join("opencode.db"),
    })
}

/// `$COPILOT_HOME`, else `~/.copilot`.
pub fn copilot_home() -> Option<PathBuf> {
    env_path("COPILOT_HOME").or_else(|| home_dir().map(|h| h.join(".copilot")))
}

/// `$QWEN_HOME`, else `~/.qwen`.
pub fn qwen_home() -> Option<PathBuf> {
    env_path("QWEN_HOME").or_else(|| home_dir().map(|h| h.join(".qwen")))
}

/// Amp's local data (threads themselves live on Amp's servers).
pub fn amp_data() -> Option<PathBuf> {
    env_path("XDG_DATA_HOME")
        .or_else(|| home_dir().map(|h| h.join(".local").join("share")))
        .map(|d| d.join("amp"))
}

/// Where the portable OpenAI-chat JSONL files go unless configured.
pub fn openai_chat_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("openai-chat")
}

/// Where `doctor` remembers how far it read the hook log.
pub fn doctor_mark(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("doctor.json")
}
