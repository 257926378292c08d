//! One encoder per agent: normalized records in, lines of that agent's session file out.
//! Encoders compute names and bytes only; the store writes them.

mod lines;
pub mod turns;

pub use lines::Lines;

use crate::config::{Config, TargetConfig};
use crate::model::{Part, Record};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A new mirror session: its id in the target agent, where it goes, and what to write first.
#[derive(Debug, Clone)]
pub struct Opening {
    pub id: String,
    pub path: PathBuf,
    pub kind: Kind,
    pub header: Vec<String>,
    /// A file the agent `flock`s while it has the session open.
    pub writer_lock: Option<PathBuf>,
    /// Files the agent needs beside the session (registries, markers), written once.
    pub side_files: Vec<SideFile>,
    /// An index the agent lists sessions from, kept current as the mirror grows.
    pub index: Option<Index>,
    /// The encoder's starting memory of this mirror (its ids, chains), passed to `encode`.
    pub cursor: Value,
    /// Lines the agent adds to the session without the user continuing it.
    pub benign: Option<Benign>,
}

impl Opening {
    /// A mirror `id` at `path` in format `kind`, with nothing to write first, no writer lock,
    /// side files or index, and an empty cursor; the setters below add what an agent needs.
    pub fn new(id: String, path: PathBuf, kind: Kind) -> Self {
        Opening {
            id,
            path,
            kind,
            header: Vec::new(),
            writer_lock: None,
            side_files: Vec::new(),
            index: None,
            cursor: Value::Null,
            benign: None,
        }
    }

    pub fn header(mut self, lines: Vec<String>) -> Self {
        self.header = lines;
        self
    }

    pub fn writer_lock(mut self, path: PathBuf) -> Self {
        self.writer_lock = Some(path);
        self
    }

    pub fn side_files(mut self, files: Vec<SideFile>) -> Self {
        self.side_files = files;
        self
    }

    pub fn index(mut self, index: Index) -> Self {
        self.index = Some(index);
        self
    }

    pub fn cursor(mut self, cursor: Value) -> Self {
        self.cursor = cursor;
        self
    }

    pub fn benign(mut self, benign: Benign) -> Self {
        self.benign = Some(benign);
        self
    }
}

/// Lines an agent appends to a session file on its own (not a sign the user continued it):
/// the mirror goes on after them instead of forking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Benign {
    /// Gemini CLI's listing adds `{"$set":{"summary"|"memoryScratchpad"|"lastUpdated":…}}`.
    GeminiMetadata,
}

impl Benign {
    pub fn allows(self, line: &str) -> bool {
        match self {
            Benign::GeminiMetadata => {
                let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else {
                    return false;
                };
                record.len() == 1
                    && record
                        .get("$set")
                        .and_then(Value::as_object)
                        .is_some_and(|set| {
                            set.keys().all(|k| {
                                matches!(k.as_str(), "summary" | "memoryScratchpad" | "lastUpdated")
                            })
                        })
            }
        }
    }
}

/// How the store applies a mirror's lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Lines appended to a JSONL file.
    #[default]
    Jsonl,
    /// Each line is a row upsert (`{"table","id","row"}`) for OpenCode's SQLite database.
    OpencodeDb,
}

/// A file beside the session, written only if it is missing (or, for a JSON registry, only
/// our entry added).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SideFile {
    Create {
        path: PathBuf,
        text: String,
    },
    /// Adds `key: value` to the object at `object` (a top-level key) unless the key exists.
    JsonEntry {
        path: PathBuf,
        object: String,
        key: String,
        value: Value,
    },
}

/// Where an agent lists its sessions from, when that is not the session file itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Index {
    /// A row in Codex's `state_5.sqlite` `threads` table.
    CodexThreads { db: PathBuf },
    /// Copilot CLI's `workspace.yaml` beside the event log.
    CopilotWorkspace { path: PathBuf },
}

