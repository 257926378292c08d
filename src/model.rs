//! The normalized conversation: what every reader produces and every encoder consumes.
//!
//! It knows nothing about Claude Code, Codex or files; readers fill it, encoders render it.

use serde_json::{Value, json};

/// One conversation item with where and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// RFC 3339 time of the item at its source, when the source says.
    pub timestamp: Option<String>,
    /// The subagent that produced the item; `None` for the main agent.
    pub agent: Option<String>,
    /// The id the item has at its origin, which never changes once read: the native message
    /// or part id where the agent has one, else a hash of the item and its position.
    pub rid: Option<String>,
    pub item: Item,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// What the user typed (text and pasted images).
    Prompt { parts: Vec<Part> },
    /// Visible assistant text.
    Text { text: String },
    /// Model reasoning; most targets cannot replay it.
    Thinking { text: String },
    /// A tool call with its full arguments.
    ToolCall {
        id: String,
        name: String,
        input: Value,
    },
    /// What the model saw back from a tool call.
    ToolResult {
        id: String,
        parts: Vec<Part>,
        is_error: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Image(Image),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub media_type: String,
    /// Base64 without the `data:` prefix.
    pub data: String,
}

impl Record {
    /// About how many bytes of text the record carries: what writing it costs scales with.
    pub fn weight(&self) -> usize {
        let parts = |parts: &[Part]| -> usize {
            parts
                .iter()
                .map(|part| match part {
                    Part::Text(text) => text.len(),
                    Part::Image(image) => image.data.len(),
                })
                .sum()
        };
        match &self.item {
            Item::Prompt { parts: p } | Item::ToolResult { parts: p, .. } => parts(p),
            Item::Text { text } | Item::Thinking { text } => text.len(),
            Item::ToolCall { input, .. } => value_weight(input),
        }
    }

    pub fn new(item: Item) -> Self {
        Record {
            timestamp: None,
            agent: None,
            rid: None,
            item,
        }
    }
}

impl Part {
    pub fn text(&self) -> Option<&str> {
        match self {
            Part::Text(text) => Some(text),
            Part::Image(_) => None,
        }
    }
}

impl Record {
    /// The record with `f` applied to every text it holds: prompts, answers, thinking, every
    /// string of a call's arguments, outputs. Ids, names and images stay.
    pub fn map_text(&self, f: &mut dyn FnMut(&str) -> String) -> Record {
        fn parts(parts: &[Part], f: &mut dyn FnMut(&str) -> String) -> Vec<Part> {
            parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => Part::Text(f(t)),
                    image => image.clone(),
                })
                .collect()
        }
        fn value(v: &Value, f: &mut dyn FnMut(&str) -> String) -> Value {
            match v {
                Value::String(s) => Value::String(f(s)),
                Value::Array(items) => Value::Array(items.iter().map(|i| value(i, f)).collect()),
                Value::Object(map) => {
                    Value::Object(map.iter().map(|(k, v)| (k.clone(), value(v, f))).collect())
                }
                other => other.clone(),
            }
        }
        let item = match &self.item {
            Item::Prompt { parts: p } => Item::Prompt { parts: parts(p, f) },
            Item::Text { text } => Item::Text { text: f(text) },
            Item::Thinking { text } => Item::Thinking { text: f(text) },
            Item::ToolCall { id, name, input } => Item::ToolCall {
                id: id.clone(),
                name: name.clone(),
                input: value(input, f),
            },
            Item::ToolResult {
                id,
                parts: p,
                is_error,
            } => Item::ToolResult {
                id: id.clone(),
                parts: parts(p, f),
                is_error: *is_error,
            },
        };
        Record {
            item,
            ..self.clone()
        }
    }
}

/// A Claude Code record's origin id: a call and its result are named by the call's id (the
/// same whether a hook payload or the transcript reported them), anything else by its line's
/// `uuid`.
pub fn origin_id(item: &Item, line_uuid: Option<&str>) -> Option<String> {
    match item {
        Item::ToolCall { id, .. } => Some(format!("{id}:call")),
        Item::ToolResult { id, .. } => Some(format!("{id}:result")),
        _ => line_uuid.map(str::to_owned),
    }
}

/// The text of a list of parts, one block per line.
pub fn joined_text(parts: &[Part]) -> String {
    let texts: Vec<&str> = parts.iter().filter_map(Part::text).collect();
    texts.join("\n")
}

impl Record {
    /// The record as JSON (the journal's line format, see docs/state.md).
    pub fn to_json(&self) -> Value {
        let record = self;
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
        let mut line =
            json!({ "timestamp": record.timestamp, "agent": record.agent, "item": item });
        if let Some(rid) = &record.rid {
            line["rid"] = json!(rid);
        }
        line
    }

    pub fn from_json(value: &Value) -> Option<Record> {
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
            rid: value.get("rid").and_then(text),
            item,
        })
    }
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

fn value_weight(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Array(items) => items.iter().map(value_weight).sum(),
        Value::Object(fields) => fields.iter().map(|(k, v)| k.len() + value_weight(v)).sum(),
        _ => 8,
    }
}
