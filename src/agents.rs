//! Which agents are installed, for `init` and `status`.

use std::path::PathBuf;

/// How an agent was found.
#[derive(Debug, Clone)]
pub enum Found {
    Binary(PathBuf),
    Store(PathBuf),
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::Binary(path) => write!(f, "{} on PATH", path.display()),
            Found::Store(path) => write!(f, "its store {} exists", path.display()),
        }
    }
}

/// Codex: `codex` on PATH, or `$CODEX_HOME` (`~/.codex`) exists.
pub fn codex() -> Option<Found> {
    if let Ok(binary) = which::which("codex") {
        return Some(Found::Binary(binary));
    }
    crate::paths::codex_home()
        .filter(|home| home.is_dir())
        .map(Found::Store)
}
