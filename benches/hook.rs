//! Hook latency: the release binary run as Claude Code runs it after a tool call, on sessions
//! with 10 and with 10,000 prior exchanges, mirrored to Codex alone, to the five other
//! targets (Gemini CLI, OpenCode, Copilot CLI, Qwen Code, OpenAI-chat), and to all six, next
//! to spawning a trivial process in the same run. The listings index exists, as after any
//! `status`, so each hook keeps it current.
//!
//! `cargo bench --bench hook` (options: `-- --runs N`). Prints medians and ratios; never fails
//! on timing.

use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_session-sync");
const SESSION: &str = "0b5e55ed-0000-4000-8000-000000000000";

struct Bench {
    _root: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
    data: PathBuf,
    transcript: PathBuf,
}

/// The tables and columns of OpenCode's database that mirrors write (opencode.md §3).
const OPENCODE_SCHEMA: &str = include_str!("../tests/fixtures/opencode-schema.sql");

impl Bench {
    fn new(targets: Targets) -> Self {
        let every_target = targets != Targets::Codex;
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let project = home.join("project");
        let data = root.path().join("data");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(home.join(".codex")).unwrap();
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
        let bench = Bench {
            _root: root,
            home,
            project,
            data,
            transcript,
        };
        let out = bench.command(BIN).arg("init").output().unwrap();
        assert!(out.status.success(), "init failed");
        if every_target {
            let path = bench.project.join(".session-sync/config.json");
            let mut config: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for (name, target) in config["targets"].as_object_mut().unwrap() {
                target["enabled"] = (targets == Targets::All || name != "codex").into();
            }
            std::fs::write(&path, config.to_string()).unwrap();
        }
        bench
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", "/usr/bin:/bin")
            .env("SESSION_SYNC_DATA_DIR", &self.data)
            .env("CODEX_HOME", self.home.join(".codex"))
            .current_dir(&self.project);
        command
    }

    fn payload(&self, event: &str, extra: serde_json::Value) -> Vec<u8> {
        let mut payload = json!({
            "session_id": SESSION,
            "transcript_path": self.transcript,
            "cwd": self.project,
            "hook_event_name": event,
        });
        payload
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let mut bytes = serde_json::to_vec(&payload).unwrap();
        bytes.push(b'\n');
        bytes
    }

    /// Wall time of one process fed `stdin`, as Claude Code feeds its hooks.
    fn time(&self, program: &str, args: &[&str], stdin: &[u8]) -> Duration {
        let started = Instant::now();
        let mut child = self
            .command(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait().unwrap();
        started.elapsed()
    }

    fn append(&self, lines: &[serde_json::Value]) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.transcript)
            .unwrap();
        for line in lines {
            writeln!(file, "{line}").unwrap();
        }
    }
}

fn prompt_line(text: &str) -> serde_json::Value {
    json!({"type":"user","uuid":"u","timestamp":"2026-01-01T00:00:00.000Z","promptId":"p","message":{"role":"user","content":text}})
}

fn call_lines(n: usize) -> [serde_json::Value; 2] {
    let id = format!("toolu_bench_{n}");
    [
        json!({"type":"assistant","uuid":format!("a{n}"),"timestamp":"2026-01-01T00:00:00.000Z","message":{"id":format!("m{n}"),"role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":id,"name":"Bash","input":{"command":format!("echo {n}"),"description":"Echo"}}]}}),
        json!({"type":"user","uuid":format!("r{n}"),"timestamp":"2026-01-01T00:00:00.000Z","message":{"role":"user","content":[{"tool_use_id":id,"type":"tool_result","content":format!("{n}"),"is_error":false}]},"toolUseResult":{"stdout":format!("{n}"),"stderr":""}}),
    ]
}

fn text_line(n: usize) -> serde_json::Value {
    json!({"type":"assistant","uuid":format!("t{n}"),"timestamp":"2026-01-01T00:00:00.000Z","message":{"id":format!("m{n}"),"role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":format!("Step {n}: running the next command.")}]}})
}

/// A session already mirrored with `prior` exchanges (text, call, output each).
/// Which targets a benchmarked session mirrors to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Targets {
    Codex,
    /// Gemini CLI, OpenCode, Copilot CLI, Qwen Code and OpenAI-chat.
    Five,
    All,
}

impl Targets {
    fn label(self) -> &'static str {
        match self {
            Targets::Codex => "Codex",
            Targets::Five => "5 other targets",
            Targets::All => "all 6 targets",
        }
    }
}

fn session_with(prior: usize, targets: Targets) -> Bench {
    let bench = Bench::new(targets);
    let mut lines = vec![prompt_line("Benchmark this session.")];
    for n in 0..prior {
        lines.push(text_line(n));
        lines.extend(call_lines(n));
    }
    bench.append(&lines);
    let catch_up = bench.payload("SessionEnd", json!({"reason": "other"}));
    bench.time(BIN, &["hook"], &catch_up);
    // The listings index is there, as after any `status`: each hook measured appends to it.
    bench.time(BIN, &["list"], &[]);
    assert!(
        bench.data.join("listing.jsonl").exists(),
        "no listings index"
    );
    bench
}

struct Figures {
    median: Duration,
    p90: Duration,
}

