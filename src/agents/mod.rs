//! The agents: which are installed, which versions (for `init`, `status` and `doctor`), and
//! one reader per agent that turns its own sessions into normalized records.

pub mod claude;
pub mod codex;
pub mod copilot;
pub mod gemini;
pub mod native;
pub mod opencode;
pub mod qwen;
#[cfg(test)]
mod testing;

pub use native::{Conversation, NativeSession, Reader};

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The versions our formats were verified with (`tests/e2e.rs` installs exactly these).
pub const VERIFIED: &[(&str, &str)] = &[
    ("claude", "2.1.197"),
    ("codex", "0.169.0"),
    ("gemini", "0.61.0"),
    ("opencode", "1.18.33"),
    ("copilot", "1.0.102"),
    ("qwen", "0.15.10"),
];

/// `<agent> --version` answers in well under a second; a slow one must not hold up `doctor`.
const VERSION_TIMEOUT: Duration = Duration::from_secs(3);

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
    pub store: fn() -> Option<PathBuf>,
}

pub const AGENTS: &[Agent] = &[
    Agent {
        target: "codex",
        name: "Codex",
        binary: "codex",
        store: crate::paths::codex_home,
    },
    Agent {
        target: "gemini",
        name: "Gemini CLI",
        binary: "gemini",
        store: crate::paths::gemini_root,
    },
    Agent {
        target: "opencode",
        name: "OpenCode",
        binary: "opencode",
        store: crate::paths::opencode_db,
    },
    Agent {
        target: "copilot",
        name: "Copilot CLI",
        binary: "copilot",
        store: crate::paths::copilot_home,
    },
    Agent {
        target: "qwen",
        name: "Qwen Code",
        binary: "qwen",
        store: crate::paths::qwen_home,
    },
];

pub const AMP: Agent = Agent {
    target: "amp",
    name: "Amp",
    binary: "amp",
    store: crate::paths::amp_data,
};

/// One reader per agent whose sessions can be read, in the order listings show them.
pub const READERS: &[&Reader] = &[
    &claude::READER,
    &codex::READER,
    &gemini::READER,
    &opencode::READER,
    &qwen::READER,
    &copilot::READER,
];

/// The reader of `agent`.
pub fn reader(agent: &str) -> Option<&'static Reader> {
    READERS.iter().copied().find(|r| r.agent == agent)
}

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

/// The version `<agent> --version` prints (`codex-cli 0.169.0`, `2.1.197 (Claude Code)`):
/// `Ok(None)` when the agent is not on PATH, `Err` when it does not answer in time or says
/// something else.
pub fn installed_version(agent: &str) -> Result<Option<String>, String> {
    let Ok(binary) = which::which(agent) else {
        return Ok(None);
    };
    let mut child = Command::new(&binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so that a timeout kills whatever it started too.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    // Read from a thread: a grandchild may keep the pipe open after the agent exits.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = sender.send(text);
    });
    let deadline = Instant::now() + VERSION_TIMEOUT;
    let output = loop {
        if let Ok(Some(_)) = child.try_wait() {
            break receiver.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        }
        if Instant::now() >= deadline {
            break Err(std::sync::mpsc::RecvTimeoutError::Timeout);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let Ok(output) = output else {
        // SAFETY: kill(2) on the process group we created for the child; no memory involved.
        unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = child.wait();
        return Err(format!(
            "`{agent} --version` gave no answer within {} s",
            VERSION_TIMEOUT.as_secs()
        ));
    };
    version_in(&output)
        .map(|version| Some(version.to_owned()))
        .ok_or_else(|| {
            format!(
                "`{agent} --version` printed no version: {:?}",
                output.trim()
            )
        })
}

/// The first word that looks like a version number.
fn version_in(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()) && word.contains('.'))
}

/// What keeps a found agent from taking mirrors yet (OpenCode creates its database on first
/// run; we never create it).
pub fn not_ready(agent: &Agent) -> Option<String> {
    if agent.target != "opencode" {
        return None;
    }
    let db = crate::paths::opencode_db()?;
    (!db.exists()).then(|| {
        format!(
            "its database {} does not exist yet: run `opencode` once",
            db.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_has_a_reader() {
        for agent in AGENTS {
            assert!(reader(agent.target).is_some(), "{}", agent.target);
        }
        assert!(reader("claude").is_some());
    }

    #[test]
    fn versions_are_found_in_what_the_agents_print() {
        assert_eq!(version_in("codex-cli 0.169.0\n"), Some("0.169.0"));
        assert_eq!(version_in("2.1.197 (Claude Code)\n"), Some("2.1.197"));
        assert_eq!(version_in("usage: codex [OPTIONS]"), None);
    }
}
