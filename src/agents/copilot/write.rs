//! GitHub Copilot CLI sessions (verified with Copilot CLI 1.0.102):
//! `$COPILOT_HOME/session-state/<uuid>/events.jsonl`, an event log on a `parentId` chain,
//! with `workspace.yaml` beside it (written as the session's index entry).

use crate::encode::turns::{Turn, turns};
use crate::encode::{
    Encoder, Index, Kind, Lines, Opening, SessionFacts, ToolStyle, rfc3339, tool_call,
};
use crate::model::{Record, joined_text};
use serde_json::{Value, json};
use std::path::PathBuf;

pub struct Copilot {
    pub home: PathBuf,
    pub style: ToolStyle,
    pub max_output_bytes: usize,
}

/// The Copilot CLI version whose format we write.
const VERSION: &str = "1.0.102";

impl Encoder for Copilot {
    fn cannot_carry(&self, item: &crate::model::Item, lost: &mut Vec<&'static str>) {
        if let crate::model::Item::Prompt { parts } = item {
            if parts
                .iter()
                .any(|p| matches!(p, crate::model::Part::Image(_)))
            {
                lost.push("pasted images not carried (Copilot takes text only)");
            }
        }
    }

    fn open(&self, facts: &SessionFacts) -> std::io::Result<Opening> {
        let id = uuid::Uuid::new_v4().to_string();
        let dir = self.home.join("session-state").join(&id);
        let start_id = uuid::Uuid::new_v4().to_string();
        let now = rfc3339(facts.now);
        let start = json!({
            "type": "session.start",
            "data": {
                "sessionId": id,
                "version": 1,
                "producer": "copilot-agent",
                "copilotVersion": VERSION,
                "startTime": now,
                "contextTier": null,
                "context": { "cwd": facts.cwd.to_string_lossy() },
                "alreadyInUse": false,
            },
            "id": start_id,
            "timestamp": now,
            "parentId": null,
        });
        Ok(Opening::new(id, dir.join("events.jsonl"), Kind::Jsonl)
            .header(vec![start.to_string()])
            .index(Index::CopilotWorkspace {
                path: dir.join("workspace.yaml"),
            })
            .cursor(json!({ "last": start_id, "turn": 0 })))
    }

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Lines) -> u64 {
        let (turns, count) = turns(records, cursor, self.style, self.max_output_bytes);
        let now = rfc3339(chrono::Utc::now());
        for timed in turns {
            let timestamp = timed.timestamp.as_deref().unwrap_or(&now);
            if matches!(timed.turn, Turn::User(_)) {
                cursor["turn"] = (cursor["turn"].as_u64().unwrap_or(0) + 1).into();
            }
            let turn_id = cursor["turn"].to_string();
            let mut events = Events {
                lines: &mut *lines,
                cursor: &mut *cursor,
                timestamp,
            };
            match &timed.turn {
                Turn::User(parts) => events.push("user.message", |data| {
                    data.str("content", &joined_text(parts));
                }),
                Turn::Assistant(text) => events.push("assistant.message", |data| {
                    data.str("messageId", &uuid::Uuid::new_v4().to_string())
                        .str("content", text)
                        .str("turnId", &turn_id);
                }),
                Turn::Calls(exchanges) => {
                    let named: Vec<(String, Value)> = exchanges
                        .iter()
                        .map(|e| tool_call(&e.name, &e.input, "bash"))
                        .collect();
                    events.push("assistant.message", |data| {
                        data.str("messageId", &uuid::Uuid::new_v4().to_string())
                            .str("content", "")
                            .str("turnId", &turn_id)
                            .array("toolRequests", |requests| {
                                for (e, (name, args)) in exchanges.iter().zip(&named) {
                                    requests.object(|request| {
                                        request
                                            .str("name", name)
                                            .str("toolCallId", &e.id)
                                            .value("arguments", args);
                                    });
                                }
                            });
                    });
                    for (e, (name, args)) in exchanges.iter().zip(&named) {
                        events.push("tool.execution_start", |data| {
                            data.str("toolCallId", &e.id)
                                .str("toolName", name)
                                .value("arguments", args)
                                .str("turnId", &turn_id);
                        });
                        let output = e.output_text();
                        events.push("tool.execution_complete", |data| {
                            data.str("toolCallId", &e.id)
                                .bool("success", !e.is_error)
                                .str("turnId", &turn_id)
                                .object("result", |result| {
                                    result.str("content", &output);
                                });
                            if e.is_error {
                                // A failed call's text reaches the model from `error`, not
                                // `result`.
                                data.object("error", |error| {
                                    error.str("message", &output);
                                });
                            }
                        });
                    }
                }
            }
        }
        count
    }
}

/// Events on the session's `parentId` chain, written as text: a call's output goes straight
/// into its line.
struct Events<'a> {
    lines: &'a mut Lines,
    cursor: &'a mut Value,
    timestamp: &'a str,
}

impl Events<'_> {
    /// An event of `kind` with the `data` it writes.
    fn push(&mut self, kind: &str, data: impl FnOnce(&mut crate::json::Object)) {
        let id = uuid::Uuid::new_v4().to_string();
        let parent = &self.cursor["last"];
        self.lines.object(|event| {
            event
                .str("type", kind)
                .object("data", data)
                .str("id", &id)
                .str("timestamp", self.timestamp)
                .value("parentId", parent);
        });
        self.cursor["last"] = id.into();
    }
}
