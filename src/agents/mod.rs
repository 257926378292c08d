//! The agents, one module each (its facts, its reader, its writer), listed in one registry
//! that the commands, `doctor`, `status` and the hook read. Adding an agent is one module here
//! and one line in `ALL`.

pub mod check;
pub mod claude;
pub mod codex;
pub mod copilot;
pub mod gemini;
pub mod native;
pub mod openai_chat;
pub mod opencode;
pub mod qwen;
#[cfg(test)]
mod testing;

pub use check::{Finding, Level};
pub use native::{Conversation, NativeSession, Reader};

use crate::config::{Config, TargetConfig};
use crate::encode::Encoder;
use crate::store::Mirror;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Makes the agent's encoder under a configuration; `None` when its store cannot be found.
pub type Writer = fn(&Config, &TargetConfig) -> Option<Box<dyn Encoder>>;

/// Everything session-sync knows of one agent.
pub struct Agent {
    /// Its name in the configuration and on the command line (`--from`, `--to`).
    pub name: &'static str,
    pub display: &'static str,
    /// Its command (found on PATH, asked its version); `None` for a plain file format.
    pub binary: Option<&'static str>,
    /// The version our formats were verified with (`tests/support/clients.rs` installs it).
    pub verified: Option<&'static str>,
    /// Where it keeps its data: when that exists, the agent is installed.
    pub home: fn() -> Option<PathBuf>,
    /// The directory its sessions are written under (`doctor` checks it takes files).
    pub store: fn() -> Option<PathBuf>,
    /// The live hook mirrors Claude Code sessions into it when enabled.
    pub live_target: bool,
    pub reader: Option<&'static Reader>,
    pub writer: Option<Writer>,
    /// The command that continues session `id` (kept at `path`).
    pub resume: fn(&str, &Path) -> String,
    /// Whether a session file's first line (parsed) is session `id`'s: maintenance deletes
    /// only files it recognises as ours.
    pub names_session: fn(&serde_json::Value, &str) -> bool,
    /// What keeps an installed agent from taking mirrors yet.
    pub not_ready: fn() -> Option<String>,
    /// `doctor`'s checks of its store, and of each of our mirrors in it.
    pub checks: &'static [fn() -> Option<Finding>],
    pub mirror_checks: &'static [fn(&Mirror) -> Option<Finding>],
}

/// Every agent, in the order `init`, `status` and listings show them.
pub const ALL: &[&Agent] = &[
    &claude::AGENT,
    &codex::AGENT,
    &gemini::AGENT,
    &opencode::AGENT,
    &copilot::AGENT,
    &qwen::AGENT,
    &openai_chat::AGENT,
];

/// Amp keeps its threads on its servers: found and pointed at, never written.
pub const AMP: Agent = Agent {
    name: "amp",
    display: "Amp",
    binary: Some("amp"),
    verified: None,
    home: crate::paths::amp_data,
    store: crate::paths::amp_data,
    live_target: false,
    reader: None,
    writer: None,
    resume: |id, _| format!("amp threads import claude {id}"),
    names_session: |_, _| false,
    not_ready: || None,
    checks: &[],
    mirror_checks: &[],
};

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

/// The agent named `name`.
pub fn agent(name: &str) -> Option<&'static Agent> {
    ALL.iter().copied().find(|a| a.name == name)
}

/// The reader of `agent`.
pub fn reader(agent: &str) -> Option<&'static Reader> {
    self::agent(agent)?.reader
}

/// The agents whose sessions can be read (`--from`, `sessions`, `export`).
pub fn readable() -> impl Iterator<Item = &'static Agent> {
    ALL.iter().copied().filter(|a| a.reader.is_some())
}

/// The agents the live hook can mirror into (the configuration's targets).
pub fn live_targets() -> impl Iterator<Item = &'static Agent> {
    ALL.iter().copied().filter(|a| a.live_target)
}

/// The agents a session can be written into (`mirror --to`, `import --to`).
pub fn writable() -> impl Iterator<Item = &'static Agent> {
    ALL.iter().copied().filter(|a| a.writer.is_some())
}

/// Agents `init` looks for: live targets with a program of their own.
pub fn detectable() -> impl Iterator<Item = &'static Agent> {
    live_targets().filter(|a| a.binary.is_some())
}

/// The readers of every agent whose sessions can be read.
pub fn readers() -> impl Iterator<Item = &'static Reader> {
    ALL.iter().filter_map(|a| a.reader)
}

/// The detectable agents found on this machine (by binary or store).
pub fn found() -> Vec<&'static str> {
    detectable()
        .filter(|a| find(a).is_some())
        .map(|a| a.name)
        .collect()
}

/// Names, for clap's possible values and the configuration.
pub fn names(agents: impl Iterator<Item = &'static Agent>) -> Vec<&'static str> {
    agents.map(|a| a.name).collect()
}

/// The command that continues session `id` of `target`.
pub fn resume_command(target: &str, id: &str, path: &Path) -> String {
    match agent(target) {
        Some(agent) => (agent.resume)(id, path),
        None => format!("{target} (session {id})"),
    }
}

/// Found by its binary on PATH, or by its store.
pub fn find(agent: &Agent) -> Option<Found> {
    if let Some(Ok(binary)) = agent.binary.map(which::which) {
        return Some(Found::Binary(binary));
    }
    (agent.home)()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_agent_with_sessions_of_its_own_has_a_reader_and_a_writer() {
        for agent in ALL.iter().filter(|a| a.binary.is_some()) {
            assert!(agent.reader.is_some(), "{}", agent.name);
            assert!(agent.writer.is_some(), "{}", agent.name);
        }
        assert_eq!(
            names(detectable()),
            ["codex", "gemini", "opencode", "copilot", "qwen"]
        );
    }

    #[test]
    fn versions_are_found_in_what_the_agents_print() {
        assert_eq!(version_in("codex-cli 0.169.0\n"), Some("0.169.0"));
        assert_eq!(version_in("2.1.197 (Claude Code)\n"), Some("2.1.197"));
        assert_eq!(version_in("usage: codex [OPTIONS]"), None);
    }
}
