//! Gemini CLI: `~/.gemini/tmp/<project>/chats/*.jsonl`.

pub mod read;
pub mod write;

use super::Agent;
use crate::config::{Config, TargetConfig};
use crate::encode::Encoder;

pub const AGENT: Agent = Agent {
    name: "gemini",
    display: "Gemini CLI",
    binary: Some("gemini"),
    verified: Some("0.61.0"),
    home: crate::paths::gemini_root,
    store: crate::paths::gemini_root,
    live_target: true,
    reader: Some(&read::READER),
    writer: Some(writer),
    resume: |id, _| format!("gemini --resume {id}"),
    names_session: |header, id| header["sessionId"] == id && header["kind"] == "main",
    not_ready: || None,
    checks: &[],
    mirror_checks: &[],
};

fn writer(config: &Config, settings: &TargetConfig) -> Option<Box<dyn Encoder>> {
    Some(Box::new(write::Gemini {
        root: crate::paths::gemini_root()?,
        style: settings.tool_style,
        max_output_bytes: config.max_output_bytes,
    }))
}
