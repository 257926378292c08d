//! The static page at the repository's root: `index.html` (fixed), `archive-index.js` (the
//! list of sessions) and one hidden `.js` per session (its conversation), all loaded with
//! `<script>` tags so that the page works from `file://` with no server and no network.

use super::index::Index;
use super::render;
use crate::model::{Item, Record, joined_text};
use serde_json::{Value, json};
use std::path::Path;

pub const PAGE_FILE: &str = "index.html";
pub const LIST_FILE: &str = "archive-index.js";
pub const PAGE: &str = include_str!("page.html");

/// The script holding a session's conversation, beside its Markdown.
pub fn script_path(markdown: &str) -> String {
    let (dir, file) = markdown.rsplit_once('/').unwrap_or(("", markdown));
    let base = file.strip_suffix(".md").unwrap_or(file);
    format!("{dir}/.{base}.js")
}

/// Every session of the index, newest first.
pub fn list_script(index: &Index) -> String {
    let mut sessions: Vec<Value> = index
        .sessions
        .iter()
        .map(|(lineage, e)| {
            json!({
                "lineage": lineage,
                "agent": e.agent,
                "id": e.id,
                "user": e.user,
                "host": e.host,
                "project": e.project,
                "title": e.title,
                "started": e.started,
                "last": e.last_activity,
                "markdown": e.markdown,
                "script": script_path(&e.markdown),
            })
        })
        .collect();
    sessions.sort_by(|a, b| {
        (b["started"].as_str(), a["lineage"].as_str())
            .cmp(&(a["started"].as_str(), b["lineage"].as_str()))
    });
    let mut out = String::from("ARCHIVE_SESSIONS([\n");
    for (i, session) in sessions.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str(&session.to_string());
    }
    out.push_str("\n]);\n");
    out
}

/// A session's conversation as the page shows it: prompts, answers, tool calls with their
/// summary, input and output (cut like the Markdown's), thinking when asked for.
pub fn session_script(
    lineage: &str,
    records: &[Record],
    thinking: bool,
    cwd: Option<&Path>,
) -> String {
    let mut items = Vec::new();
    for record in records {
        let mut item = match &record.item {
            Item::Prompt { parts } => {
                let prompt = super::naming::split_prompt(&joined_text(parts));
                let text = match prompt.command() {
                    Some(command) if prompt.words.is_empty() => command,
                    _ => prompt.words,
                };
                if text.is_empty() {
                    continue;
                }
                json!({ "k": "user", "x": text })
            }
            Item::Text { text } => json!({ "k": "assistant", "x": text.trim() }),
            Item::Thinking { text } if thinking => json!({ "k": "thinking", "x": text.trim() }),
            Item::Thinking { .. } => continue,
            Item::ToolCall { id, name, input } => {
                let result = records.iter().find_map(|r| match &r.item {
                    Item::ToolResult {
                        id: rid,
                        parts,
                        is_error,
                    } if rid == id => Some((joined_text(parts), *is_error)),
                    _ => None,
                });
                let input_text = match input.get("command").and_then(Value::as_str) {
                    Some(command) => command.to_owned(),
                    None => serde_json::to_string_pretty(input).unwrap_or_default(),
                };
                json!({
                    "k": "tool",
                    "n": name,
                    "s": render::summary(name, input, cwd),
                    "i": render::limit(&input_text),
                    "o": result.as_ref().map(|(o, _)| render::limit(o)),
                    "e": result.is_some_and(|(_, e)| e),
                })
            }
            Item::ToolResult { .. } => continue,
        };
        if let Some(time) = &record.timestamp {
            item["t"] = json!(time);
        }
        if let Some(agent) = &record.agent {
            item["a"] = json!(agent);
        }
        items.push(item);
    }
    let data = json!({ "lineage": lineage, "items": items });
    format!("ARCHIVE_LOADED({data});\n")
}
