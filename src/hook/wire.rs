//! The JSON Claude Code writes to a hook's stdin (Claude Code 2.1.197), kept apart from the
//! model. Every field is optional or loosely typed: an unexpected shape must not stop the hook.

use serde::Deserialize;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
pub struct Payload {
    pub session_id: String,
    #[serde(default)]
    pub transcript_path: Option<PathBuf>,
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    pub hook_event_name: String,
    #[serde(default)]
    pub prompt_id: Option<String>,
    /// Set when the event comes from a subagent.
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Option<Value>,
    #[serde(default)]
    pub tool_response: Option<Value>,
    #[serde(default)]
    pub tool_use_id: Option<String>,
    /// PostToolUseFailure: what the model saw; StopFailure: an error kind.
    #[serde(default)]
    pub error: Option<Value>,
    #[serde(default)]
    pub last_assistant_message: Option<String>,
}
