//! A portable chat log per session in OpenAI Chat Completions message form: a system line,
//! then user and assistant messages; an assistant message's `tool_calls` are each followed by
//! their `tool` message. Any tool that reads chat logs can take it.

use crate::encode::turns::{Turn, turns};
use crate::encode::{Encoder, Kind, Opening, SessionFacts, ToolStyle, data_url};
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

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Vec<String>) -> u64 {
        let (turns, count) = turns(records, cursor, self.style, self.max_output_bytes);
        for timed in turns {
            match timed.turn {
                Turn::User(parts) => lines.push(crate::json::line(
                    &json!({ "role": "user", "content": user_content(&parts) }),
                )),
                Turn::Assistant(text) => lines.push(crate::json::line(
                    &json!({ "role": "assistant", "content": text }),
                )),
                Turn::Calls(exchanges) => {
                    let calls: Vec<Value> = exchanges
                        .iter()
                        .map(|e| {
                            json!({
                                "id": e.id,
                                "type": "function",
                                "function": { "name": e.name, "arguments": e.input.to_string() },
                            })
                        })
                        .collect();
                    lines.push(
                        json!({ "role": "assistant", "content": null, "tool_calls": calls })
                            .to_string(),
                    );
                    for e in &exchanges {
                        lines.push(crate::json::line(
                            &json!({ "role": "tool", "tool_call_id": e.id, "content": e.output_text() }),
                        ));
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
