//! Which agents are installed, for `init`, `status` and `doctor`.

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

/// An agent we mirror into, or (Amp) only point at.
pub struct Agent {
    /// The target name in the configuration.
    pub target: &'static str,
    pub name: &'static str,
    pub binary: &'static str,
    /// The version our format for it was verified with.
    pub verified: &'static str,
    pub store: fn() -> Option<PathBuf>,
}

pub const AGENTS: &[Agent] = &[
    Agent {
        target: "codex",
        name: "Codex",
        binary: "codex",
        verified: "0.169.0",
        store: crate::paths::codex_home,
    },
    Agent {
        target: "gemini",
        name: "Gemini CLI",
        binary: "gemini",
        verified: "0.61.0",
        store: crate::paths::gemini_root,
    },
    Agent {
        target: "opencode",
        name: "OpenCode",
        binary: "opencode",
        verified: "1.18.33",
        store: crate::paths::opencode_db,
    },
    Agent {
        target: "copilot",
        name: "Copilot CLI",
        binary: "copilot",
        verified: "1.0.102",
        store: crate::paths::copilot_home,
    },
    Agent {
        target: "qwen",
        name: "Qwen Code",
        binary: "qwen",
        verified: "0.15.10",
        store: crate::paths::qwen_home,
    },
];

pub const AMP: Agent = Agent {
    target: "amp",
    name: "Amp",
    binary: "amp",
    verified: "0.0.1790142911-g7618fb",
    store: crate::paths::amp_data,
};

/// The agent behind `target`, if it is one.
pub fn agent(target: &str) -> Option<&'static Agent> {
    AGENTS.iter().find(|a| a.target == target)
}

/// Found by its binary on PATH, or by its store.
pub fn find(agent: &Agent) -> Option<Found> {
    if let Ok(binary) = which::which(agent.binary) {
        return Some(Found::Binary(binary));
    }
    (agent.store)()
        .filter(|store| store.exists())
        .map(Found::Store)
}
