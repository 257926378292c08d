//! Listing speed: `session-sync status` (in a project of 10 sessions), `session-sync list` (the
//! 20 most recently synced) and `list --all` on data directories with 50 and with 5,000 mirrored sessions (10 per project), next to
//! spawning a trivial process in the same run; then the one-time rebuild of the listings index
//! from the 5,000 states (what every listing cost before there was an index).
//!
//! The index is as its first listing built it: sorted by project, and counted against the
//! sessions directory, so `status` reads only its project's lines and should cost the same at
//! 50 and at 5,000 sessions (flatness near 1); so should `list`, which reads only the 20
//! lines it shows, where the index's header points; `list --all` parses and prints every
//! session.
//!
//! The sessions are one real session, mirrored to all six targets by the release binary's
//! hook, whose state is copied under 5,000 keys with their own ids, paths, titles and times.
//!
//! `cargo bench --bench listing` (options: `-- --runs N`). Prints medians, p90 and ratios;
//! never fails on timing.

mod common;

use common::{BIN, Figures, Home, SESSION, Targets, call_lines, figures, ms, prompt_line};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SESSIONS_PER_PROJECT: usize = 10;

struct Bench {
    _root: tempfile::TempDir,
    home: PathBuf,
    data: PathBuf,
    /// The project `status` runs in.
    project: PathBuf,
}

impl Bench {
    /// A data directory with `sessions` copies of `template` (a real state), in projects of
    /// ten; the first project is set up with `init`.
    fn new(sessions: usize, template: &Value) -> Self {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let data = root.path().join("data");
        let project = project_dir(&home, 0);
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(home.join(".codex")).unwrap();
        std::fs::create_dir_all(home.join(".gemini")).unwrap();
        let bench = Bench {
            _root: root,
            home,
            data,
            project,
        };
        bench.run(&["init"]);
        for n in 0..sessions {
            bench.write_state(n, template);
        }
        // The first listing builds the index; the ones measured read it.
        bench.run(&["list"]);
        bench
    }

    fn write_state(&self, n: usize, template: &Value) {
        let key = format!("5e55104e-0000-4000-8000-{n:012}");
        let project = project_dir(&self.home, n / SESSIONS_PER_PROJECT);
        let mut state = template.clone();
        let time = format!(
            "2026-11-{:02}T{:02}:{:02}:00.000Z",
            1 + n % 28,
            n % 24,
            n % 60
        );
        state["claude_session_id"] = json!(key);
        state["cwd"] = json!(project);
        state["project"] = json!(project);
        state["transcript_path"] = json!(
            self.home
                .join(".claude/projects")
                .join(project.to_string_lossy().replace('/', "-"))
                .join(format!("{key}.jsonl"))
        );
        state["title"] = json!(format!("Task number {n}: make the listing fast"));
        state["last_sync"] = json!(time);
        for (target, mirror) in state["mirrors"].as_object_mut().unwrap() {
            let id = format!("{target}-0000-{n:012}");
            mirror["id"] = json!(id);
            mirror["path"] = json!(self.home.join(format!(".{target}/sessions/{id}.jsonl")));
            mirror["last_sync"] = json!(time);
        }
        let dir = self.data.join("sessions").join(&key);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.jsonl"), format!("{state}\n")).unwrap();
    }

    fn command(&self, program: &str) -> Command {
        common::command_in(program, &self.home, &self.data, &self.project)
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.command(BIN).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wall time of one process, its output read as a terminal would (to the end).
    fn time(&self, program: &str, args: &[&str]) -> Duration {
        let started = Instant::now();
        let status = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        let elapsed = started.elapsed();
        assert!(status.success(), "{program} {args:?} failed");
        elapsed
    }
}

fn project_dir(home: &Path, n: usize) -> PathBuf {
    home.join(format!("work/project-{n}"))
}

/// One real session: a prompt and 20 shell calls mirrored by the hook to all six targets; its
/// saved state.
fn template() -> Value {
    let home = Home::new(Targets::All);
    let mut lines = vec![prompt_line("Make the listing fast.")];
    for n in 0..20 {
        lines.extend(call_lines(n, &n.to_string()));
    }
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&home.transcript, text).unwrap();
    let payload = json!({"session_id": SESSION, "transcript_path": home.transcript,
        "cwd": home.project, "hook_event_name": "SessionEnd", "reason": "other"});
    let mut hook = home
        .command(BIN)
        .arg("hook")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(hook.stdin.take().unwrap(), "{payload}").unwrap();
    assert!(hook.wait().unwrap().success());
    home.settle();
    let state = home.data.join("sessions").join(SESSION).join("state.jsonl");
    let state = std::fs::read_to_string(state).unwrap();
    let state: Value = serde_json::from_str(state.lines().last().unwrap()).unwrap();
    assert_eq!(
        state["mirrors"].as_object().map_or(0, |m| m.len()),
        6,
        "the template session was not mirrored"
    );
    state
}

