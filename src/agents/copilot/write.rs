//! GitHub Copilot CLI sessions (verified with Copilot CLI 1.0.102):
//! `$COPILOT_HOME/session-state/<uuid>/events.jsonl`, an event log on a `parentId` chain,
//! with `workspace.yaml` beside it (written as the session's index entry).

use crate::encode::turns::{Turn, turns};
use crate::encode::{Encoder, Index, Kind, Opening, SessionFacts, ToolStyle, rfc3339, tool_call};
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

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Vec<String>) -> u64 {
        let (turns, count) = turns(records, cursor, self.style, self.max_output_bytes);
        let now = rfc3339(chrono::Utc::now());
        for timed in turns {
            let timestamp = timed.timestamp.unwrap_or_else(|| now.clone());
            if matches!(timed.turn, Turn::User(_)) {
                cursor["turn"] = (cursor["turn"].as_u64().unwrap_or(0) + 1).into();
            }
            let turn_id = cursor["turn"].to_string();
            let mut push = |kind: &str, data: Value| {
                let id = uuid::Uuid::new_v4().to_string();
                // Written as text around `data`, which carries the output: not copied.
                lines.push(crate::json::object(|event| {
                    event
                        .str("type", kind)
                        .value("data", &data)
                        .str("id", &id)
                        .str("timestamp", &timestamp)
                        .value("parentId", &cursor["last"]);
                }));
                cursor["last"] = id.into();
            };
            match timed.turn {
                Turn::User(parts) => {
                    push("user.message", json!({ "content": joined_text(&parts) }))
                }
                Turn::Assistant(text) => push(
                    "assistant.message",
                    json!({
                        "messageId": uuid::Uuid::new_v4().to_string(),
                        "content": text,
                        "turnId": turn_id,
                    }),
                ),
                Turn::Calls(exchanges) => {
                    let named: Vec<(String, Value)> = exchanges
                        .iter()
                        .map(|e| tool_call(&e.name, &e.input, "bash"))
                        .collect();
                    let requests: Vec<Value> = exchanges
                        .iter()
                        .zip(&named)
                        .map(|(e, (name, args))| {
                            json!({ "name": name, "toolCallId": e.id, "arguments": args })
                        })
                        .collect();
                    push(
                        "assistant.message",
                        json!({
                            "messageId": uuid::Uuid::new_v4().to_string(),
                            "content": "",
                            "turnId": turn_id,
                            "toolRequests": requests,
                        }),
                    );
                    for (e, (name, args)) in exchanges.iter().zip(&named) {
                        push(
                            "tool.execution_start",
                            json!({ "toolCallId": e.id, "toolName": name, "arguments": args, "turnId": turn_id }),
                        );
                        let output = e.output_text();
                        let mut complete = json!({
                            "toolCallId": e.id,
                            "success": !e.is_error,
                            "turnId": turn_id,
                            "result": { "content": output },
                        });
                        if e.is_error {
                            // A failed call's text reaches the model from `error`, not `result`.
                            complete["error"] = json!({ "message": output });
                        }
                        push("tool.execution_complete", complete);
                    }
                }
            }
        }
        count
    }
}
