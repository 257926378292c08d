//! Hook latency: the release binary run as Claude Code runs it after a tool call, on sessions
//! with 10 and with 10,000 prior exchanges, next to spawning a trivial process in the same run.
//!
//! `cargo bench --bench hook` (options: `-- --runs N`). Prints medians and ratios; never fails
//! on timing.

use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
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

impl Bench {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let project = home.join("project");
        let data = root.path().join("data");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(home.join(".codex")).unwrap();
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
fn session_with(prior: usize) -> Bench {
    let bench = Bench::new();
    let mut lines = vec![prompt_line("Benchmark this session.")];
    for n in 0..prior {
        lines.push(text_line(n));
        lines.extend(call_lines(n));
    }
    bench.append(&lines);
    let catch_up = bench.payload("SessionEnd", json!({"reason": "other"}));
    bench.time(BIN, &["hook"], &catch_up);
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
    let sizes = [10usize, 10_000];
    let sessions: Vec<Bench> = sizes.iter().map(|&n| session_with(n)).collect();
    let mut baseline = Vec::new();
    let mut hooks: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len()];
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
    }
    for bench in &sessions {
        let log = bench.data.join("logs/hook.log");
        if let Ok(text) = std::fs::read_to_string(&log) {
            eprintln!("warning: the hook logged errors during the benchmark:\n{text}");
        }
        assert_rollout_grew(&bench.home.join(".codex"));
    }

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
    for (size, samples) in sizes.iter().zip(hooks) {
        let f = figures(samples);
        let ratio = f.median.as_secs_f64() / base.median.as_secs_f64();
        println!(
            "{:<40} {:>10} {:>10} {:>15.2}x",
            format!("PostToolUse hook, {size} prior exchanges"),
            ms(f.median),
            ms(f.p90),
            ratio
        );
        medians.push(f.median);
    }
    println!(
        "flatness: median at {} / median at {} = {:.2}x",
        sizes[1],
        sizes[0],
        medians[1].as_secs_f64() / medians[0].as_secs_f64()
    );
}

fn assert_rollout_grew(codex_home: &Path) {
    let found = std::fs::read_dir(codex_home.join("sessions")).is_ok();
    assert!(found, "no rollout written: the benchmark measured nothing");
}
