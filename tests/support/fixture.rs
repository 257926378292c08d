//! Recorded Claude Code sessions (`tests/fixtures/<name>/`) installed into a test HOME, as if
//! Claude Code had run there, and the conversation they hold.

use std::fs;
use std::path::PathBuf;

use serde_json::Value;

use super::env::TestEnv;
use super::files::{RECORDED_HOME, fixture_dir};
use super::flatten::{Item, flatten_anthropic};

const RECORDED_PROJECT: &str = "/home/user/project";

pub struct Installed {
    pub session_id: String,
    pub transcript: PathBuf,
    lines: Vec<String>,
    /// Each subagent's transcript lines.
    subagents: Vec<Vec<String>>,
}

/// Installs fixture `name`'s transcript (and subagents) under `~/.claude/projects/`, paths
/// moved into `env`; `lines` limits the main transcript to its first lines.
pub fn install(env: &TestEnv, name: &str, lines: usize) -> Installed {
    let localize = |text: &str| {
        text.replace(RECORDED_PROJECT, env.project.to_str().unwrap())
            .replace(RECORDED_HOME, env.home.to_str().unwrap())
    };
    let dir = fixture_dir(name);
    let text = localize(&fs::read_to_string(dir.join("transcript.jsonl")).unwrap());
    let all: Vec<String> = text.lines().map(str::to_owned).collect();
    let first: Value = serde_json::from_str(&all[0]).unwrap();
    let session_id = all
        .iter()
        .find_map(|l| {
            let v: Value = serde_json::from_str(l).ok()?;
            v["sessionId"].as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| first["sessionId"].to_string());
    let projects = env.claude_project_dir();
    let transcript = projects.join(format!("{session_id}.jsonl"));
    let mut installed = Installed {
        session_id,
        transcript,
        lines: all,
        subagents: Vec::new(),
    };
    installed.write(lines);
    if let Ok(entries) = fs::read_dir(dir.join("subagents")) {
        let target = projects.join(&installed.session_id).join("subagents");
        fs::create_dir_all(&target).unwrap();
        for entry in entries.flatten() {
            let text = localize(&fs::read_to_string(entry.path()).unwrap());
            fs::write(target.join(entry.file_name()), &text).unwrap();
            if entry.path().extension().is_some_and(|e| e == "jsonl") {
                installed
                    .subagents
                    .push(text.lines().map(str::to_owned).collect());
            }
        }
    }
    installed
}

impl Installed {
    /// Rewrites the transcript with its first `lines` lines (Claude Code going on).
    pub fn write(&self, lines: usize) {
        fs::create_dir_all(self.transcript.parent().unwrap()).unwrap();
        let text: String = self
            .lines
            .iter()
            .take(lines)
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(&self.transcript, text).unwrap();
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// The conversation of the first `lines` lines as Claude's model saw it, with each
    /// subagent's calls and outputs right after the Agent call that started it (where
    /// session-sync places them).
    pub fn conversation(&self, lines: usize) -> Vec<Item> {
        let main = flatten_lines(self.lines.iter().take(lines));
        let mut out = Vec::new();
        let mut subagents = self.subagents.iter();
        for item in main {
            let spawns =
                matches!(&item, Item::Call { name, .. } if name == "Agent" || name == "Task");
            out.push(item);
            if spawns {
                if let Some(lines) = subagents.next() {
                    out.extend(
                        flatten_lines(lines.iter())
                            .into_iter()
                            .filter(|i| matches!(i, Item::Call { .. } | Item::Output { .. })),
                    );
                }
            }
        }
        out
    }
}

/// Transcript lines flattened as the model saw them (meta and synthetic lines left out).
fn flatten_lines<'a>(lines: impl Iterator<Item = &'a String>) -> Vec<Item> {
    {
        let messages: Vec<Value> = lines
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| {
                matches!(v["type"].as_str(), Some("user" | "assistant"))
                    && v["isMeta"] != true
                    && v["isCompactSummary"] != true
                    && v["message"]["model"] != "<synthetic>"
            })
            .map(|v| v["message"].clone())
            .collect();
        flatten_anthropic(&messages, None)
            .into_iter()
            .filter(|item| !matches!(item, Item::User(t) if t.starts_with('<')))
            .collect()
    }
}
