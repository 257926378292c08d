//! GitHub Copilot CLI: `~/.copilot/session-state/<id>/events.jsonl` and `workspace.yaml`.

pub mod read;
pub mod write;

use super::Agent;
use crate::config::{Config, TargetConfig};
use crate::encode::Encoder;

pub const AGENT: Agent = Agent {
    name: "copilot",
    display: "Copilot CLI",
    binary: Some("copilot"),
    verified: Some("1.0.102"),
    home: crate::paths::copilot_home,
    store: crate::paths::copilot_home,
    live_target: true,
    reader: Some(&read::READER),
    writer: Some(writer),
    resume: |id, _| format!("copilot --resume={id}"),
    names_session: |header, id| {
        header["type"] == "session.start" && header["data"]["sessionId"] == id
    },
    not_ready: || None,
    checks: &[],
    mirror_checks: &[],
};

fn writer(config: &Config, settings: &TargetConfig) -> Option<Box<dyn Encoder>> {
    Some(Box::new(write::Copilot {
        home: crate::paths::copilot_home()?,
        style: settings.tool_style,
        max_output_bytes: config.max_output_bytes,
    }))
}
