//! Recorded Claude Code sessions (`tests/fixtures/<name>/`: hook payloads, transcript,
//! subagents) replayed through the binary, and what a whole read of one produces.

use super::files::fixture_dir;
use super::home::{Env, assert_silent_success};
use serde_json::Value;
use session_sync::agents::claude::{self, Entry};
use session_sync::agents::codex::write::Codex;
use session_sync::encode::{Encoder, Lines, SessionFacts, ToolStyle};
use session_sync::model::Record;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

/// One recorded hook invocation.
pub struct Hook {
    pub t_ms: u64,
    pub event: String,
    pub payload: Value,
}

pub struct Recording {
    pub name: String,
    pub hooks: Vec<Hook>,
    pub transcript: Vec<String>,
    pub subagents: Vec<(String, Vec<String>, String)>,
}

impl Recording {
    pub fn load(name: &str) -> Self {
        let dir = fixture_dir(name);
        let hooks = std::fs::read_to_string(dir.join("payloads.jsonl"))
            .unwrap()
            .lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line).unwrap();
                Hook {
                    t_ms: value["t_ms"].as_u64().unwrap(),
                    event: value["event"].as_str().unwrap().to_owned(),
                    payload: value["payload"].clone(),
                }
            })
            .collect();
        let transcript = read_lines(&dir.join("transcript.jsonl"));
        let mut subagents = Vec::new();
        for entry in std::fs::read_dir(dir.join("subagents"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().into_string().unwrap();
            if let Some(id) = name
                .strip_prefix("agent-")
                .and_then(|n| n.strip_suffix(".jsonl"))
            {
                let meta = std::fs::read_to_string(
                    dir.join("subagents").join(format!("agent-{id}.meta.json")),
                )
                .unwrap();
                subagents.push((id.to_owned(), read_lines(&entry.path()), meta));
            }
        }
        Recording {
            name: name.to_owned(),
            hooks,
            transcript,
            subagents,
        }
    }

    /// The recorded transcript's path, moved into `env`'s HOME.
    pub fn transcript_path(&self, env: &Env) -> PathBuf {
        PathBuf::from(env.localize(self.hooks[0].payload["transcript_path"].as_str().unwrap()))
    }

    /// Writes the first `lines` lines of the recorded transcript (all with `usize::MAX`).
    pub fn write_transcript(&self, env: &Env, lines: usize) {
        let path = self.transcript_path(env);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let lines: Vec<String> = self
            .transcript
            .iter()
            .take(lines)
            .map(|l| env.localize(l) + "\n")
            .collect();
        std::fs::write(path, lines.concat()).unwrap();
    }

    /// Writes the recorded subagent transcripts and their metadata beside the transcript.
    pub fn write_subagents(&self, env: &Env) {
        let dir = self
            .transcript_path(env)
            .with_extension("")
            .join("subagents");
        std::fs::create_dir_all(&dir).unwrap();
        for (id, lines, meta) in &self.subagents {
            let text: String = lines.iter().map(|l| env.localize(l) + "\n").collect();
            std::fs::write(dir.join(format!("agent-{id}.jsonl")), text).unwrap();
            std::fs::write(dir.join(format!("agent-{id}.meta.json")), meta).unwrap();
        }
    }

    /// Runs the `n`th recorded hook of kind `event`.
    pub fn run_hook(&self, env: &Env, event: &str, n: usize) {
        let hook = self
            .hooks
            .iter()
            .filter(|h| h.event == event)
            .nth(n)
            .unwrap();
        env.hook(env.localize(&hook.payload.to_string()).as_bytes());
    }

    pub fn session_id(&self) -> String {
        self.hooks[0].payload["session_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// What a complete read of the recording produces (the reference for live replays).
    pub fn reference_rollout(&self, env: &Env) -> Vec<Value> {
        let localize = |text: &str| env.localize(text);
        batch_rollout(&self.name, &localize, ToolStyle::Structured)
    }
}

/// A whole recorded transcript read at once (as a backfill would), encoded for Codex.
pub fn batch_rollout(
    fixture: &str,
    localize: &dyn Fn(&str) -> String,
    style: ToolStyle,
) -> Vec<Value> {
    let codex = Codex {
        home: PathBuf::from("/codex"),
        style,
        max_output_bytes: 256 * 1024,
    };
    encode_all(&codex, &fixture_records(fixture, localize))
}

/// The records a whole recorded transcript gives when read at once.
pub fn fixture_records(fixture: &str, localize: &dyn Fn(&str) -> String) -> Vec<Record> {
    let dir = fixture_dir(fixture);
    let read = |path: PathBuf| localize(&std::fs::read_to_string(path).unwrap_or_default());
    let read_subagent = |agent: &str| -> Vec<Entry> {
        claude::read_lines(
            &read(dir.join("subagents").join(format!("agent-{agent}.jsonl"))),
            Some(agent),
        )
    };
    session_sync::sync::whole(&read(dir.join("transcript.jsonl")), &read_subagent)
}

/// A new mirror's whole content for `records`, as an encoder writes it, one value per line.
pub fn encode_all(encoder: &dyn Encoder, records: &[Record]) -> Vec<Value> {
    let facts = SessionFacts {
        preferred_id: None,
        claude_session_id: "11111111-2222-4333-8444-555555555555",
        cwd: Path::new("/home/user/project"),
        title: "the first prompt",
        now: chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    };
    let opening = encoder.open(&facts).unwrap();
    let mut lines: Lines = opening.header.iter().collect();
    let mut cursor = opening.cursor;
    encoder.encode(records, &mut cursor, &mut lines);
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// How the transcript keeps up with the hooks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lag {
    /// Every line is flushed before the hook starts.
    None,
    /// Claude Code's usual case: the lines arrive 40 ms into the hook (flushes every 100 ms).
    Flushes,
    /// Nothing arrives while the hook waits; it shows up at the next hook.
    Stuck,
}

/// A transcript file that grows as Claude Code writes it.
struct Growing {
    path: PathBuf,
    lines: Vec<String>,
    written: usize,
}

impl Growing {
    fn grow_to(&mut self, count: usize) {
        let count = count.min(self.lines.len());
        if count <= self.written {
            return;
        }
        std::fs::create_dir_all(self.path.parent().unwrap()).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .unwrap();
        for line in &self.lines[self.written..count] {
            writeln!(file, "{line}").unwrap();
        }
        self.written = count;
    }

    fn index_of(&self, needle: &str) -> Option<usize> {
        self.lines.iter().position(|l| l.contains(needle))
    }

    /// Index just past the end of the turn in progress at line `from`.
    fn turn_end(&self, from: usize) -> usize {
        self.lines[from..]
            .iter()
            .position(|l| l.contains("\"type\":\"last-prompt\""))
            .map_or(self.lines.len(), |i| from + i + 1)
    }

    /// Index of the first line of the next Claude Code process (its queued prompt).
    fn process_end(&self, from: usize) -> usize {
        let end = self.turn_end(from);
        self.lines[end..]
            .iter()
            .position(|l| l.contains("\"operation\":\"enqueue\""))
            .map_or(self.lines.len(), |i| end + i)
    }
}

/// Replays `recording` through the binary, concurrently where the hooks overlapped, with the
/// transcript growing as `lag` says. Every hook must exit 0 silently.
pub fn replay(env: &Env, recording: &Recording, lag: Lag) {
    let localized: Vec<String> = recording
        .transcript
        .iter()
        .map(|l| env.localize(l))
        .collect();
    let transcript_path = PathBuf::from(
        env.localize(
            recording.hooks[0].payload["transcript_path"]
                .as_str()
                .unwrap(),
        ),
    );
    let mut main = Growing {
        path: transcript_path.clone(),
        lines: localized,
        written: 0,
    };
    let subagent_dir = transcript_path.with_extension("").join("subagents");
    let mut subs: Vec<(String, Growing, String)> = recording
        .subagents
        .iter()
        .map(|(id, lines, meta)| {
            let lines = lines.iter().map(|l| env.localize(l)).collect();
            let path = subagent_dir.join(format!("agent-{id}.jsonl"));
            (
                id.clone(),
                Growing {
                    path,
                    lines,
                    written: 0,
                },
                meta.clone(),
            )
        })
        .collect();

    let mut deferred: Vec<(bool, usize)> = Vec::new();
    let mut i = 0;
    while i < recording.hooks.len() {
        // Hooks of one kind started within 100 ms of each other ran concurrently.
        let mut j = i + 1;
        while j < recording.hooks.len()
            && recording.hooks[j].event == recording.hooks[i].event
            && recording.hooks[j].event.starts_with("PostToolUse")
            && recording.hooks[j].t_ms - recording.hooks[i].t_ms < 100
        {
            j += 1;
        }
        let group = &recording.hooks[i..j];
        // Lines a stuck transcript held back arrive now.
        for (is_sub, count) in deferred.drain(..) {
            if is_sub {
                for (_, sub, _) in &mut subs {
                    sub.grow_to(count);
                }
            } else {
                main.grow_to(count);
            }
        }
        let mut main_target = main.written;
        let mut sub_target: Option<(usize, usize)> = None;
        for hook in group {
            let payload = &hook.payload;
            let agent = payload["agent_id"].as_str();
            let tool_use_id = payload["tool_use_id"].as_str().unwrap_or("");
            match (hook.event.as_str(), agent) {
                ("PostToolUse" | "PostToolUseFailure", None) => {
                    main_target = main_target.max(first_result_of_group(&main, group));
                }
                ("PostToolUse" | "PostToolUseFailure", Some(agent)) => {
                    let s = subs.iter().position(|(id, _, _)| id == agent).unwrap();
                    let result = subs[s]
                        .1
                        .index_of(&format!("\"tool_use_id\":\"{tool_use_id}\""))
                        .unwrap();
                    sub_target = Some((s, result));
                    let meta: Value = serde_json::from_str(&subs[s].2).unwrap();
                    let agent_call = meta["toolUseId"].as_str().unwrap();
                    let agent_result = main
                        .index_of(&format!("\"tool_use_id\":\"{agent_call}\""))
                        .unwrap();
                    main_target = main_target.max(agent_result);
                }
                ("SubagentStart", Some(agent)) => {
                    let (_, sub, meta) = subs.iter().find(|(id, _, _)| id == agent).unwrap();
                    std::fs::create_dir_all(sub.path.parent().unwrap()).unwrap();
                    std::fs::write(sub.path.with_extension("meta.json"), meta).unwrap();
                }
                ("SubagentStop", Some(agent)) => {
                    let s = subs.iter().position(|(id, _, _)| id == agent).unwrap();
                    let len = subs[s].1.lines.len();
                    sub_target = Some((s, len));
                }
                ("PostToolBatch", None) => {
                    let last = payload["tool_calls"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|c| {
                            main.index_of(&format!(
                                "\"tool_use_id\":\"{}\"",
                                c["tool_use_id"].as_str().unwrap()
                            ))
                        })
                        .max()
                        .unwrap();
                    main_target = main_target.max(last + 1);
                }
                ("Stop", None) => main_target = main_target.max(main.turn_end(main.written)),
                ("SessionEnd", None) => {
                    main_target = main_target.max(main.process_end(main.written))
                }
                _ => {}
            }
        }
        let immediate = matches!(
            group[0].event.as_str(),
            "SessionEnd" | "PostToolBatch" | "SubagentStop"
        );
        let apply_now = lag == Lag::None || immediate;
        if apply_now {
            main.grow_to(main_target);
            if let Some((s, count)) = sub_target {
                subs[s].1.grow_to(count);
            }
        }
        let children: Vec<Child> = group
            .iter()
            .map(|hook| env.spawn_hook(env.localize(&hook.payload.to_string()).as_bytes()))
            .collect();
        if !apply_now {
            match lag {
                Lag::Flushes => {
                    std::thread::sleep(Duration::from_millis(40));
                    main.grow_to(main_target);
                    if let Some((s, count)) = sub_target {
                        subs[s].1.grow_to(count);
                    }
                }
                Lag::Stuck => {
                    deferred.push((false, main_target));
                    if let Some((_, count)) = sub_target {
                        deferred.push((true, count));
                    }
                }
                Lag::None => unreachable!(),
            }
        }
        for child in children {
            assert_silent_success(&child.wait_with_output().unwrap());
        }
        if lag == Lag::Stuck {
            // Stuck for as long as the hooks' children wait too.
            env.settle();
        }
        i = j;
    }
    main.grow_to(main.lines.len());
    env.settle();
}

/// The first tool_result line among the calls of a concurrent group: none of the group's
/// results is written before all its hooks return.
fn first_result_of_group(main: &Growing, group: &[Hook]) -> usize {
    group
        .iter()
        .filter_map(|h| h.payload["tool_use_id"].as_str())
        .filter_map(|id| main.index_of(&format!("\"tool_use_id\":\"{id}\"")))
        .min()
        .unwrap_or(main.lines.len())
}
