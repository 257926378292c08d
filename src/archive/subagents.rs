//! Subagents' whole conversations, which Claude Code keeps beside a session
//! (`<id>/subagents/agent-<agent>.jsonl`): the archive gives each its own file, while the
//! reader's records keep at most a subagent's calls (what the live mirror carries).

use crate::agents::NativeSession;
use serde_json::Value;

/// A subagent transcript bigger than this is left out rather than read into memory.
const MAX_TRANSCRIPT: u64 = 1 << 30;
/// A subagent's conversation, kept by Claude Code beside its session
/// (`<id>/subagents/agent-<agent>.jsonl`), and the Agent call that started it
/// (`agent-<agent>.meta.json` `toolUseId`).
pub struct Subagent {
    pub agent: String,
    pub call: Option<String>,
    pub records: Vec<crate::model::Record>,
}

/// Every subagent of `session`, in file-name order; unreadable files are left out.
pub fn read(session: &NativeSession) -> Vec<Subagent> {
    let Some(dir) = session
        .path
        .parent()
        .map(|p| p.join(&session.id).join("subagents"))
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("agent-") && n.ends_with(".jsonl"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let agent = name
                .strip_prefix("agent-")?
                .strip_suffix(".jsonl")?
                .to_owned();
            let bytes = crate::read::read_regular(&dir.join(&name), MAX_TRANSCRIPT).ok()?;
            let records =
                crate::agents::claude::read_lines(&String::from_utf8_lossy(&bytes), Some(&agent))
                    .into_iter()
                    .map(|entry| entry.record)
                    .collect();
            let call =
                crate::read::read_regular(&dir.join(format!("agent-{agent}.meta.json")), 1 << 20)
                    .ok()
                    .and_then(|meta| serde_json::from_slice::<Value>(&meta).ok())
                    .and_then(|meta| meta["toolUseId"].as_str().map(str::to_owned));
            Some(Subagent {
                agent,
                call,
                records,
            })
        })
        .collect()
}
