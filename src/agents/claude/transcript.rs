//! Claude Code transcript lines (`~/.claude/projects/<cwd>/<session>.jsonl`) as written on disk.
//!
//! Only the envelope is typed; `message.content` stays a JSON value so that a block shape this
//! version does not know skips that block instead of the whole line.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(borrow)]
    pub uuid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub parent_uuid: Option<Cow<'a, str>>,
    pub timestamp: Option<String>,
    #[serde(default)]
    pub is_meta: bool,
    #[serde(default)]
    pub is_sidechain: bool,
    #[serde(default)]
    pub is_compact_summary: bool,
    #[serde(default)]
    pub is_visible_in_transcript_only: bool,
    #[serde(default)]
    pub is_api_error_message: bool,
    pub prompt_id: Option<String>,
    pub message: Option<Message>,
    /// The structured tool output; parsed only for Agent results (it can be large).
    #[serde(borrow)]
    pub tool_use_result: Option<&'a RawValue>,
}

#[derive(Deserialize)]
pub struct Message {
    pub model: Option<String>,
    #[serde(default)]
    pub content: Value,
}

/// The part of an Agent tool's `toolUseResult` that names the subagent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentResult {
    pub agent_id: Option<String>,
}
