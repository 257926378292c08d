//! Codex CLI rollouts (legacy format, verified with Codex 0.169.0):
//! `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<uuid>.jsonl`.

use crate::encode::{
    Encoder, Index, Kind, Lines, Opening, SessionFacts, ToolStyle, cap_parts, data_url, rfc3339,
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
/// The arguments of Claude Code's Bash that Codex's `exec_command` takes (its schema refuses
/// others); the loss report counts the rest.
pub const SHELL_ARGUMENTS: &[&str] = &["command", "workdir"];

fn native_call(name: &str, input: &Value) -> Option<(&'static str, Value)> {
    match name {
        "Bash" => {
            let command = input.get("command")?.as_str()?;
            let mut args = json!({ "cmd": command });
            // A Codex shell call read back (agents::codex) keeps the directory it ran in.
            if let Some(workdir) = input.get("workdir").filter(|w| w.is_string()) {
                args["workdir"] = workdir.clone();
            }
            Some(("exec_command", args))
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

    fn cannot_carry(&self, item: &Item, lost: &mut Vec<&'static str>) {
        let Item::ToolCall { name, input, .. } = item else {
            return;
        };
        let Some(args) = input.as_object().filter(|_| name == "Bash") else {
            return;
        };
        if self.style != ToolStyle::Structured {
            return;
        }
        if args.contains_key("description") {
            lost.push("Bash descriptions dropped (Codex's schema)");
        }
        if args
            .keys()
            .any(|k| k != "description" && !SHELL_ARGUMENTS.contains(&k.as_str()))
        {
            lost.push("Bash options dropped (Codex's schema)");
        }
    }

    fn adopt(&self, text: &str) -> Option<Value> {
        // Each line stands alone, but a paginated rollout (native 0.169) needs the next
        // ordinal on every line appended: Codex refuses to resume it otherwise.
        let first: Value = serde_json::from_str(text.lines().next()?).ok()?;
        if first["payload"]["history_mode"] != "paginated" {
            return Some(Value::Null);
        }
        let last = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok()?["ordinal"].as_u64())?;
        Some(json!({ "ordinal": last + 1 }))
    }

    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Lines) -> u64 {
        let mut ordinal = cursor["ordinal"].as_u64();
        let mut count = 0;
        for record in records {
            let before = lines.len();
            self.encode_one(record, lines);
            if let Some(next) = ordinal.as_mut() {
                for line in lines.split_off(before) {
                    lines.push(&with_ordinal(&line, *next));
                    *next += 1;
                }
            }
            count += u64::from(lines.len() > before);
        }
        if let Some(next) = ordinal {
            *cursor = json!({ "ordinal": next });
        }
        count
    }
}

/// A rollout line with `"ordinal"` after its timestamp, where Codex puts it.
fn with_ordinal(line: &str, ordinal: u64) -> String {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(line) else {
        return line.to_owned();
    };
    let mut out = serde_json::Map::new();
    for (key, value) in fields {
        let after = key == "timestamp";
        out.insert(key, value);
        if after {
            out.insert("ordinal".into(), ordinal.into());
        }
    }
    crate::json::line(&Value::Object(out))
}

impl Codex {
    fn encode_one(&self, record: &Record, lines: &mut Lines) {
        let timestamp = record.timestamp.as_deref().unwrap_or("");
        let mut line = |kind: &str, payload: Value| {
            lines.value(&json!({ "timestamp": timestamp, "type": kind, "payload": payload }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_to_a_paginated_rollout_continue_its_ordinals() {
        let codex = Codex {
            home: PathBuf::from("/codex"),
            style: ToolStyle::Structured,
            max_output_bytes: 1 << 20,
        };
        let legacy = "{\"type\":\"session_meta\",\"payload\":{\"id\":\"x\"}}\n";
        assert_eq!(codex.adopt(legacy), Some(Value::Null));
        let paginated = "{\"timestamp\":\"t\",\"ordinal\":0,\"type\":\"session_meta\",\"payload\":{\"id\":\"x\",\"history_mode\":\"paginated\"}}\n\
                         {\"timestamp\":\"t\",\"ordinal\":1,\"type\":\"event_msg\",\"payload\":{}}\n";
        let mut cursor = codex.adopt(paginated).unwrap();
        let mut lines = Lines::default();
        let records = [
            Record::new(Item::Text { text: "one".into() }),
            Record::new(Item::Text { text: "two".into() }),
        ];
        codex.encode(&records, &mut cursor, &mut lines);
        let ordinals: Vec<u64> = lines
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["ordinal"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ordinals, (2..2 + lines.len() as u64).collect::<Vec<_>>());
        let first = lines.iter().next().unwrap();
        assert!(
            first.starts_with("{\"timestamp\":\"\",\"ordinal\":2,"),
            "{first}"
        );
        assert_eq!(cursor["ordinal"], 2 + lines.len() as u64);
    }

    #[test]
    fn a_shell_call_keeps_its_workdir() {
        let input = json!({ "command": "ls", "workdir": "/p/sub", "description": "List" });
        assert_eq!(
            native_call("Bash", &input),
            Some(("exec_command", json!({ "cmd": "ls", "workdir": "/p/sub" })))
        );
    }
}
