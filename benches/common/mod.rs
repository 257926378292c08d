//! What the benchmarks share: a temporary home with the agents' stores, a project `init`-ed
//! for the targets chosen, transcript lines as Claude Code writes them, and the figures.

#![allow(dead_code)] // each benchmark uses its own part

use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_session-sync");
pub const SESSION: &str = "0b5e55ed-0000-4000-8000-000000000000";

/// The tables and columns of OpenCode's database that mirrors write (opencode.md §3).
const OPENCODE_SCHEMA: &str = include_str!("../../tests/fixtures/opencode-schema.sql");

/// `--name N` from the command line, else `default`.
pub fn arg(name: &str, default: usize) -> usize {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Which targets a benchmarked session mirrors to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    Codex,
    /// Gemini CLI, OpenCode, Copilot CLI, Qwen Code and OpenAI-chat.
    Five,
    All,
    /// One target (its config name), every agent's store there.
    Alone(&'static str),
}

impl Targets {
    pub fn label(self) -> &'static str {
        match self {
            Targets::Codex => "Codex",
            Targets::Five => "5 other targets",
            Targets::All => "all 6 targets",
            Targets::Alone(target) => target,
        }
    }
}

/// A temporary home with every agent's store, and a project `init`-ed for `targets`.
pub struct Home {
    pub root: tempfile::TempDir,
    pub home: PathBuf,
    pub project: PathBuf,
    pub data: PathBuf,
    /// The session's Claude Code transcript (not written yet).
    pub transcript: PathBuf,
}

impl Home {
    pub fn new(targets: Targets) -> Self {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let project = home.join("project");
        let data = root.path().join("data");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(home.join(".codex")).unwrap();
        let every_target = targets != Targets::Codex;
        if every_target {
            for store in [".gemini", ".copilot", ".qwen", ".local/share/opencode"] {
                std::fs::create_dir_all(home.join(store)).unwrap();
            }
            let db =
                rusqlite::Connection::open(home.join(".local/share/opencode/opencode.db")).unwrap();
            db.execute_batch(OPENCODE_SCHEMA).unwrap();
        }
        let transcript = home
            .join(".claude/projects/-home-project")
            .join(format!("{SESSION}.jsonl"));
        std::fs::create_dir_all(transcript.parent().unwrap()).unwrap();
        let made = Home {
            root,
            home,
            project,
            data,
            transcript,
        };
        let out = made.command(BIN).arg("init").output().unwrap();
        assert!(out.status.success(), "init failed");
        if every_target {
            let path = made.project.join(".session-sync/config.json");
            let mut config: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for (name, target) in config["targets"].as_object_mut().unwrap() {
                target["enabled"] = match targets {
                    Targets::Alone(alone) => name == alone,
                    _ => targets == Targets::All || name != "codex",
                }
                .into();
            }
            std::fs::write(&path, config.to_string()).unwrap();
        }
        made
    }

    /// `program` run as a hook or a command would be, in the project, with this home only.
    pub fn command(&self, program: &str) -> Command {
        command_in(program, &self.home, &self.data, &self.project)
    }

    /// Waits for the hook's child, which holds its place in the session's queue until the
    /// event is mirrored.
    pub fn settle(&self) {
        let queue =
            std::fs::File::open(self.data.join("sessions").join(SESSION).join("queue")).unwrap();
        fs2::FileExt::lock_exclusive(&queue).unwrap();
    }
}

/// `program` with `home` as its only home and `data` as session-sync's data, run in `cwd`.
pub fn command_in(program: &str, home: &Path, data: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .env("SESSION_SYNC_DATA_DIR", data)
        .env("CODEX_HOME", home.join(".codex"))
        .current_dir(cwd);
    command
}

pub fn prompt_line(text: &str) -> serde_json::Value {
    json!({"type":"user","uuid":"u","timestamp":"2026-01-01T00:00:00.000Z","promptId":"p","message":{"role":"user","content":text}})
}

/// A Bash call and its result, the output `output` long.
pub fn call_lines(n: usize, output: &str) -> [serde_json::Value; 2] {
    let id = format!("toolu_bench_{n}");
    [
        json!({"type":"assistant","uuid":format!("a{n}"),"timestamp":"2026-01-01T00:00:00.000Z","message":{"id":format!("m{n}"),"role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":id,"name":"Bash","input":{"command":format!("echo {n}"),"description":"Echo"}}]}}),
        json!({"type":"user","uuid":format!("r{n}"),"timestamp":"2026-01-01T00:00:00.000Z","message":{"role":"user","content":[{"tool_use_id":id,"type":"tool_result","content":output,"is_error":false}]},"toolUseResult":{"stdout":output,"stderr":""}}),
    ]
}

pub fn text_line(n: usize) -> serde_json::Value {
    json!({"type":"assistant","uuid":format!("t{n}"),"timestamp":"2026-01-01T00:00:00.000Z","message":{"id":format!("m{n}"),"role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":format!("Step {n}: running the next command.")}]}})
}

pub struct Figures {
    pub median: Duration,
    pub p90: Duration,
}

pub fn figures(mut samples: Vec<Duration>) -> Figures {
    samples.sort();
    Figures {
        median: samples[samples.len() / 2],
        p90: samples[samples.len() * 9 / 10],
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Bytes of every file under `dir`.
pub fn bytes_under(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                bytes_under(&path)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}
