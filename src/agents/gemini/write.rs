//! Gemini CLI sessions (verified with Gemini CLI 0.61.0):
//! `<root>/tmp/<project slug>/chats/session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl`, a metadata line
//! then one message per line; the project is registered in `projects.json` and marked with
//! `.project_root` files, the way Gemini claims a slug itself.

use crate::agents::qwen::write::{function_response, gemini_parts};
use crate::encode::turns::{Exchange, Turn, turns};
use crate::encode::{
    Encoder, Kind, Lines, Opening, SessionFacts, SideFile, ToolStyle, rfc3339, tool_call,
};
use crate::hash::sha256_hex;
use crate::model::Record;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub struct Gemini {
    pub root: PathBuf,
    pub style: ToolStyle,
    pub max_output_bytes: usize,
}

/// Gemini deletes sessions whose `lastUpdated` is 30 days old: refresh it at least this often.
const LAST_UPDATED_EVERY: chrono::Duration = chrono::Duration::hours(1);

impl Gemini {
    /// The slug Gemini uses (or would pick) for `project`: its registry entry, else a folder
    /// marked with the project's path, else the first free name from the path's basename.
    fn slug(&self, project: &Path) -> String {
        let key = project.to_string_lossy();
        let registry = crate::read::read_regular(&self.root.join("projects.json"), 16 << 20)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        if let Some(slug) = registry
            .as_ref()
            .and_then(|r| r["projects"][key.as_ref()].as_str())
        {
            return slug.to_owned();
        }
        let tmp = self.root.join("tmp");
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            for entry in entries.flatten() {
                let marker = crate::read::read_text(&entry.path().join(".project_root"), 64 << 10);
                if marker.is_ok_and(|m| m.trim_end() == key) {
                    return entry.file_name().to_string_lossy().into_owned();
                }
            }
        }
        let base = slug_base(project);
        let taken = |slug: &str| {
            tmp.join(slug).exists()
                || registry.as_ref().is_some_and(|r| {
                    r["projects"]
                        .as_object()
                        .is_some_and(|p| p.values().any(|v| v == slug))
                })
        };
        let mut slug = base.clone();
        let mut n = 0;
        while taken(&slug) {
            n += 1;
            slug = format!("{base}-{n}");
        }
        slug
    }
}

/// Basename lower-cased, every run of other characters than `[a-z0-9]` one `-`.
fn slug_base(project: &Path) -> String {
    let name = project
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut slug = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && slug.ends_with('-')) {
            slug.push(c);
        }
    }
    if slug.is_empty() || slug == "-" {
        "project".into()
    } else {
        slug
    }
}

impl Encoder for Gemini {
    fn open(&self, facts: &SessionFacts) -> std::io::Result<Opening> {
        let id = uuid::Uuid::new_v4().to_string();
        let project = facts.cwd;
        let key = project.to_string_lossy().into_owned();
        let slug = self.slug(project);
        let now = rfc3339(facts.now);
        let name = format!(
            "session-{}-{}.jsonl",
            facts.now.format("%Y-%m-%dT%H-%M"),
            &id[..8]
        );
        let meta = json!({
            "sessionId": id,
            "projectHash": sha256_hex(key.as_bytes()),
            "startTime": now,
            "lastUpdated": now,
            "kind": "main",
        });
        let marker = |dir: &str| SideFile::Create {
            path: self.root.join(dir).join(&slug).join(".project_root"),
            text: key.clone(),
        };
        let path = self.root.join("tmp").join(&slug).join("chats").join(name);
        Ok(Opening::new(id, path, Kind::Jsonl)
            .header(vec![meta.to_string()])
            .side_files(vec![
                marker("tmp"),
                marker("history"),
                SideFile::JsonEntry {
                    path: self.root.join("projects.json"),
                    object: "projects".into(),
                    key,
                    value: slug.clone().into(),
                },
            ])
            .cursor(json!({ "updated": now, "titled": false }))
            .benign(crate::encode::Benign::GeminiMetadata))
    }

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Lines) -> u64 {
        let (turns, count) = turns(records, cursor, self.style, self.max_output_bytes);
        let now = chrono::Utc::now();
        let before = lines.len();
        for timed in turns {
            let timestamp = timed.timestamp.unwrap_or_else(|| rfc3339(now));
            let id = uuid::Uuid::new_v4().to_string();
            // Written as text: a call's output goes straight into the line, twice (the
            // response the model reads, and what the UI displays).
            lines.object(|message| {
                message.str("id", &id).str("timestamp", &timestamp);
                match &timed.turn {
                    Turn::User(parts) => {
                        message
                            .str("type", "user")
                            .value("content", &Value::Array(gemini_parts(parts)));
                    }
                    Turn::Assistant(text) => {
                        message.str("type", "gemini").array("content", |content| {
                            content.object(|part| {
                                part.str("text", text);
                            });
                        });
                    }
                    Turn::Calls(exchanges) => {
                        message.str("type", "gemini").raw("content", "[]").array(
                            "toolCalls",
                            |calls| {
                                for exchange in exchanges {
                                    calls.object(|call| write_call(call, exchange, &timestamp));
                                }
                            },
                        );
                    }
                }
            });
            if let Turn::User(parts) = &timed.turn {
                let title = crate::model::joined_text(parts);
                if cursor["titled"] == false && !title.trim().is_empty() {
                    lines.value(&json!({ "$set": { "summary": title_of(&title) } }));
                    cursor["titled"] = true.into();
                }
            }
        }
        let stale = cursor["updated"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_none_or(|t| now - t.with_timezone(&chrono::Utc) >= LAST_UPDATED_EVERY);
        if lines.len() > before && stale {
            let updated = rfc3339(now);
            lines.value(&json!({ "$set": { "lastUpdated": updated } }));
            cursor["updated"] = updated.into();
        }
        count
    }
}

/// One entry of a message's `toolCalls`: the call, its response and its display.
fn write_call(call: &mut crate::json::Object, exchange: &Exchange, timestamp: &str) {
    let (name, args) = tool_call(&exchange.name, &exchange.input, "run_shell_command");
    let output = exchange.output_text();
    call.str("id", &exchange.id)
        .str("name", &name)
        .value("args", &args)
        .array("result", |result| {
            result.object(|part| function_response(part, &exchange.id, &name, &output));
        })
        .str(
            "status",
            if exchange.is_error {
                "error"
            } else {
                "success"
            },
        )
        .str(
            "timestamp",
            exchange.answered_at.as_deref().unwrap_or(timestamp),
        )
        .str("resultDisplay", &output);
}

/// The first prompt's first line, short enough for a session list.
fn title_of(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut title: String = line.chars().take(80).collect();
    if line.chars().count() > 80 {
        title.push('…');
    }
    title
}
