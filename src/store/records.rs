//! `records.jsonl`: every normalized record mirrored for a session, so that a mirror opened
//! later (a target enabled mid-session, a fork) starts with the full history.
//!
//! The session state says how many bytes of the journal are valid; bytes past that (from a
//! hook killed before it saved the state) are cut before the next append.

use super::fs;
use crate::model::{Image, Item, Part, Record};
use serde_json::{Value, json};
use std::io::{self, Write};
use std::path::Path;

/// Appends `records` after the first `valid` bytes; returns the journal's new valid length.
pub fn append(path: &Path, valid: u64, records: &[Record]) -> io::Result<u64> {
    if records.is_empty() {
        return Ok(valid);
    }
    let mut data = String::new();
    for record in records {
        data.push_str(&to_json(record).to_string());
        data.push('\n');
    }
    let mut file = fs::open_append(path)?;
    if file.metadata()?.len() != valid {
        file.set_len(valid)?;
    }
    file.write_all(data.as_bytes())?;
    Ok(valid + data.len() as u64)
}

/// The first `valid` bytes of the journal as records (lines that do not parse are skipped).
pub fn read(path: &Path, valid: u64) -> io::Result<Vec<Record>> {
    if valid == 0 {
        return Ok(Vec::new());
    }
    let bytes = fs::read_range(path, 0, valid)?;
    Ok(bytes
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .filter_map(|value| from_json(&value))
        .collect())
}

fn to_json(record: &Record) -> Value {
    let item = match &record.item {
        Item::Prompt { parts } => json!({ "prompt": parts_json(parts) }),
        Item::Text { text } => json!({ "text": text }),
        Item::Thinking { text } => json!({ "thinking": text }),
        Item::ToolCall { id, name, input } => {
            json!({ "tool_call": { "id": id, "name": name, "input": input } })
        }
        Item::ToolResult {
            id,
            parts,
            is_error,
        } => {
            json!({ "tool_result": { "id": id, "parts": parts_json(parts), "is_error": is_error } })
        }
    };
    json!({ "timestamp": record.timestamp, "agent": record.agent, "item": item })
}

fn parts_json(parts: &[Part]) -> Value {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) => json!({ "text": text }),
            Part::Image(image) => {
                json!({ "image": { "media_type": image.media_type, "data": image.data } })
            }
        })
        .collect()
}

fn from_json(value: &Value) -> Option<Record> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let item = value.get("item")?;
    let item = if let Some(parts) = item.get("prompt") {
        Item::Prompt {
            parts: parts_from(parts),
        }
    } else if let Some(t) = item.get("text") {
        Item::Text { text: text(t)? }
    } else if let Some(t) = item.get("thinking") {
        Item::Thinking { text: text(t)? }
    } else if let Some(call) = item.get("tool_call") {
        Item::ToolCall {
            id: text(call.get("id")?)?,
            name: text(call.get("name")?)?,
            input: call.get("input").cloned().unwrap_or(Value::Null),
        }
    } else if let Some(result) = item.get("tool_result") {
        Item::ToolResult {
            id: text(result.get("id")?)?,
            parts: parts_from(result.get("parts")?),
            is_error: result.get("is_error").and_then(Value::as_bool) == Some(true),
        }
    } else {
        return None;
    };
    Some(Record {
        timestamp: value.get("timestamp").and_then(text),
        agent: value.get("agent").and_then(text),
        item,
    })
}

fn parts_from(value: &Value) -> Vec<Part> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|part| {
            if let Some(text) = part.get("text").and_then(Value::as_str) {
                return Some(Part::Text(text.to_owned()));
            }
            let image = part.get("image")?;
            Some(Part::Image(Image {
                media_type: image.get("media_type")?.as_str()?.to_owned(),
                data: image.get("data")?.as_str()?.to_owned(),
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.jsonl");
        let records = vec![
            Record::new(Item::Prompt {
                parts: vec![
                    Part::Text("hi".into()),
                    Part::Image(Image {
                        media_type: "image/png".into(),
                        data: "AAAA".into(),
                    }),
                ],
            }),
            Record {
                timestamp: Some("2026-01-01T00:00:00.000Z".into()),
                agent: Some("a1".into()),
                item: Item::ToolCall {
                    id: "t1".into(),
                    name: "Bash".into(),
                    input: json!({"command": "ls"}),
                },
            },
            Record::new(Item::ToolResult {
                id: "t1".into(),
                parts: vec![Part::Text("out".into())],
                is_error: true,
            }),
        ];
        let valid = append(&path, 0, &records[..2]).unwrap();
        // A killed hook appended past what its state recorded.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"torn")
            .unwrap();
        let valid = append(&path, valid, &records[2..]).unwrap();
        assert_eq!(read(&path, valid).unwrap(), records);
    }
}
