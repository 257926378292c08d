//! Qwen Code sessions (verified with Qwen Code 0.15.10):
//! `$QWEN_HOME/projects/<cwd, every non-alphanumeric → '->/chats/<uuid>.jsonl`, one record
//! per line on a single `uuid`/`parentUuid` chain, Gemini-style content.

use crate::encode::turns::{Turn, turns};
use crate::encode::{Encoder, Kind, Lines, Opening, SessionFacts, ToolStyle, rfc3339, tool_call};
use crate::json::Object;
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

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Lines) -> u64 {
        let (turns, count) = turns(records, cursor, self.style, self.max_output_bytes);
        let now = rfc3339(chrono::Utc::now());
        for timed in turns {
            let timestamp = timed.timestamp.as_deref().unwrap_or(&now);
            let mut chain = Chain {
                lines: &mut *lines,
                cursor: &mut *cursor,
                timestamp,
            };
            match &timed.turn {
                Turn::User(parts) => chain.push("user", None, |message| {
                    message
                        .str("role", "user")
                        .value("parts", &Value::Array(gemini_parts(parts)));
                }),
                Turn::Assistant(text) => chain.push("assistant", None, |message| {
                    message.str("role", "model").array("parts", |parts| {
                        parts.object(|part| {
                            part.str("text", text);
                        });
                    });
                }),
                Turn::Calls(exchanges) => {
                    let named: Vec<(String, Value)> = exchanges
                        .iter()
                        .map(|e| tool_call(&e.name, &e.input, "run_shell_command"))
                        .collect();
                    chain.push("assistant", None, |message| {
                        message.str("role", "model").array("parts", |parts| {
                            for (e, (name, args)) in exchanges.iter().zip(&named) {
                                parts.object(|part| {
                                    part.object("functionCall", |call| {
                                        call.str("id", &e.id).str("name", name).value("args", args);
                                    });
                                });
                            }
                        });
                    });
                    for (e, (name, _)) in exchanges.iter().zip(&named) {
                        let output = e.output_text();
                        // As Qwen Code records it; a failed call reads back as failed.
                        let result = |result: &mut Object| {
                            result
                                .str("callId", &e.id)
                                .str("status", if e.is_error { "error" } else { "success" })
                                .str("resultDisplay", &output);
                        };
                        chain.push("tool_result", Some(&result), |message| {
                            message.str("role", "user").array("parts", |parts| {
                                parts.object(|part| function_response(part, &e.id, name, &output));
                            });
                        });
                    }
                }
            }
        }
        count
    }
}

/// Records on the session's `uuid`/`parentUuid` chain, written as text: a call's output goes
/// straight into its line.
struct Chain<'a> {
    lines: &'a mut Lines,
    cursor: &'a mut Value,
    timestamp: &'a str,
}

impl Chain<'_> {
    /// A record of `kind` with the message `message` writes; `result`, what Qwen Code
    /// records of a call's outcome beside its response.
    fn push(
        &mut self,
        kind: &str,
        result: Option<&dyn Fn(&mut Object)>,
        message: impl FnOnce(&mut Object),
    ) {
        let uuid = uuid::Uuid::new_v4().to_string();
        let cursor = &*self.cursor;
        self.lines.object(|record| {
            record
                .str("uuid", &uuid)
                .value("parentUuid", &cursor["last"])
                .value("sessionId", &cursor["session"])
                .str("timestamp", self.timestamp)
                .str("type", kind)
                .value("cwd", &cursor["cwd"])
                .str("version", VERSION)
                .object("message", message);
            if let Some(result) = result {
                record.object("toolCallResult", |object| result(object));
            }
        });
        self.cursor["last"] = uuid.into();
    }
}

/// A call's output as a Gemini API `functionResponse` part (Gemini CLI and Qwen Code share
/// it), written into `part`.
pub fn function_response(part: &mut Object, id: &str, name: &str, output: &str) {
    part.object("functionResponse", |response| {
        response
            .str("id", id)
            .str("name", name)
            .object("response", |body| {
                body.str("output", output);
            });
    });
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
