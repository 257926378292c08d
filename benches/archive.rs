//! Archive speed: 2,000 generated Claude Code sessions (20 projects, 5 turns each with a shell
//! call) archived into a new repository with `--commit`, then a run with nothing new, a run
//! without the local "seen" cache (every session read and its chain compared), and a run after
//! one session grew.
//!
//! Every run but the first without `--commit` commits.
//!
//! `cargo bench --bench archive` (options: `-- --runs N --sessions N`). Prints medians; never
//! fails on timing.

mod common;

use common::{BIN, arg, bytes_under, figures, ms};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Bench {
    root: tempfile::TempDir,
    home: PathBuf,
}

impl Bench {
    fn new(sessions: usize) -> Self {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        for s in 0..sessions {
            let project = home.join(format!("work/project-{}", s % 20));
            let folder = project.to_string_lossy().replace(['/', '.'], "-");
            let dir = home.join(".claude/projects").join(folder);
            std::fs::create_dir_all(&dir).unwrap();
            let id = format!("0b5e55ed-0000-4000-8000-{s:012}");
            std::fs::write(
                dir.join(format!("{id}.jsonl")),
                transcript(&id, &project, s, 5),
            )
            .unwrap();
        }
        Bench { root, home }
    }

    fn repo(&self) -> PathBuf {
        self.root.path().join("archive")
    }

    fn archive(&self, commit: bool) -> Duration {
        let started = Instant::now();
        let out = Command::new(BIN)
            .args(["archive", self.repo().to_str().unwrap()])
            .args(commit.then_some("--commit"))
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", "/usr/bin:/bin")
            .env("SESSION_SYNC_DATA_DIR", self.root.path().join("data"))
            .env("CODEX_HOME", self.home.join(".codex"))
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        elapsed
    }

    fn reset(&self) {
        let _ = std::fs::remove_dir_all(self.repo());
        let _ = std::fs::remove_dir_all(self.root.path().join("data"));
    }
}

fn transcript(id: &str, project: &Path, s: usize, turns: usize) -> String {
    let cwd = project.to_str().unwrap();
    let mut lines = Vec::new();
    let minute = s % 60;
    for t in 0..turns {
        let time = format!("2026-03-{:02}T10:{minute:02}:{:02}.000Z", 1 + s % 28, t * 5);
        let line = |kind: &str, uuid: String, content: serde_json::Value| {
            json!({"type": kind, "uuid": uuid, "sessionId": id, "cwd": cwd, "timestamp": time,
                   "message": {"role": kind, "model": "m", "content": content}})
            .to_string()
        };
        lines.push(line(
            "user",
            format!("{id}-{t}-p"),
            json!(format!(
                "Session {s} turn {t}: look at the build and fix what fails"
            )),
        ));
        lines.push(line("assistant", format!("{id}-{t}-a"), json!([
            {"type": "text", "text": "Let me run the tests first."},
            {"type": "tool_use", "id": format!("toolu_{s}_{t}"), "name": "Bash", "input": {"command": "cargo test", "description": "Run tests"}}
        ])));
        let output: String = (0..30).map(|i| format!("test case_{i} ... ok\n")).collect();
        lines.push(line(
            "user",
            format!("{id}-{t}-r"),
            json!([
                {"type": "tool_result", "tool_use_id": format!("toolu_{s}_{t}"), "content": output}
            ]),
        ));
        lines.push(line(
            "assistant",
            format!("{id}-{t}-b"),
            json!([
                {"type": "text", "text": "All tests pass; the build is fine now."}
            ]),
        ));
    }
    lines.join("\n") + "\n"
}

fn median(times: Vec<Duration>) -> Duration {
    figures(times).median
}

fn main() {
    let runs = arg("--runs", 3);
    let sessions = arg("--sessions", 2000);
    let bench = Bench::new(sessions);
    let (mut uncommitted, mut first, mut unchanged, mut uncached, mut grown) =
        (vec![], vec![], vec![], vec![], vec![]);
    let grow = bench
        .home
        .join(".claude/projects")
        .join(
            bench
                .home
                .join("work/project-0")
                .to_string_lossy()
                .replace(['/', '.'], "-"),
        )
        .join("0b5e55ed-0000-4000-8000-000000000000.jsonl");
    for run in 0..runs {
        bench.reset();
        uncommitted.push(bench.archive(false));
        bench.reset();
        first.push(bench.archive(true));
        unchanged.push(bench.archive(true));
        std::fs::remove_dir_all(bench.root.path().join("data/archive")).unwrap();
        uncached.push(bench.archive(true));
        let more = transcript(
            "0b5e55ed-0000-4000-8000-000000000000",
            &bench.home.join("work/project-0"),
            0,
            6 + run,
        );
        std::fs::write(&grow, more).unwrap();
        grown.push(bench.archive(true));
    }
    let bytes: u64 = bytes_under(&bench.repo().join("history"));
    println!(
        "archive of {sessions} sessions ({runs} runs, medians; archive {:.1} MB):",
        bytes as f64 / 1e6
    );
    println!(
        "  first run without --commit (render, write):  {}",
        ms(median(uncommitted))
    );
    println!(
        "  first run (render, write, git add + commit): {}",
        ms(median(first))
    );
    println!(
        "  nothing new:                                 {}",
        ms(median(unchanged))
    );
    println!(
        "  nothing new, without the local seen cache:   {}",
        ms(median(uncached))
    );
    println!(
        "  one session grew (re-render it, commit):     {}",
        ms(median(grown))
    );
}
