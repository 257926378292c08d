//! The normalized conversation: what every reader produces and every encoder consumes.
//!
//! It knows nothing about Claude Code, Codex or files; readers fill it, encoders render it.

use serde_json::Value;

/// One conversation item with where and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// RFC 3339 time of the item at its source, when the source says.
    pub timestamp: Option<String>,
    /// The subagent that produced the item; `None` for the main agent.
    pub agent: Option<String>,
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
    pub fn new(item: Item) -> Self {
        Record {
            timestamp: None,
            agent: None,
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

/// The text of a list of parts, one block per line.
pub fn joined_text(parts: &[Part]) -> String {
    let texts: Vec<&str> = parts.iter().filter_map(Part::text).collect();
    texts.join("\n")
}
