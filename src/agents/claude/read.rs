//! Claude Code's own sessions (`$CLAUDE_CONFIG_DIR/projects/<cwd folder>/<uuid>.jsonl`) as
//! native sessions. The live mirror reads transcripts incrementally through the hook
//! (`crate::claude`); this reads one whole, for listings and hand-offs.

use crate::agents::native::{self, Conversation, NativeSession, Reader};
use crate::read::read_regular;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const READER: Reader = Reader {
    agent: "claude",
    list,
    read,
    at_path: Some(at_path),
    busy: None,
};

const MAX_TRANSCRIPT: u64 = 1 << 30;
/// The session's cwd is on its first conversation lines.
const HEAD: u64 = 256 * 1024;

fn list() -> Result<Vec<NativeSession>, String> {
    let Some(projects) = crate::paths::claude_config_dir().map(|d| d.join("projects")) else {
        return Ok(Vec::new());
    };
    let mut sessions = Vec::new();
    for folder in std::fs::read_dir(&projects).into_iter().flatten().flatten() {
        for entry in std::fs::read_dir(folder.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = entry.path();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && path.extension().is_some_and(|e| e == "jsonl") {
                if let Ok(session) = at_path(&path) {
                    sessions.push(session);
                }
            }
        }
    }
    Ok(sessions)
}

fn at_path(path: &Path) -> Result<NativeSession, String> {
    let head = crate::read::read_range(path, 0, HEAD)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let facts = String::from_utf8_lossy(&head).lines().find_map(|line| {
        let value: Value = serde_json::from_str(line).ok()?;
        let id = value["sessionId"].as_str()?.to_owned();
        let cwd = value["cwd"].as_str()?.to_owned();
        Some((id, cwd, value["timestamp"].as_str().map(str::to_owned)))
    });
    let Some((id, cwd, started_at)) = facts else {
        return Err(format!(
            "{} is not a Claude Code transcript (no sessionId and cwd)",
            path.display()
        ));
    };
    Ok(NativeSession {
        agent: "claude",
        id,
        path: path.to_owned(),
        cwd: Some(PathBuf::from(cwd)),
        title: None,
        started_at,
        updated_at: native::modified(path),
        ours: false,
    })
}

fn read(session: &NativeSession) -> Result<Conversation, String> {
    let bytes = read_regular(&session.path, MAX_TRANSCRIPT)
        .map_err(|e| format!("cannot read {}: {e}", session.path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut conversation = Conversation::new(session.clone());
    conversation.records = records(&text, session);
    // The user's own title (`/rename`) wins over the one Claude Code generated.
    let mut titles = (None, None);
    for line in text.lines() {
        if !line.contains("-title\"") {
            continue;
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match value["type"].as_str() {
            Some("custom-title") => titles.0 = value["customTitle"].as_str().map(str::to_owned),
            Some("ai-title") => titles.1 = value["aiTitle"].as_str().map(str::to_owned),
            _ => {}
        }
    }
    conversation.session.title = titles
        .0
        .or(titles.1)
        .or_else(|| conversation.first_prompt());
    Ok(conversation)
}

/// The conversation the live mirror would have written: the same reconciliation, with each
/// subagent's calls spliced in before its Agent call's result.
fn records(text: &str, session: &NativeSession) -> Vec<crate::model::Record> {
    let read_subagent = |agent: &str| {
        crate::agents::claude::subagent_file(&session.path, &session.id, agent, "jsonl")
            .and_then(|path| crate::read::read_text(&path, MAX_TRANSCRIPT).ok())
            .map(|text| crate::agents::claude::read_lines(&text, Some(agent)))
            .unwrap_or_default()
    };
    crate::sync::whole(text, &read_subagent)
}
