//! Codex CLI rollouts (legacy format, verified with Codex 0.169.0):
//! `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl`.

use crate::encode::{
    Encoder, Index, Kind, Opening, SessionFacts, ToolStyle, cap_parts, data_url, rfc3339,
};
use crate::model::{Item, Part, Record};
use serde_json::{Value, json};
use std::path::PathBuf;

pub struct Codex {
    pub home: PathBuf,
    pub style: ToolStyle,
    pub max_output_bytes: usize,
}

/// Claude Code tools with an exact Codex equivalent, and how their arguments translate.
fn native_call(name: &str, input: &Value) -> Option<(&'static str, Value)> {
    match name {
        "Bash" => {
            let command = input.get("command")?.as_str()?;
            Some(("exec_command", json!({ "cmd": command })))
        }
        _ => None,
    }
}

impl Encoder for Codex {
    fn open(&self, facts: &SessionFacts) -> std::io::Result<Opening> {
        let id = facts.uuid_or(uuid::Uuid::now_v7);
        let local = facts.now.with_timezone(&chrono::Local);
        let path = self
            .home
            .join("sessions")
            .join(local.format("%Y").to_string())
            .join(local.format("%m").to_string())
            .join(local.format("%d").to_string())
            .join(format!(
                "rollout-{}-{id}.jsonl",
                local.format("%Y-%m-%dT%H-%M-%S")
            ));
        let timestamp = rfc3339(facts.now);
        let meta = json!({
            "timestamp": timestamp,
            "type": "session_meta",
            "payload": {
                "id": id,
                "timestamp": timestamp,
                "cwd": facts.cwd.to_string_lossy(),
                "originator": "session_sync",
                "cli_version": env!("CARGO_PKG_VERSION"),
                "source": "cli",
            }
        });
        let lock = self
            .home
            .join("thread-writer-locks")
            .join(format!("{id}.lock"));
        Ok(Opening::new(id, path, Kind::Jsonl)
            .header(vec![meta.to_string()])
            .writer_lock(lock)
            .index(Index::CodexThreads {
                db: self.home.join("state_5.sqlite"),
            }))
    }

    fn adopt(&self, _text: &str) -> Option<Value> {
        // Each line stands alone: nothing to remember.
        Some(Value::Null)
    }

    fn encode(&self, records: &[Record], _cursor: &mut Value, lines: &mut Vec<String>) -> u64 {
        let mut count = 0;
        for record in records {
            let before = lines.len();
            self.encode_one(record, lines);
            count += u64::from(lines.len() > before);
        }
        count
    }
}

impl Codex {
    fn encode_one(&self, record: &Record, lines: &mut Vec<String>) {
        let timestamp = record.timestamp.as_deref().unwrap_or("");
        let mut line = |kind: &str, payload: Value| {
            lines.push(
                json!({ "timestamp": timestamp, "type": kind, "payload": payload }).to_string(),
            )
        };
        let main_agent = record.agent.is_none();
        match &record.item {
            Item::Prompt { parts } if main_agent => {
                let text: Vec<&str> = parts.iter().filter_map(Part::text).collect();
                let images: Vec<String> = parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Image(image) => Some(data_url(image)),
                        Part::Text(_) => None,
                    })
                    .collect();
                line(
                    "event_msg",
                    json!({ "type": "user_message", "message": text.join("\n"), "images": images }),
                );
                let content: Vec<Value> = parts
                    .iter()
                    .map(|p| match p {
                        Part::Text(text) => json!({ "type": "input_text", "text": text }),
                        Part::Image(image) => {
                            json!({ "type": "input_image", "image_url": data_url(image) })
                        }
                    })
                    .collect();
                line(
                    "response_item",
                    json!({ "type": "message", "role": "user", "content": content }),
                );
            }
            Item::Text { text } if main_agent => {
                line("response_item", assistant_message(text));
                line(
                    "event_msg",
                    json!({ "type": "agent_message", "message": text }),
                );
            }
            Item::ToolCall { id, name, input } => match self.style {
                ToolStyle::Structured => {
                    let (name, arguments) = match native_call(name, input) {
                        Some((native, arguments)) => (native.to_owned(), arguments),
                        None => (name.clone(), input.clone()),
                    };
                    line(
                        "response_item",
                        json!({
                            "type": "function_call",
                            "name": name,
                            "arguments": arguments.to_string(),
                            "call_id": id,
                        }),
                    );
                }
                ToolStyle::Text => {
                    let text = format!("[tool call {name} {id}]\n{input}");
                    line("response_item", assistant_message(&text));
                }
            },
            Item::ToolResult {
                id,
                parts,
                is_error,
            } => {
                let parts = cap_parts(parts, self.max_output_bytes);
                match self.style {
                    ToolStyle::Structured => line(
                        "response_item",
                        json!({ "type": "function_call_output", "call_id": id, "output": output(&parts) }),
                    ),
                    ToolStyle::Text => {
                        let status = if *is_error { " error" } else { "" };
                        let body: Vec<&str> = parts.iter().filter_map(Part::text).collect();
                        let text = format!("[tool result {id}{status}]\n{}", body.join("\n"));
                        line(
                            "response_item",
                            json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] }),
                        );
                    }
                }
            }
            // Thinking needs encrypted reasoning content Codex cannot get from Claude; a
            // subagent's prompt and texts are summed up by the Agent call and its result.
            Item::Thinking { .. } | Item::Prompt { .. } | Item::Text { .. } => {}
        }
    }
}

fn assistant_message(text: &str) -> Value {
    json!({ "type": "message", "role": "assistant", "content": [{ "type": "output_text", "text": text }] })
}

/// One text block stays a string; several blocks or images keep their structure.
fn output(parts: &[Part]) -> Value {
    if let [Part::Text(text)] = parts {
        return Value::String(text.clone());
    }
    if parts.is_empty() {
        return Value::String(String::new());
    }
    Value::Array(
        parts
            .iter()
            .map(|p| match p {
                Part::Text(text) => json!({ "type": "input_text", "text": text }),
                Part::Image(image) => {
                    json!({ "type": "input_image", "image_url": data_url(image) })
                }
            })
            .collect(),
    )
}
