//! Claude Code transcripts `claude --resume <id>` continues (`../shared/specs/handoff.md`,
//! verified with Claude Code 2.1.197): `$CLAUDE_CONFIG_DIR/projects/<cwd folder>/<uuid>.jsonl`,
//! one line per content block on a single `parentUuid` chain, the first line a user prompt,
//! calls as `tool_use` answered by `tool_result` lines, the title as a `custom-title` line.
//! Thinking is never written: a foreign signature makes the API refuse the whole request.

use crate::encode::turns::{Exchange, Turn, turns};
use crate::encode::{Encoder, Kind, Lines, Opening, SessionFacts, ToolStyle, rfc3339};
use crate::json;
use crate::model::{Part, Record};
use serde_json::{Value, json};
use std::path::PathBuf;

pub struct Claude {
    /// `$CLAUDE_CONFIG_DIR`, by default `~/.claude`.
    pub config_dir: PathBuf,
    pub max_output_bytes: usize,
}

/// The Claude Code version whose format we write.
const VERSION: &str = "2.1.197";
/// A model id Claude Code 2.1.197 knows; an unknown one makes it add a notice on resume.
const MODEL: &str = "claude-opus-4-8";

impl Encoder for Claude {
    fn open(&self, facts: &SessionFacts) -> std::io::Result<Opening> {
        let id = facts.uuid_or(uuid::Uuid::new_v4);
        let cwd = facts.cwd.to_string_lossy();
        let path = self
            .config_dir
            .join("projects")
            .join(crate::agents::claude::project_folder_name(&cwd))
            .join(format!("{id}.jsonl"));
        let cursor = json!({
            "session": id,
            "cwd": cwd,
            "last": null,
            "message": null,
            "title": facts.title,
        });
        Ok(Opening::new(id, path, Kind::Jsonl).cursor(cursor))
    }

    fn adopt(&self, text: &str) -> Option<Value> {
        // The chain goes on from the last line that has a place in it.
        let mut last = None;
        let mut session = None;
        let mut cwd = None;
        for line in text.lines() {
            let Ok(value) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if let Some(uuid) = value["uuid"].as_str() {
                last = Some(uuid.to_owned());
                session = value["sessionId"].as_str().map(str::to_owned).or(session);
                cwd = value["cwd"].as_str().map(str::to_owned).or(cwd);
            }
        }
        Some(json!({
            "session": session?,
            "cwd": cwd?,
            "last": last?,
            "message": null,
            "title": null,
        }))
    }

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Lines) -> u64 {
        let (turns, count) = turns(
            records,
            cursor,
            ToolStyle::Structured,
            self.max_output_bytes,
        );
        let now = rfc3339(chrono::Utc::now());
        let mut transcript = Transcript { cursor, lines };
        for timed in turns {
            let timestamp = timed.timestamp.unwrap_or_else(|| now.clone());
            if transcript.cursor["last"].is_null() && !matches!(timed.turn, Turn::User(_)) {
                // `--resume` needs a user prompt first; a session handed over mid-way (its
                // start compacted away) gets one saying so.
                transcript.prompt(
                    &[Part::Text(
                        "(conversation continued from another agent)".into(),
                    )],
                    &timestamp,
                );
            }
            match timed.turn {
                Turn::User(parts) => transcript.prompt(&parts, &timestamp),
                Turn::Assistant(text) => {
                    transcript.assistant(&timestamp, false, |block| {
                        block.str("type", "text").str("text", &text);
                    });
                }
                Turn::Calls(exchanges) => transcript.calls(&exchanges, &timestamp),
            }
        }
        let cursor = &mut *transcript.cursor;
        if !cursor["last"].is_null() {
            if let Some(title) = cursor["title"].as_str() {
                // Once, after the first prompt: a metadata first line breaks `--resume`.
                transcript.lines.object(|line| {
                    line.str("type", "custom-title")
                        .str("customTitle", title)
                        .value("sessionId", &cursor["session"]);
                });
                cursor["title"] = Value::Null;
            }
        }
        count
    }
}

/// Writes each line's JSON text directly: a hand-off writes tens of thousands.
struct Transcript<'a> {
    cursor: &'a mut Value,
    lines: &'a mut Lines,
}