/// Renders records as the lines of one agent's session.
/// `Sync`: a catch-up step encodes every target side by side.
pub trait Encoder: Sync {
    /// Names a new mirror session and gives its first lines.
    fn open(&self, facts: &SessionFacts) -> std::io::Result<Opening>;
    /// Appends the lines for `records` and returns how many records they carry. `cursor` is
    /// this encoder's own memory of the mirror so far (chains, open turns), saved between
    /// hooks; it starts as the opening's.
    fn encode(&self, records: &[Record], cursor: &mut Value, lines: &mut Lines) -> u64;
    /// The cursor to append after `text`, a session of this agent that session-sync did not
    /// write (an import fast-forwarding a native session); `None` where the agent's format
    /// needs more memory than its file gives back, and such a session is branched instead.
    fn adopt(&self, _text: &str) -> Option<Value> {
        None
    }
    /// What of `item` this agent's format cannot carry (beyond what no agent's can, which
    /// `losses` counts), added to `lost`.
    fn cannot_carry(&self, _item: &crate::model::Item, _lost: &mut Vec<&'static str>) {}
}

/// The encoder for `target` under `config`, when it is enabled and its store can be found.
pub fn encoder(target: &str, config: &Config) -> Option<Box<dyn Encoder>> {
    let settings: &TargetConfig = config.target(target)?;
    (crate::agents::agent(target)?.writer?)(config, settings)
}

/// The encoders of the targets `config` enables, by target name, except `excluded` (the
/// agent the session is read from).
pub fn enabled(config: &Config, excluded: Option<&str>) -> Vec<(&'static str, Box<dyn Encoder>)> {
    crate::agents::writable()
        .filter(|agent| Some(agent.name) != excluded)
        .filter_map(|agent| Some((agent.name, encoder(agent.name, config)?)))
        .collect()
}

/// What an encoder needs to know about the Claude session to open a mirror.
pub struct SessionFacts<'a> {
    pub claude_session_id: &'a str,
    pub cwd: &'a Path,
    /// What agents should list the session as.
    pub title: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
    /// The id to give the session where the agent takes any UUID (an imported session keeps
    /// its own id when it is free here); `None` to mint one.
    pub preferred_id: Option<&'a str>,
}

impl SessionFacts<'_> {
    /// The preferred id when it is a UUID, else a new one.
    pub fn uuid_or(&self, mint: fn() -> uuid::Uuid) -> String {
        self.preferred_id
            .filter(|id| uuid::Uuid::parse_str(id).is_ok())
            .map_or_else(|| mint().to_string(), str::to_owned)
    }
}

/// The tool name and arguments to write for a Claude Code call: Bash as the target's own
/// shell tool `shell` (`run_shell_command` in Gemini CLI and Qwen Code, `bash` in OpenCode
/// and Copilot CLI) when it has the command, any other call as it is.
pub fn tool_call(name: &str, input: &Value, shell: &str) -> (String, Value) {
    match (name, input.get("command")) {
        ("Bash", Some(command)) => {
            let mut args = serde_json::Map::new();
            args.insert("command".into(), command.clone());
            if let Some(description) = input.get("description") {
                args.insert("description".into(), description.clone());
            }
            (shell.to_owned(), Value::Object(args))
        }
        _ => (name.to_owned(), input.clone()),
    }
}

/// What `encoder`'s agent cannot carry of `records`, counted by what it is: the loss report
/// `mirror` and `status` show.
pub fn losses(
    encoder: &dyn Encoder,
    records: &[Record],
    max_output_bytes: usize,
) -> Vec<&'static str> {
    use crate::model::Item;
    let mut lost = Vec::new();
    for record in records {
        match &record.item {
            Item::Thinking { .. } => lost.push("thinking blocks not carried"),
            Item::Prompt { .. } | Item::Text { .. } if record.agent.is_some() => {
                lost.push("subagent texts not carried (the Agent result sums them up)")
            }
            Item::ToolResult { parts, .. }
                if parts
                    .iter()
                    .any(|p| p.text().is_some_and(|t| t.len() > max_output_bytes)) =>
            {
                lost.push("outputs shortened to their head and tail (max_output_bytes)")
            }
            item => encoder.cannot_carry(item, &mut lost),
        }
    }
    lost
}

/// `data:` URL of an image part.
pub fn data_url(image: &crate::model::Image) -> String {
    format!("data:{};base64,{}", image.media_type, image.data)
}

pub fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// How tool calls are written where the target has structured calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStyle {
    /// Native function calls paired with their outputs.
    #[default]
    Structured,
    /// Calls and outputs as plain messages, for model APIs that refuse unknown tool names.
    Text,
}

/// Keeps each text part whole up to `max_bytes`, else its head and tail around a marker.
pub fn cap_parts(parts: &[Part], max_bytes: usize) -> Vec<Part> {
    parts
        .iter()
        .map(|part| match part {
            Part::Text(text) if text.len() > max_bytes => {
                Part::Text(head_and_tail(text, max_bytes))
            }
            other => other.clone(),
        })
        .collect()
}

fn head_and_tail(text: &str, max_bytes: usize) -> String {
    let half = max_bytes / 2;
    let mut head_end = half;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - half;
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    let omitted = tail_start - head_end;
    format!(
        "{}\n[… session-sync omitted {omitted} bytes of this output …]\n{}",
        &text[..head_end],
        &text[tail_start..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_stays_whole() {
        let parts = vec![Part::Text("hello".into())];
        assert_eq!(cap_parts(&parts, 10), parts);
    }

    #[test]
    fn long_output_keeps_head_and_tail_with_marker() {
        let text = format!("{}{}", "a".repeat(100), "é".repeat(100));
        let capped = cap_parts(&[Part::Text(text)], 64);
        let Part::Text(out) = &capped[0] else {
            panic!()
        };
        assert!(out.starts_with(&"a".repeat(32)));
        assert!(out.ends_with(&"é".repeat(16)));
        assert!(out.contains("session-sync omitted 236 bytes"));
    }
}
