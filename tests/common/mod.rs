//! Drives the built binary in a temporary HOME, replaying recorded Claude Code sessions.
#![allow(dead_code)] // each test crate uses part of this module

use serde_json::Value;
use session_sync::agents::codex::write::Codex;
use session_sync::claude::{self, Entry};
use session_sync::encode::{Encoder, SessionFacts, ToolStyle};
use session_sync::model::Record;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_session-sync");
/// The recordings' neutralised home directory.
const RECORDED_HOME: &str = "/home/user";

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A private HOME with a project in it; nothing outside it is read or written.
pub struct Env {
    pub root: tempfile::TempDir,
    pub home: PathBuf,
    pub project: PathBuf,
    pub data: PathBuf,
    pub codex_home: PathBuf,
}

impl Env {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home/user");
        let project = home.join("project");
        let data = root.path().join("data");
        let codex_home = home.join(".codex");
        for dir in [&project, &codex_home] {
            std::fs::create_dir_all(dir).unwrap();
        }
        Env {
            root,
            home,
            project,
            data,
            codex_home,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", "/usr/bin:/bin")
            .env("SESSION_SYNC_DATA_DIR", &self.data)
            .env("CODEX_HOME", &self.codex_home)
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("CLAUDE_CONFIG_DIR", self.home.join(".claude"))
            .current_dir(&self.project);
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn init(&self) {
        let out = self.run(&["init"]);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `session-sync hook` with all three streams piped; stdin left open.
    pub fn spawn_hook_piped(&self) -> Child {
        self.command(&["hook"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub fn spawn_hook(&self, stdin: &[u8]) -> Child {
        let mut child = self.spawn_hook_piped();
        let mut pipe = child.stdin.take().unwrap();
        let bytes = stdin.to_vec();
        // Written from a thread: a large payload must not block the test on a full pipe.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
        child
    }

    pub fn hook(&self, stdin: &[u8]) -> Output {
        let output = self.spawn_hook(stdin).wait_with_output().unwrap();
        assert_silent_success(&output);
        output
    }

    pub fn rollouts(&self) -> Vec<PathBuf> {
        rollouts_in(&self.codex_home)
    }

    /// The one rollout written, parsed line by line (every line must be JSON).
    pub fn rollout(&self) -> Vec<Value> {
        let rollouts = self.rollouts();
        assert_eq!(
            rollouts.len(),
            1,
            "expected one rollout, found {rollouts:?}"
        );
        parse_rollout(&rollouts[0])
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("logs/hook.log")).unwrap_or_default()
    }

    /// Hook log lines at `level` (`ERROR`, `WARN`).
    pub fn log_lines(&self, level: &str) -> Vec<String> {
        let tag = format!(" {level} ");
        self.log()
            .lines()
            .filter(|l| l.contains(&tag))
            .map(str::to_owned)
            .collect()
    }

    /// Where Claude Code keeps the transcript of `session` run in the project; its folder is
    /// created.
    pub fn transcript_path(&self, session: &str) -> PathBuf {
        let folder = claude::project_folder_name(self.project.to_str().unwrap());
        let folder = self.home.join(".claude/projects").join(folder);
        std::fs::create_dir_all(&folder).unwrap();
        folder.join(format!("{session}.jsonl"))
    }

    /// Moves a recorded path or payload into this HOME.
    pub fn localize(&self, text: &str) -> String {
        text.replace(RECORDED_HOME, self.home.to_str().unwrap())
    }

    pub fn status_json(&self) -> Value {
        let out = self.run(&["status", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

pub fn assert_silent_success(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "hook exit status");
    assert!(
        output.stdout.is_empty(),
        "hook wrote to stdout: {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        output.stderr.is_empty(),
        "hook wrote to stderr: {:?}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file under `codex_home`'s `sessions` directory.
pub fn rollouts_in(codex_home: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![codex_home.join("sessions")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// A rollout parsed line by line: every line must be JSON, the file must end with a newline
/// and be named after the session id its first line gives.
pub fn parse_rollout(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "rollout does not end with a newline");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid line {l:?}: {e}")))
        .collect();
    let meta = &lines[0];
    assert_eq!(meta["type"], "session_meta");
    let id = meta["payload"]["id"].as_str().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("rollout-") && name.ends_with(&format!("-{id}.jsonl")),
        "{name} vs {id}"
    );
    lines
}

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
    let mut lines = opening.header;
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
        i = j;
    }
    main.grow_to(main.lines.len());
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

/// A rollout line reduced to what the model is given, without times and ids.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    User(String),
    Assistant(String),
    Call {
        id: String,
        name: String,
        arguments: String,
    },
    Output {
        id: String,
        output: Value,
    },
}

pub fn said(lines: &[Value]) -> Vec<Said> {
    lines
        .iter()
        .filter(|l| l["type"] == "response_item")
        .map(|l| {
            let p = &l["payload"];
            let text = || {
                p["content"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["text"].as_str().unwrap_or("<image>"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            match p["type"].as_str().unwrap() {
                "message" if p["role"] == "user" => Said::User(text()),
                "message" => Said::Assistant(text()),
                "function_call" => Said::Call {
                    id: p["call_id"].as_str().unwrap().into(),
                    name: p["name"].as_str().unwrap().into(),
                    arguments: p["arguments"].as_str().unwrap().into(),
                },
                "function_call_output" => Said::Output {
                    id: p["call_id"].as_str().unwrap().into(),
                    output: p["output"].clone(),
                },
                other => panic!("unexpected response_item {other}"),
            }
        })
        .collect()
}

/// Live and reference say the same: the same prompts, texts and calls in the same order, and
/// each output exactly once, after its call and before the next text or prompt.
pub fn assert_same_conversation(live: &[Said], reference: &[Said]) {
    let not_output = |s: &&Said| !matches!(s, Said::Output { .. });
    let live_main: Vec<&Said> = live.iter().filter(not_output).collect();
    let reference_main: Vec<&Said> = reference.iter().filter(not_output).collect();
    assert_eq!(
        live_main, reference_main,
        "prompts, texts and calls differ\nlive: {live:#?}\nreference: {reference:#?}"
    );
    for (index, item) in live.iter().enumerate() {
        let Said::Output { id, output } = item else {
            continue;
        };
        let expected = reference
            .iter()
            .find_map(|s| match s {
                Said::Output { id: rid, output } if rid == id => Some(output),
                _ => None,
            })
            .unwrap_or_else(|| panic!("output {id} is not in the reference"));
        assert_eq!(output, expected, "output of {id} differs");
        let call = live
            .iter()
            .position(|s| matches!(s, Said::Call { id: cid, .. } if cid == id))
            .unwrap();
        assert!(call < index, "output {id} before its call");
        let next_text = live[call..]
            .iter()
            .position(|s| matches!(s, Said::User(_) | Said::Assistant(_)))
            .map_or(live.len(), |p| p + call);
        assert!(index < next_text, "output {id} after the next message");
    }
    let count = |v: &[Said]| {
        v.iter()
            .filter(|s| matches!(s, Said::Output { .. }))
            .count()
    };
    assert_eq!(
        count(live),
        count(reference),
        "number of outputs differs\nlive: {live:#?}"
    );
}

/// Every item of the reference appears exactly once in `live`, in whatever order.
pub fn assert_same_items(live: &[Said], reference: &[Said]) {
    let mut left: Vec<&Said> = live.iter().collect();
    for item in reference {
        let at = left
            .iter()
            .position(|s| *s == item)
            .unwrap_or_else(|| panic!("missing {item:?}\nlive: {live:#?}"));
        left.remove(at);
    }
    assert!(left.is_empty(), "extra items: {left:#?}");
}

/// A session as the interactive TUI writes it (recorded with Claude Code 2.1.197, issue 11):
/// bookkeeping lines; then the first answer's text and Bash call and a file-history snapshot;
/// only then the prompt (the earliest timestamp, no parent) and its attachments, the last of
/// which the text's `parentUuid` names; the call's result and the final answer; `/exit`.
pub struct Tui {
    pub session: String,
    pub transcript: PathBuf,
    cwd: PathBuf,
    prompt_id: String,
}

impl Tui {
    pub const PROMPT: &str = "Run echo hi in the shell.";
    pub const CALL: &str = "toolu_tui_0001";
    pub const FINAL: &str = "It printed hi.";

    pub fn new(env: &Env) -> Self {
        let session = "7d3c5e1a-0b2f-4c6d-9e8f-1a2b3c4d5e6f".to_owned();
        let transcript = env.transcript_path(&session);
        std::fs::write(&transcript, "").unwrap();
        Tui {
            session,
            transcript,
            cwd: env.project.clone(),
            prompt_id: "5f0e2d4c-1b3a-4e6f-8a9b-0c1d2e3f4a5b".into(),
        }
    }

    fn line(&self, uuid: &str, parent: Option<&str>, at: &str, fields: Value) -> Value {
        let mut line = serde_json::json!({
            "parentUuid": parent, "isSidechain": false, "uuid": uuid,
            "timestamp": format!("2026-12-01T10:00:{at}Z"), "userType": "external",
            "entrypoint": "cli", "cwd": self.cwd, "sessionId": self.session,
            "version": "2.1.197", "gitBranch": "main",
        });
        if let (Value::Object(line), Value::Object(fields)) = (&mut line, fields) {
            line.extend(fields);
        }
        line
    }

    fn assistant(&self, uuid: &str, parent: &str, at: &str, block: Value) -> Value {
        let message = serde_json::json!({
            "id": "msg_tui_1", "type": "message", "role": "assistant",
            "model": "claude-opus-4-8", "content": [block], "stop_reason": "tool_use",
        });
        self.line(
            uuid,
            Some(parent),
            at,
            serde_json::json!({ "type": "assistant", "message": message }),
        )
    }

    fn user(&self, uuid: &str, parent: Option<&str>, at: &str, content: Value) -> Value {
        let message = serde_json::json!({ "role": "user", "content": content });
        self.line(
            uuid,
            parent,
            at,
            serde_json::json!({ "type": "user", "message": message, "promptId": self.prompt_id }),
        )
    }

    fn attachment(&self, uuid: &str, parent: &str) -> Value {
        let attachment = serde_json::json!({ "type": "skill_listing", "content": "" });
        self.line(
            uuid,
            Some(parent),
            "00.001",
            serde_json::json!({ "type": "attachment", "attachment": attachment }),
        )
    }

    /// The transcript's lines in four flushes: before the UserPromptSubmit hook, before the
    /// call's PostToolUse hook, before Stop, before SessionEnd.
    pub fn flushes(&self) -> [Vec<Value>; 4] {
        let s = &self.session;
        let bookkeeping = vec![
            serde_json::json!({ "type": "ai-title", "aiTitle": "Echo hi", "sessionId": s }),
            serde_json::json!({ "type": "last-prompt", "lastPrompt": Self::PROMPT, "sessionId": s }),
            serde_json::json!({ "type": "mode", "mode": "normal", "sessionId": s }),
            serde_json::json!({ "type": "permission-mode", "permissionMode": "default", "sessionId": s }),
        ];
        let call = serde_json::json!({
            "type": "tool_use", "id": Self::CALL, "name": "Bash",
            "input": { "command": "echo hi", "description": "Print hi" },
        });
        let mut prompt = self.user("u-prompt", None, "00.000", Self::PROMPT.into());
        prompt["origin"] = serde_json::json!({ "kind": "human" });
        let first = vec![
            self.assistant(
                "u-text",
                "u-att2",
                "02.000",
                serde_json::json!({ "type": "text", "text": "I'll run it." }),
            ),
            self.assistant("u-call", "u-text", "02.100", call),
            serde_json::json!({ "type": "file-history-snapshot", "messageId": "u-prompt", "snapshot": {} }),
            prompt,
            self.attachment("u-att1", "u-prompt"),
            self.attachment("u-att2", "u-att1"),
        ];
        let mut result = self.user(
            "u-result",
            Some("u-call"),
            "03.000",
            serde_json::json!([{
                "tool_use_id": Self::CALL, "type": "tool_result", "content": "hi", "is_error": false,
            }]),
        );
        result["toolUseResult"] = Self::response();
        let answer = self.assistant(
            "u-final",
            "u-result",
            "04.000",
            serde_json::json!({ "type": "text", "text": Self::FINAL }),
        );
        let exit = vec![
            self.user(
                "u-exit",
                Some("u-final"),
                "09.000",
                "<command-name>/exit</command-name>\n            <command-message>exit</command-message>\n            <command-args></command-args>".into(),
            ),
            self.user(
                "u-bye",
                Some("u-exit"),
                "09.001",
                "<local-command-stdout>Goodbye!</local-command-stdout>".into(),
            ),
        ];
        [bookkeeping, first, vec![result, answer], exit]
    }

    fn response() -> Value {
        serde_json::json!({
            "stdout": "hi", "stderr": "", "interrupted": false, "isImage": false,
            "noOutputExpected": false,
        })
    }

    pub fn append(&self, lines: &[Value]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.transcript)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    /// The hook payloads, in the order the flushes precede them.
    pub fn payloads(&self) -> [Vec<u8>; 4] {
        let payload = |event: &str, fields: Value| {
            let mut payload = serde_json::json!({
                "session_id": self.session, "transcript_path": self.transcript,
                "cwd": self.cwd, "prompt_id": self.prompt_id, "permission_mode": "default",
                "hook_event_name": event,
            });
            if let (Value::Object(payload), Value::Object(fields)) = (&mut payload, fields) {
                payload.extend(fields);
            }
            payload.to_string().into_bytes()
        };
        [
            payload(
                "UserPromptSubmit",
                serde_json::json!({ "prompt": Self::PROMPT }),
            ),
            payload(
                "PostToolUse",
                serde_json::json!({
                    "tool_name": "Bash", "tool_use_id": Self::CALL,
                    "tool_input": { "command": "echo hi", "description": "Print hi" },
                    "tool_response": Self::response(),
                }),
            ),
            payload(
                "Stop",
                serde_json::json!({ "stop_hook_active": false, "last_assistant_message": Self::FINAL }),
            ),
            payload(
                "SessionEnd",
                serde_json::json!({ "reason": "prompt_input_exit" }),
            ),
        ]
    }

    /// What the Codex mirror must say: the prompt first, the call and its output once.
    pub fn said() -> Vec<Said> {
        vec![
            Said::User(Self::PROMPT.into()),
            Said::Assistant("I'll run it.".into()),
            Said::Call {
                id: Self::CALL.into(),
                name: "exec_command".into(),
                arguments: serde_json::json!({ "cmd": "echo hi" }).to_string(),
            },
            Said::Output {
                id: Self::CALL.into(),
                output: "hi".into(),
            },
            Said::Assistant(Self::FINAL.into()),
        ]
    }
}
