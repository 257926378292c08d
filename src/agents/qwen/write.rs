//! Qwen Code sessions (verified with Qwen Code 0.15.10):
//! `$QWEN_HOME/projects/<cwd, every non-alphanumeric → '->/chats/<uuid>.jsonl`, one record
//! per line on a single `uuid`/`parentUuid` chain, Gemini-style content.

use crate::encode::turns::{Turn, turns};
use crate::encode::{Encoder, Kind, Opening, SessionFacts, ToolStyle, rfc3339, tool_call};
use crate::model::{Part, Record};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub struct Qwen {
    pub home: PathBuf,
    pub style: ToolStyle,
    pub max_output_bytes: usize,
}

/// The Qwen Code version whose format we write.
const VERSION: &str = "0.15.10";

/// Qwen's project folder name for a cwd.
pub fn project_folder(cwd: &Path) -> String {
    cwd.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

impl Encoder for Qwen {
    fn open(&self, facts: &SessionFacts) -> std::io::Result<Opening> {
        let id = uuid::Uuid::new_v4().to_string();
        let path = self
            .home
            .join("projects")
            .join(project_folder(facts.cwd))
            .join("chats")
            .join(format!("{id}.jsonl"));
        let cursor = json!({ "session": id, "cwd": facts.cwd.to_string_lossy(), "last": null });
        Ok(Opening::new(id, path, Kind::Jsonl).cursor(cursor))
    }

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Vec<String>) -> u64 {
        let (turns, count) = turns(records, cursor, self.style, self.max_output_bytes);
        let now = rfc3339(chrono::Utc::now());
        for timed in turns {
            let timestamp = timed.timestamp.unwrap_or_else(|| now.clone());
            // `result`: what Qwen Code records of a call's outcome beside its response.
            let mut push = |kind: &str, message: Value, result: Option<Value>| {
                let uuid = uuid::Uuid::new_v4().to_string();
                // Written as text around `message`, which carries the output: not copied.
                lines.push(crate::json::object(|record| {
                    record
                        .str("uuid", &uuid)
                        .value("parentUuid", &cursor["last"])
                        .value("sessionId", &cursor["session"])
                        .str("timestamp", &timestamp)
                        .str("type", kind)
                        .value("cwd", &cursor["cwd"])
                        .str("version", VERSION)
                        .value("message", &message);
                    if let Some(result) = &result {
                        record.value("toolCallResult", result);
                    }
                }));
                cursor["last"] = uuid.into();
            };
            match timed.turn {
                Turn::User(parts) => push(
                    "user",
                    json!({ "role": "user", "parts": gemini_parts(&parts) }),
                    None,
                ),
                Turn::Assistant(text) => push(
                    "assistant",
                    json!({ "role": "model", "parts": [{ "text": text }] }),
                    None,
                ),
                Turn::Calls(exchanges) => {
                    let named: Vec<(String, Value)> = exchanges
                        .iter()
                        .map(|e| tool_call(&e.name, &e.input, "run_shell_command"))
                        .collect();
                    let calls: Vec<Value> = exchanges
                        .iter()
                        .zip(&named)
                        .map(|(e, (name, args))| {
                            json!({ "functionCall": { "id": e.id, "name": name, "args": args } })
                        })
                        .collect();
                    push(
                        "assistant",
                        json!({ "role": "model", "parts": calls }),
                        None,
                    );
                    for (e, (name, _)) in exchanges.iter().zip(&named) {
                        let output = e.output_text();
                        let response = json!({ "functionResponse": {
                            "id": e.id, "name": name, "response": { "output": output },
                        }});
                        // As Qwen Code records it; a failed call reads back as failed.
                        let result = json!({
                            "callId": e.id,
                            "status": if e.is_error { "error" } else { "success" },
                            "resultDisplay": output,
                        });
                        push(
                            "tool_result",
                            // Moved in, not copied: the response carries the output.
                            {
                                let mut message = json!({ "role": "user", "parts": null });
                                message["parts"] = Value::Array(vec![response]);
                                message
                            },
                            Some(result),
                        );
                    }
                }
            }
        }
        count
    }
}

/// Text and inline images as Gemini API parts (Gemini CLI and Qwen Code share them).
pub fn gemini_parts(parts: &[Part]) -> Vec<Value> {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => json!({ "text": text }),
            Part::Image(image) => {
                json!({ "inlineData": { "mimeType": image.media_type, "data": image.data } })
            }
        })
        .collect()
}