impl Transcript<'_> {
    /// Appends one chained line, its `message` and the fields after it as `message` and
    /// `more` write them; returns its uuid.
    fn push(
        &mut self,
        kind: &str,
        timestamp: &str,
        message: impl FnOnce(&mut json::Object),
        more: impl FnOnce(&mut json::Object),
    ) -> String {
        let uuid = uuid::Uuid::new_v4().to_string();
        let cursor = &*self.cursor;
        self.lines.object(|line| {
            line.value("parentUuid", &cursor["last"])
                .bool("isSidechain", false)
                .str("type", kind)
                .object("message", message)
                .str("uuid", &uuid)
                .str("timestamp", timestamp)
                .str("userType", "external")
                .str("entrypoint", "cli")
                .value("cwd", &cursor["cwd"])
                .value("sessionId", &cursor["session"])
                .str("version", VERSION)
                .str("gitBranch", "HEAD");
            more(line);
        });
        self.cursor["last"] = Value::String(uuid.clone());
        uuid
    }

    fn prompt(&mut self, parts: &[Part], timestamp: &str) {
        self.cursor["message"] = Value::Null;
        self.push(
            "user",
            timestamp,
            |message| {
                message.str("role", "user");
                content(message, parts);
            },
            |_| {},
        );
    }

    /// One block of the current assistant message (text and the calls that follow it share
    /// one message, as in a real response), as `block` writes it.
    fn assistant(
        &mut self,
        timestamp: &str,
        call: bool,
        block: impl FnOnce(&mut json::Object),
    ) -> String {
        let message_id = match self.cursor["message"].as_str() {
            Some(id) => id.to_owned(),
            None => {
                let id = format!("msg_ss_{}", uuid::Uuid::new_v4().simple());
                self.cursor["message"] = Value::String(id.clone());
                id
            }
        };
        let stop_reason = if call { "tool_use" } else { "end_turn" };
        let request = format!("req_ss_{}", &message_id["msg_ss_".len()..]);
        self.push(
            "assistant",
            timestamp,
            |message| {
                message
                    .str("id", &message_id)
                    .str("type", "message")
                    .str("role", "assistant")
                    .str("model", MODEL)
                    .array("content", |content| {
                        content.object(block);
                    })
                    .str("stop_reason", stop_reason)
                    .raw("stop_sequence", "null")
                    .raw("usage", USAGE);
            },
            |line| {
                line.str("requestId", &request);
            },
        )
    }

    fn calls(&mut self, exchanges: &[Exchange], timestamp: &str) {
        let mut asked = Vec::new();
        for exchange in exchanges {
            let at = exchange.called_at.as_deref().unwrap_or(timestamp);
            let (id, name) = (tool_id(&exchange.id), tool_name(&exchange.name));
            asked.push(self.assistant(at, true, |block| {
                block
                    .str("type", "tool_use")
                    .str("id", &id)
                    .str("name", &name)
                    .value("input", &exchange.input);
            }));
        }
        for (exchange, source) in exchanges.iter().zip(asked) {
            let at = exchange.answered_at.as_deref().unwrap_or(timestamp);
            let id = tool_id(&exchange.id);
            let text = exchange.output_text();
            self.push(
                "user",
                at,
                |message| {
                    message.str("role", "user").array("content", |content| {
                        content.object(|result| {
                            result.str("tool_use_id", &id).str("type", "tool_result");
                            self::content(result, &exchange.parts);
                            result.bool("is_error", exchange.is_error);
                        });
                    });
                },
                |line| {
                    if exchange.is_error {
                        line.str("toolUseResult", &format!("Error: {text}"));
                    } else {
                        line.str("toolUseResult", &text);
                    }
                    line.str("sourceToolAssistantUUID", &source);
                },
            );
        }
        // The model's next words are a new response.
        self.cursor["message"] = Value::Null;
    }
}

/// The usage of every message we write (nothing was spent).
const USAGE: &str = r#"{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}"#;

/// `content`: a lone text as it is, else its blocks.
fn content(object: &mut json::Object, parts: &[Part]) {
    match parts {
        [Part::Text(text)] => {
            object.str("content", text);
        }
        parts => {
            object.array("content", |blocks| {
                for part in parts {
                    blocks.object(|block| content_block(block, part));
                }
            });
        }
    }
}

fn content_block(block: &mut json::Object, part: &Part) {
    match part {
        Part::Text(text) => {
            block.str("type", "text").str("text", text);
        }
        Part::Image(image) => {
            block.str("type", "image").object("source", |source| {
                source
                    .str("type", "base64")
                    .str("media_type", &image.media_type)
                    .str("data", &image.data);
            });
        }
    }
}

