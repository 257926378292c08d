//! Backfill speed and bytes: `session-sync mirror` of a generated Claude Code transcript (a
//! session that ran before `init`), into Codex alone and into all six targets, each run on
//! fresh stores; next to parsing the same transcript's lines (serde_json, in this process,
//! and Python's `json.loads` when `python3` is there). Prints medians, p90, ratios, peak
//! memory, and the bytes each run wrote (its `write` calls, from `/proc/<pid>/io`) per
//! transcript byte and per byte of the mirrors themselves; then each other target alone,
//! against Codex alone (what each costs on top of what every run shares); and the Codex
//! mirror handed over (`mirror --from codex`) into Claude Code, and into every other agent.
//!
//! `cargo bench --bench backfill` (options: `-- --runs N --mb N`). Never fails on timing.

mod common;
#[path = "../tests/support/written.rs"]
mod written;

use common::{BIN, Home, SESSION, Targets, call_lines, figures, ms, prompt_line, text_line};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one `mirror` run cost.
struct Run {
    wall: Duration,
    /// Bytes passed to `write` and friends.
    written: u64,
    /// Peak resident memory, KiB.
    peak_kib: u64,
}

/// The targets besides Codex, by their configuration names.
const OTHER_TARGETS: [&str; 5] = ["gemini", "qwen", "copilot", "opencode", "openai-chat"];

/// Every agent a Codex session can be handed to.
const HAND_OFF_TARGETS: [&str; 6] = [
    "claude",
    "gemini",
    "qwen",
    "copilot",
    "opencode",
    "openai-chat",
];

/// Stands for the project's directory in the generated transcript.
const CWD: &str = "/CWD-OF-THE-PROJECT";

/// A transcript of about `mb` MB: turns of a prompt, then texts and shell calls with 4 KiB
/// outputs.
fn write_transcript(path: &Path, mb: usize) -> u64 {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let output = "x".repeat(4 << 10);
    let mut written = 0u64;
    let mut n = 0;
    while written < (mb as u64) << 20 {
        let mut lines = Vec::new();
        if n % 20 == 0 {
            lines.push(prompt_line(&format!("Turn {n}: go on.")));
        }
        lines.push(text_line(n));
        lines.extend(call_lines(n, &output));
        for mut line in lines {
            line["sessionId"] = SESSION.into();
            line["cwd"] = CWD.into();
            let text = line.to_string();
            written += text.len() as u64 + 1;
            writeln!(file, "{text}").unwrap();
        }
        n += 1;
    }
    file.flush().unwrap();
    written
}

/// Runs `command` to its end; reads its I/O and memory figures before reaping it.
fn measured(mut command: Command) -> Run {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let written = written::written_by_ended(&child);
    let wall = started.elapsed();
    let pid = child.id() as libc::pid_t;
    // SAFETY: reaps our own child, filling structs we own; its rusage is its own peak memory.
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert!(
        reaped == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "mirror failed"
    );
    drop(child);
    Run {
        wall,
        written,
        peak_kib: usage.ru_maxrss as u64,
    }
}

/// `mirror` of the transcript into `targets`, on a fresh home: its cost, the bytes of the
/// mirrors it wrote, and the home.
fn backfill(targets: Targets, transcript: &Path) -> (Run, u64, Home) {
    let home = Home::new(targets);
    // Line by line: the child's peak memory counts this process's at the spawn.
    let project = home.project.to_str().unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&home.transcript).unwrap());
    for line in std::io::BufReader::new(std::fs::File::open(transcript).unwrap()).lines() {
        writeln!(out, "{}", line.unwrap().replace(CWD, project)).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let mut command = home.command(BIN);
    command.args(["mirror", SESSION]);
    let run = measured(command);
    let stores = [
        ".codex/sessions",
        ".gemini",
        ".copilot",
        ".qwen",
        ".local/share/opencode",
    ];
    let mirrors = stores
        .iter()
        .map(|s| common::bytes_under(&home.home.join(s)))
        .sum::<u64>()
        + common::bytes_under(&home.data.join("openai-chat"));
    (run, mirrors, home)
}

/// `mirror --from codex` of the Codex mirror a backfill left in `home` into `to`.
fn hand_off(home: &Home, to: &str) -> Run {
    let mut command = home.command(BIN);
    command.args(["mirror", "--from", "codex", "--last", "--to", to]);
    measured(command)
}

fn parse_in_process(transcript: &Path) -> Duration {
    let started = Instant::now();
    let text = std::fs::read_to_string(transcript).unwrap();
    let parsed = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .count();
    assert!(parsed > 0);
    started.elapsed()
}