fn figures(mut samples: Vec<Duration>) -> Figures {
    samples.sort();
    Figures {
        median: samples[samples.len() / 2],
        p90: samples[samples.len() * 9 / 10],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    // (prior exchanges, targets)
    let cases = [
        (10usize, Targets::Codex),
        (10_000, Targets::Codex),
        (10, Targets::Five),
        (10_000, Targets::Five),
        (10, Targets::All),
        (10_000, Targets::All),
    ];
    let sessions: Vec<Bench> = cases
        .iter()
        .map(|&(n, targets)| session_with(n, targets))
        .collect();
    // Claude Code has not flushed the call (or the final answer) yet when its hook runs.
    let unflushed = session_with(10, Targets::Codex);
    let mut unflushed_call = Vec::new();
    let mut unflushed_stop = Vec::new();
    let mut baseline = Vec::new();
    let mut hooks: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    let trivial_stdin = sessions[0].payload("PostToolUse", json!({}));
    for run in 0..runs {
        baseline.push(sessions[0].time("/bin/true", &[], &trivial_stdin));
        for (s, bench) in sessions.iter().enumerate() {
            let n = 1_000_000 + run;
            let [call, result] = call_lines(n);
            // Claude Code has flushed the tool_use; the result comes after the hook returns.
            bench.append(&[text_line(n), call]);
            let payload = bench.payload("PostToolUse", json!({
                "tool_name": "Bash",
                "tool_input": {"command": format!("echo {n}"), "description": "Echo"},
                "tool_response": {"stdout": format!("{n}"), "stderr": "", "interrupted": false, "isImage": false, "noOutputExpected": false},
                "tool_use_id": format!("toolu_bench_{n}"),
                "duration_ms": 5,
            }));
            hooks[s].push(bench.time(BIN, &["hook"], &payload));
            bench.append(&[result]);
        }
        let n = 2_000_000 + run;
        let [call, result] = call_lines(n);
        let payload = unflushed.payload("PostToolUse", json!({
            "tool_name": "Bash",
            "tool_input": {"command": format!("echo {n}"), "description": "Echo"},
            "tool_response": {"stdout": format!("{n}"), "stderr": "", "interrupted": false, "isImage": false, "noOutputExpected": false},
            "tool_use_id": format!("toolu_bench_{n}"),
            "duration_ms": 5,
        }));
        unflushed_call.push(unflushed.time(BIN, &["hook"], &payload));
        // The flush comes after the hook returned; the hook's child writes the call then.
        unflushed.append(&[text_line(n), call, result]);
        settle(&unflushed);
        let answer = text_line(3_000_000 + run);
        let text = answer["message"]["content"][0]["text"].clone();
        let stop = unflushed.payload("Stop", json!({ "last_assistant_message": text }));
        unflushed_stop.push(unflushed.time(BIN, &["hook"], &stop));
        unflushed.append(&[answer]);
        settle(&unflushed);
    }
    for bench in &sessions {
        let log = bench.data.join("logs/hook.log");
        if let Ok(text) = std::fs::read_to_string(&log) {
            eprintln!("warning: the hook logged errors during the benchmark:\n{text}");
        }
        assert_mirrored(bench);
    }

    assert_mirrored(&unflushed);

    let base = figures(baseline);
    println!("session-sync hook benchmark: {runs} runs each, interleaved, release binary");
    println!(
        "{:<40} {:>10} {:>10} {:>16}",
        "", "median", "p90", "median ratio"
    );
    println!(
        "{:<40} {:>10} {:>10} {:>16}",
        "trivial process (/bin/true)",
        ms(base.median),
        ms(base.p90),
        "1.00x"
    );
    let mut medians = Vec::new();
    for (label, samples) in [
        ("PostToolUse, Codex, call not yet flushed", unflushed_call),
        ("Stop, Codex, answer not yet flushed", unflushed_stop),
    ] {
        let f = figures(samples);
        println!(
            "{label:<40} {:>10} {:>10} {:>15.2}x",
            ms(f.median),
            ms(f.p90),
            f.median.as_secs_f64() / base.median.as_secs_f64()
        );
    }
    for (&(size, targets), samples) in cases.iter().zip(hooks) {
        let f = figures(samples);
        let ratio = f.median.as_secs_f64() / base.median.as_secs_f64();
        let targets = targets.label();
        println!(
            "{:<40} {:>10} {:>10} {:>15.2}x",
            format!("PostToolUse, {targets}, {size} prior"),
            ms(f.median),
            ms(f.p90),
            ratio
        );
        medians.push(f.median);
    }
    for pair in [0, 2, 4] {
        let targets = cases[pair].1.label();
        println!(
            "flatness, {targets}: median at {} / median at {} = {:.2}x",
            cases[pair + 1].0,
            cases[pair].0,
            medians[pair + 1].as_secs_f64() / medians[pair].as_secs_f64()
        );
    }
}

/// Waits for the hook's child, which holds the session lock until the event is mirrored.
fn settle(bench: &Bench) {
    let lock = std::fs::File::open(bench.data.join("sessions").join(SESSION).join("lock")).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();
}

/// The hooks measured wrote mirrors (a broken setup would measure an early exit).
fn assert_mirrored(bench: &Bench) {
    let session = bench.data.join("sessions").join(SESSION);
    // Database rows are written behind the hook, under the session lock.
    let lock = std::fs::File::open(session.join("lock")).unwrap();
    fs2::FileExt::lock_exclusive(&lock).unwrap();
    let state = session.join("state.jsonl");
    let text = std::fs::read_to_string(state).unwrap_or_default();
    let last: serde_json::Value =
        serde_json::from_str(text.lines().last().unwrap_or("{}")).unwrap_or_default();
    let mirrors = last["mirrors"].as_object().map_or(0, |m| m.len());
    assert!(
        mirrors > 0,
        "no mirror written: the benchmark measured nothing"
    );
    // A file mirror's last append stays listed until the next hook checks it by size; a
    // database mirror's rows must be written by the time the lock is free.
    let pending: Vec<&String> = last["mirrors"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, m)| m.get("pending").is_some() && m["kind"] == "opencode_db")
        .map(|(name, _)| name)
        .collect();
    assert!(pending.is_empty(), "rows left pending: {pending:?}");
}
