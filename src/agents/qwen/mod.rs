//! Qwen Code: `~/.qwen/projects/<cwd>/chats/<id>.jsonl`.

pub mod read;
pub mod write;

use super::Agent;
use crate::config::{Config, TargetConfig};
use crate::encode::Encoder;

pub const AGENT: Agent = Agent {
    name: "qwen",
    display: "Qwen Code",
    binary: Some("qwen"),
    verified: Some("0.15.10"),
    home: crate::paths::qwen_home,
    store: crate::paths::qwen_home,
    live_target: true,
    reader: Some(&read::READER),
    writer: Some(writer),
    resume: |id, _| format!("qwen --resume {id}"),
    names_session: |header, id| header["sessionId"] == id,
    not_ready: || None,
    checks: &[],
    mirror_checks: &[],
};

fn writer(config: &Config, settings: &TargetConfig) -> Option<Box<dyn Encoder>> {
    Some(Box::new(write::Qwen {
        home: crate::paths::qwen_home()?,
        style: settings.tool_style,
        max_output_bytes: config.max_output_bytes,
    }))
}
