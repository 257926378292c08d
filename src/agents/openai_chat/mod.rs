//! A portable OpenAI-chat JSONL log per session (no agent resumes it; any tool reads it).

pub mod write;

use super::Agent;
use crate::config::{Config, TargetConfig};
use crate::encode::Encoder;
use std::path::PathBuf;

pub const AGENT: Agent = Agent {
    name: "openai-chat",
    display: "OpenAI-chat log",
    binary: None,
    verified: None,
    home: || None,
    store,
    live_target: true,
    reader: None,
    writer: Some(writer),
    resume: |_, path| format!("chat log {}", path.display()),
    names_session: |header, _| {
        // The log is named after its id and opens with our system line.
        header["role"] == "system"
            && header["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("Conversation mirrored by session-sync"))
    },
    not_ready: || None,
    checks: &[],
    mirror_checks: &[],
};

fn writer(config: &Config, settings: &TargetConfig) -> Option<Box<dyn Encoder>> {
    Some(Box::new(write::OpenaiChat {
        dir: match &settings.dir {
            Some(dir) => dir.clone(),
            None => crate::paths::openai_chat_dir(&crate::paths::data_dir()?),
        },
        style: settings.tool_style,
        max_output_bytes: config.max_output_bytes,
    }))
}

/// The configured directory, else the default under our data directory.
fn store() -> Option<PathBuf> {
    let data_dir = crate::paths::data_dir()?;
    let configured = std::env::current_dir()
        .ok()
        .and_then(|cwd| crate::config::locate(&cwd, Some(&data_dir)).ok().flatten())
        .and_then(|located| located.config.targets.get("openai-chat")?.dir.clone());
    Some(configured.unwrap_or_else(|| crate::paths::openai_chat_dir(&data_dir)))
}