fn main() {
    let runs = common::arg("--runs", 200);
    let template = template();
    let sizes = [50usize, 5_000];
    let benches: Vec<Bench> = sizes.iter().map(|&n| Bench::new(n, &template)).collect();
    for (bench, &size) in benches.iter().zip(&sizes) {
        let listed = bench.run(&["status", "--json"]);
        let listed: Value = serde_json::from_str(&listed).unwrap();
        assert_eq!(
            listed["sessions"].as_array().unwrap().len(),
            SESSIONS_PER_PROJECT
        );
        let all: Value = serde_json::from_str(&bench.run(&["list", "--json"])).unwrap();
        assert_eq!(all["sessions"].as_array().unwrap().len(), size);
    }

    let mut baseline = Vec::new();
    let mut status = vec![Vec::new(); sizes.len()];
    let mut list = vec![Vec::new(); sizes.len()];
    let mut list_all = vec![Vec::new(); sizes.len()];
    for _ in 0..runs {
        baseline.push(benches[0].time("/bin/true", &[]));
        for (s, bench) in benches.iter().enumerate() {
            status[s].push(bench.time(BIN, &["status"]));
            list[s].push(bench.time(BIN, &["list"]));
            list_all[s].push(bench.time(BIN, &["list", "--all"]));
        }
    }
    // The index deleted: the next listing reads every state and writes the index again.
    let big = &benches[1];
    let rebuilds: Vec<Duration> = (0..runs.div_ceil(10).max(3))
        .map(|_| {
            std::fs::remove_file(big.data.join("listing.jsonl")).unwrap();
            big.time(BIN, &["status"])
        })
        .collect();

    let base = figures(baseline);
    println!("session-sync listing benchmark: {runs} runs each, interleaved, release binary");
    println!(
        "{:<46} {:>10} {:>10} {:>14}",
        "", "median", "p90", "median ratio"
    );
    let row = |label: String, f: &Figures| {
        println!(
            "{label:<46} {:>10} {:>10} {:>13.2}x",
            ms(f.median),
            ms(f.p90),
            f.median.as_secs_f64() / base.median.as_secs_f64()
        );
    };
    row("trivial process (/bin/true)".into(), &base);
    let mut medians = Vec::new();
    for (s, &size) in sizes.iter().enumerate() {
        let st = figures(std::mem::take(&mut status[s]));
        let li = figures(std::mem::take(&mut list[s]));
        let la = figures(std::mem::take(&mut list_all[s]));
        row(format!("status (10 of {size} sessions)"), &st);
        row(format!("list (20 newest of {size} sessions)"), &li);
        row(format!("list --all ({size} sessions)"), &la);
        medians.push((st.median, li.median, la.median));
    }
    row(
        format!("status, index rebuilt from {} states", sizes[1]),
        &figures(rebuilds),
    );
    let flat = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
    println!(
        "flatness, status: median at {} / median at {} = {:.2}x",
        sizes[1],
        sizes[0],
        flat(medians[0].0, medians[1].0)
    );
    println!(
        "flatness, list: median at {} / median at {} = {:.2}x",
        sizes[1],
        sizes[0],
        flat(medians[0].1, medians[1].1)
    );
    println!(
        "flatness, list --all: median at {} / median at {} = {:.2}x",
        sizes[1],
        sizes[0],
        flat(medians[0].2, medians[1].2)
    );
}