fn parse_in_python(transcript: &Path) -> Option<Duration> {
    let started = Instant::now();
    let status = Command::new("python3")
        .args([
            "-c",
            "import json,sys\nfor line in open(sys.argv[1]): json.loads(line)",
        ])
        .arg(transcript)
        .status()
        .ok()?;
    status.success().then(|| started.elapsed())
}

fn main() {
    let runs = common::arg("--runs", 5);
    let mb = common::arg("--mb", 32);
    let scratch = tempfile::tempdir().unwrap();
    let transcript = scratch.path().join("transcript.jsonl");
    let size = write_transcript(&transcript, mb);

    let (mut rust, mut python) = (Vec::new(), Vec::new());
    let mut codex: Vec<(Run, u64)> = Vec::new();
    let mut all: Vec<(Run, u64)> = Vec::new();
    let mut alone: Vec<(&str, Vec<Duration>)> =
        OTHER_TARGETS.iter().map(|t| (*t, Vec::new())).collect();
    let (mut to_claude, mut to_all): (Vec<Run>, Vec<Run>) = (Vec::new(), Vec::new());
    let mut rollout = 0;
    for _ in 0..runs {
        rust.push(parse_in_process(&transcript));
        python.extend(parse_in_python(&transcript));
        let (run, mirrors, home) = backfill(Targets::Codex, &transcript);
        codex.push((run, mirrors));
        rollout = common::bytes_under(&home.home.join(".codex/sessions"));
        to_claude.push(hand_off(&home, "claude"));
        let (run, mirrors, home) = backfill(Targets::All, &transcript);
        all.push((run, mirrors));
        to_all.push(hand_off(&home, &HAND_OFF_TARGETS.join(",")));
        for (target, samples) in &mut alone {
            samples.push(backfill(Targets::Alone(target), &transcript).0.wall);
        }
    }

    println!(
        "session-sync backfill benchmark: `mirror` of a {:.1} MB transcript, {runs} runs each, interleaved",
        size as f64 / 1e6
    );
    println!(
        "{:<38} {:>10} {:>10} {:>14} {:>10}",
        "", "median", "p90", "vs serde_json", "vs Python"
    );
    let base = figures(rust.clone()).median;
    let py = (!python.is_empty()).then(|| figures(python.clone()).median);
    let ratio = |d: Duration, to: Option<Duration>| {
        to.map_or("-".to_owned(), |to| {
            format!("{:.2}x", d.as_secs_f64() / to.as_secs_f64())
        })
    };
    let row = |label: &str, samples: Vec<Duration>| {
        let f = figures(samples);
        println!(
            "{label:<38} {:>10} {:>10} {:>14} {:>10}",
            ms(f.median),
            ms(f.p90),
            ratio(f.median, Some(base)),
            ratio(f.median, py)
        );
        f.median
    };
    row("parse every line (serde_json)", rust);
    if !python.is_empty() {
        row("parse every line (Python json.loads)", python);
    }
    let codex_median = row("mirror, Codex", codex.iter().map(|(r, _)| r.wall).collect());
    let all_median = row(
        "mirror, all 6 targets",
        all.iter().map(|(r, _)| r.wall).collect(),
    );
    println!(
        "all 6 targets / Codex alone: {:.2}x",
        all_median.as_secs_f64() / codex_median.as_secs_f64()
    );
    let each: Vec<String> = alone
        .into_iter()
        .map(|(target, samples)| {
            let median = figures(samples).median;
            format!(
                "{target} {} ({:.2}x)",
                ms(median),
                median.as_secs_f64() / codex_median.as_secs_f64()
            )
        })
        .collect();
    println!(
        "other targets alone, against Codex alone: {}",
        each.join(", ")
    );
    // Another input (the rollout), so no ratio to the parses of the transcript.
    println!(
        "`mirror --from codex` of the Codex mirror ({:.1} MB), into:",
        rollout as f64 / 1e6
    );
    for (label, samples) in [("Claude Code", to_claude), ("the 6 others", to_all)] {
        let peak = samples[samples.len() / 2].peak_kib;
        let f = figures(samples.iter().map(|run| run.wall).collect());
        println!(
            "  {label:<36} {:>10} {:>10}   peak memory {:.0} MB",
            ms(f.median),
            ms(f.p90),
            peak as f64 / 1024.0
        );
    }
    for (label, samples) in [("Codex", &codex), ("all 6 targets", &all)] {
        let (run, mirrors) = &samples[samples.len() / 2];
        println!(
            "{label}: wrote {:.1} MB ({:.2}x the transcript, {:.2}x the mirrors' {:.1} MB); peak memory {:.0} MB",
            run.written as f64 / 1e6,
            run.written as f64 / size as f64,
            run.written as f64 / *mirrors as f64,
            *mirrors as f64 / 1e6,
            run.peak_kib as f64 / 1024.0
        );
    }
}
