//! A portable chat log per session in OpenAI Chat Completions message form: a system line,
//! then user and assistant messages; an assistant message's `tool_calls` are each followed by
//! their `tool` message. Any tool that reads chat logs can take it.

use crate::encode::turns::{Turn, turns};
use crate::encode::{Encoder, Kind, Lines, Opening, SessionFacts, ToolStyle, data_url};
use crate::model::{Part, Record};
use serde_json::{Value, json};
use std::path::PathBuf;

pub struct OpenaiChat {
    pub dir: PathBuf,
    pub style: ToolStyle,
    pub max_output_bytes: usize,
}

impl Encoder for OpenaiChat {
    fn open(&self, facts: &SessionFacts) -> std::io::Result<Opening> {
        // Named after the Claude session; a fork (the file was edited) takes the next number.
        let mut path = self.dir.join(format!("{}.jsonl", facts.claude_session_id));
        let mut n = 1;
        while std::fs::symlink_metadata(&path).is_ok() {
            n += 1;
            path = self
                .dir
                .join(format!("{}.{n}.jsonl", facts.claude_session_id));
        }
        let system = json!({
            "role": "system",
            "content": format!(
                "Conversation mirrored by session-sync from Claude Code session {} in {}.",
                facts.claude_session_id,
                facts.cwd.display()
            ),
        });
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Opening::new(id, path, Kind::Jsonl).header(vec![system.to_string()]))
    }

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Lines) -> u64 {
        let (turns, count) = turns(records, cursor, self.style, self.max_output_bytes);
        for timed in turns {
            match timed.turn {
                Turn::User(parts) => {
                    lines.value(&json!({ "role": "user", "content": user_content(&parts) }));
                }
                Turn::Assistant(text) => lines.object(|message| {
                    message.str("role", "assistant").str("content", &text);
                }),
                Turn::Calls(exchanges) => {
                    lines.object(|message| {
                        message
                            .str("role", "assistant")
                            .raw("content", "null")
                            .array("tool_calls", |calls| {
                                for e in &exchanges {
                                    calls.object(|call| {
                                        call.str("id", &e.id).str("type", "function").object(
                                            "function",
                                            |function| {
                                                function
                                                    .str("name", &e.name)
                                                    .str("arguments", &e.input.to_string());
                                            },
                                        );
                                    });
                                }
                            });
                    });
                    // Written as text: the output goes straight into the line.
                    for e in &exchanges {
                        lines.object(|message| {
                            message
                                .str("role", "tool")
                                .str("tool_call_id", &e.id)
                                .str("content", &e.output_text());
                        });
                    }
                }
            }
        }
        count
    }
}

/// Plain text stays a string; images make it a list of content parts.
fn user_content(parts: &[Part]) -> Value {
    if parts.iter().all(|p| matches!(p, Part::Text(_))) {
        return Value::String(crate::model::joined_text(parts));
    }
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => json!({ "type": "text", "text": text }),
            Part::Image(image) => {
                json!({ "type": "image_url", "image_url": { "url": data_url(image) } })
            }
        })
        .collect()
}
