//! Hook latency: the release binary run as Claude Code runs it after a tool call, on sessions
//! with 10 and with 10,000 prior exchanges, mirrored to Codex alone, to the five other
//! targets (Gemini CLI, OpenCode, Copilot CLI, Qwen Code, OpenAI-chat), and to all six, next
//! to spawning a trivial process in the same run. The listings index exists, as after any
//! `status`, so each hook keeps it current.
//!
//! `cargo bench --bench hook` (options: `-- --runs N`). Prints medians, p90 and ratios, and
//! how soon after a hook started its child had the call in every mirror; never fails on
//! timing.

mod common;

use common::{BIN, Home, SESSION, Targets, call_lines, figures, ms, prompt_line, text_line};
use serde_json::json;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A session benchmarked: its home, and payloads as Claude Code sends them.
struct Bench {
    home: Home,
}

impl Bench {
    fn new(targets: Targets) -> Self {
        Bench {
            home: Home::new(targets),
        }
    }

    fn payload(&self, event: &str, extra: serde_json::Value) -> Vec<u8> {
        let mut payload = json!({
            "session_id": SESSION,
            "transcript_path": self.home.transcript,
            "cwd": self.home.project,
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

    /// A PostToolUse payload for call `n` (`call_lines(n, …)`).
    fn post_tool_use(&self, n: usize) -> Vec<u8> {
        self.payload(
            "PostToolUse",
            json!({
                "tool_name": "Bash",
                "tool_input": {"command": format!("echo {n}"), "description": "Echo"},
                "tool_response": {"stdout": format!("{n}"), "stderr": "", "interrupted": false, "isImage": false, "noOutputExpected": false},
                "tool_use_id": format!("toolu_bench_{n}"),
                "duration_ms": 5,
            }),
        )
    }

    /// Wall time of one process fed `stdin`, as Claude Code feeds its hooks.
    fn time(&self, program: &str, args: &[&str], stdin: &[u8]) -> Duration {
        let started = Instant::now();
        let mut child = self
            .home
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
            .open(&self.home.transcript)
            .unwrap();
        for line in lines {
            writeln!(file, "{line}").unwrap();
        }
    }
}

/// A session already mirrored with `prior` exchanges (text, call, output each).
fn session_with(prior: usize, targets: Targets) -> Bench {
    let bench = Bench::new(targets);
    let mut lines = vec![prompt_line("Benchmark this session.")];
    for n in 0..prior {
        lines.push(text_line(n));
        lines.extend(call_lines(n, &n.to_string()));
    }
    bench.append(&lines);
    let catch_up = bench.payload("SessionEnd", json!({"reason": "other"}));
    bench.time(BIN, &["hook"], &catch_up);
    // The listings index is there, as after any `status`: each hook measured appends to it.
    bench.time(BIN, &["list"], &[]);
    assert!(
        bench.home.data.join("listing.jsonl").exists(),
        "no listings index"
    );
    bench
}

fn main() {
    let runs = common::arg("--runs", 300);
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
    let mut unflushed_parallel = Vec::new();
    let mut unflushed_mirrored = Vec::new();
    let mut baseline = Vec::new();
    let mut hooks: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    let mut mirrored: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    let trivial_stdin = sessions[0].payload("PostToolUse", json!({}));
    for run in 0..runs {
        baseline.push(sessions[0].time("/bin/true", &[], &trivial_stdin));
        for (s, bench) in sessions.iter().enumerate() {
            let n = 1_000_000 + run;
            let [call, result] = call_lines(n, &n.to_string());
            // Claude Code has flushed the tool_use; the result comes after the hook returns.
            bench.append(&[text_line(n), call]);
            let payload = bench.post_tool_use(n);
            let started = Instant::now();
            hooks[s].push(bench.time(BIN, &["hook"], &payload));
            // The hook's child holds the session lock until the call is in every mirror.
            bench.home.settle();
            mirrored[s].push(started.elapsed());
            bench.append(&[result]);
        }
        let n = 2_000_000 + run;
        let [call, result] = call_lines(n, &n.to_string());
        let started = Instant::now();
        unflushed_call.push(unflushed.time(BIN, &["hook"], &unflushed.post_tool_use(n)));
        // A parallel call's hook while the first one's child waits for the flush.
        let parallel = n + 500_000;
        let [parallel_call, parallel_result] = call_lines(parallel, &parallel.to_string());
        let payload = unflushed.post_tool_use(parallel);
        unflushed_parallel.push(unflushed.time(BIN, &["hook"], &payload));
        // The flush comes after the hooks returned; their children write the calls then.
        unflushed.append(&[text_line(n), call, parallel_call, result, parallel_result]);
        unflushed.home.settle();
        unflushed_mirrored.push(started.elapsed());
        let answer = text_line(3_000_000 + run);
        let text = answer["message"]["content"][0]["text"].clone();
        let stop = unflushed.payload("Stop", json!({ "last_assistant_message": text }));
        unflushed_stop.push(unflushed.time(BIN, &["hook"], &stop));
        unflushed.append(&[answer]);
        unflushed.home.settle();
    }
    for bench in &sessions {
        let log = bench.home.data.join("logs/hook.log");
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
        ("the same, a parallel call meanwhile", unflushed_parallel),
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
    println!("time from the hook's start until its child has the call in every mirror:");
    let flushed_later = (
        "two parallel calls, flushed on return".to_owned(),
        unflushed_mirrored,
    );
    let cases_mirrored = cases
        .iter()
        .zip(mirrored)
        .map(|(&(size, targets), samples)| (format!("{}, {size} prior", targets.label()), samples));
    for (label, samples) in std::iter::once(flushed_later).chain(cases_mirrored) {
        let f = figures(samples);
        println!("{label:<40} {:>10} {:>10}", ms(f.median), ms(f.p90));
    }
}

/// The hooks measured wrote mirrors (a broken setup would measure an early exit).
fn assert_mirrored(bench: &Bench) {
    let session = bench.home.data.join("sessions").join(SESSION);
    bench.home.settle();
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
