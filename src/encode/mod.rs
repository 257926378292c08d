//! One encoder per agent: normalized records in, lines of that agent's session file out.
//! Encoders compute names and bytes only; the store writes them.

pub mod codex;

use crate::config::Config;
use crate::model::{Part, Record};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A new mirror file: its id in the target agent, where it goes, and its first lines.
#[derive(Debug, Clone)]
pub struct Opening {
    pub id: String,
    pub path: PathBuf,
    pub header: Vec<String>,
    /// A file the agent `flock`s while it has the session open.
    pub writer_lock: Option<PathBuf>,
}

/// Renders records as the lines of one agent's session file.
pub trait Encoder {
    /// Names a new mirror session and gives its header lines.
    fn open(&self, facts: &SessionFacts) -> Opening;
    /// Appends the lines for `record` (none when the agent has no place for it).
    fn encode(&self, record: &Record, lines: &mut Vec<String>);
}

/// The encoders of the targets `config` enables, by target name.
pub fn enabled(config: &Config) -> Vec<(&'static str, Box<dyn Encoder>)> {
    let mut encoders: Vec<(&'static str, Box<dyn Encoder>)> = Vec::new();
    if let (Some(codex), Some(home)) = (config.codex(), crate::paths::codex_home()) {
        encoders.push((
            "codex",
            Box::new(codex::Codex {
                home,
                style: codex.tool_style,
                max_output_bytes: config.max_output_bytes,
            }),
        ));
    }
    encoders
}

/// What an encoder needs to know about the Claude session to open a mirror.
pub struct SessionFacts<'a> {
    pub cwd: &'a Path,
    pub now: chrono::DateTime<chrono::Utc>,
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