/// The Messages API takes tool ids and names of `[A-Za-z0-9_-]` only; other agents' ids
/// (`call.1`, `functions.bash:0`) are mapped, the same way every time.
fn tool_id(id: &str) -> String {
    if id.starts_with("toolu_") && safe(id) {
        return id.to_owned();
    }
    format!("toolu_{}", sanitized(id))
}

fn tool_name(name: &str) -> String {
    let name = sanitized(name);
    name.chars().take(128).collect()
}

fn safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn sanitized(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Item;

    fn record(item: Item) -> Record {
        Record::new(item)
    }

    fn writer() -> Claude {
        Claude {
            config_dir: PathBuf::from("/c"),
            max_output_bytes: 1 << 20,
        }
    }

    /// A new session's opening in `cwd`.
    fn opened(cwd: &str) -> Opening {
        writer()
            .open(&SessionFacts {
                preferred_id: None,
                claude_session_id: "codex-1",
                cwd: std::path::Path::new(cwd),
                title: "List files",
                now: chrono::Utc::now(),
            })
            .unwrap()
    }

    /// The lines `records` become after `cursor`, parsed.
    fn encoded(records: &[Record], cursor: &mut Value) -> Vec<Value> {
        let mut lines = Lines::default();
        writer().encode(records, cursor, &mut lines);
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_chain_starting_with_the_prompt_with_paired_calls_and_a_title() {
        let opening = opened("/home/user/project");
        assert!(opening.path.starts_with("/c/projects/-home-user-project"));
        let mut cursor = opening.cursor;
        let records = [
            record(Item::Prompt {
                parts: vec![Part::Text("list".into())],
            }),
            record(Item::Text {
                text: "Listing.".into(),
            }),
            record(Item::Thinking { text: "hmm".into() }),
            record(Item::ToolCall {
                id: "call.1".into(),
                name: "Bash".into(),
                input: json!({ "command": "ls" }),
            }),
            record(Item::ToolResult {
                id: "call.1".into(),
                parts: vec![Part::Text("a b".into())],
                is_error: false,
            }),
            record(Item::Text {
                text: "Two files.".into(),
            }),
        ];
        let lines = encoded(&records, &mut cursor);
        let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "user",
                "assistant",
                "assistant",
                "user",
                "assistant",
                "custom-title"
            ]
        );
        assert!(lines[0]["parentUuid"].is_null());
        for pair in lines[..5].windows(2) {
            assert_eq!(pair[1]["parentUuid"], pair[0]["uuid"]);
        }
        assert_eq!(lines[1]["message"]["id"], lines[2]["message"]["id"]);
        assert_ne!(lines[2]["message"]["id"], lines[4]["message"]["id"]);
        assert_eq!(lines[2]["message"]["content"][0]["id"], "toolu_call_1");
        assert_eq!(
            lines[3]["message"]["content"][0]["tool_use_id"],
            "toolu_call_1"
        );
        assert_eq!(lines[3]["sourceToolAssistantUUID"], lines[2]["uuid"]);
        assert_eq!(lines[5]["customTitle"], "List files");
    }

    #[test]
    fn images_and_failed_calls_keep_the_messages_api_shape() {
        let mut cursor = opened("/p").cursor;
        let image = Part::Image(crate::model::Image {
            media_type: "image/png".into(),
            data: "iVBO".into(),
        });
        let records = [
            record(Item::Prompt {
                parts: vec![Part::Text("what is \"this\"?".into()), image.clone()],
            }),
            record(Item::ToolCall {
                id: "toolu_1".into(),
                name: "Read".into(),
                input: json!({ "file_path": "/p/a.png" }),
            }),
            record(Item::ToolResult {
                id: "toolu_1".into(),
                parts: vec![Part::Text("no such file".into())],
                is_error: true,
            }),
        ];
        let lines = encoded(&records, &mut cursor);
        assert_eq!(
            lines[0]["message"],
            json!({ "role": "user", "content": [
                { "type": "text", "text": "what is \"this\"?" },
                { "type": "image", "source": { "type": "base64", "media_type": "image/png", "data": "iVBO" } },
            ]})
        );
        assert_eq!(lines[1]["message"]["stop_reason"], "tool_use");
        assert!(lines[1]["message"]["stop_sequence"].is_null());
        assert_eq!(lines[1]["message"]["usage"]["output_tokens"], 0);
        assert_eq!(
            lines[2]["message"]["content"][0],
            json!({ "tool_use_id": "toolu_1", "type": "tool_result", "content": "no such file", "is_error": true })
        );
        assert_eq!(lines[2]["toolUseResult"], "Error: no such file");
    }
}
