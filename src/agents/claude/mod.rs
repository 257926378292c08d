//! Claude Code: the live mirror's source (`crate::claude` reads its transcripts as they grow), and a target of hand-offs and imports.

pub mod lines;
pub mod read;
pub mod render;
mod transcript;
pub mod write;

pub use lines::{Entry, project_folder_name, read_line, read_lines, subagent_file};

use super::Agent;
use crate::config::{Config, TargetConfig};
use crate::encode::Encoder;
use std::path::PathBuf;

pub const AGENT: Agent = Agent {
    name: "claude",
    display: "Claude Code",
    binary: Some("claude"),
    verified: Some("2.1.197"),
    home: crate::paths::claude_config_dir,
    store,
    live_target: false,
    reader: Some(&read::READER),
    writer: Some(writer),
    resume: |id, _| format!("claude --resume {id}"),
    names_session: |header, id| header["sessionId"] == id,
    not_ready: || None,
    checks: &[],
    mirror_checks: &[],
};

fn writer(config: &Config, _settings: &TargetConfig) -> Option<Box<dyn Encoder>> {
    Some(Box::new(write::Claude {
        config_dir: crate::paths::claude_config_dir()?,
        max_output_bytes: config.max_output_bytes,
    }))
}

/// Sessions are written under `projects/`.
fn store() -> Option<PathBuf> {
    crate::paths::claude_config_dir().map(|dir| dir.join("projects"))
}
