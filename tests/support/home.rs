//! The integration tests' environment: the built binary in a private HOME with a project in it,
//! and what it leaves there (the hook log, Codex rollouts, `status --json`).

use super::files::{self, BIN, RECORDED_HOME};
use serde_json::Value;
use session_sync::agents::claude;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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

    /// OpenCode's database in this home, with the tables mirrors write (as OpenCode creates
    /// them on its first start); its path.
    pub fn install_opencode_db(&self) -> PathBuf {
        let db = self.home.join(".local/share/opencode/opencode.db");
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(include_str!("../fixtures/opencode-schema.sql"))
            .unwrap();
        db
    }

    /// Runs a command that must succeed; the bytes it wrote (its `write` calls, read from
    /// `/proc/<pid>/io` before it is reaped).
    pub fn written_by(&self, args: &[&str]) -> u64 {
        let child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let written = super::written::written_by_ended(&child);
        let status = child.wait_with_output().unwrap().status;
        assert!(status.success(), "{args:?}: {status}");
        written
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
        self.settle();
        output
    }

    /// Waits for what hooks left to their children (an event waiting for the transcript,
    /// database rows): a child holds its session's lock until it is done.
    pub fn settle(&self) {
        files::settle(&self.data);
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

    /// What `status`, `status --json`, `list` and `list --json` print (with exit status and
    /// stderr) from the listings index, checked against what they print once it is deleted:
    /// read from the states themselves, as before there was an index, and rebuilt.
    pub fn listings(&self) -> Vec<String> {
        let read = || {
            ["status", "status --json", "list", "list --json"].map(|args| {
                let args: Vec<&str> = args.split(' ').collect();
                let out = self.run(&args);
                format!("{:?}\n{}{}", out.status.code(), stdout(&out), stderr(&out))
            })
        };
        let from_index = read();
        let _ = std::fs::remove_file(self.data.join("listing.jsonl"));
        let from_states = read();
        for (index, states) in from_index.iter().zip(&from_states) {
            assert_eq!(
                index, states,
                "the listings index says otherwise than the states"
            );
        }
        from_index.into()
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

/// A command's stdout, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The stdout of a command that must succeed; else a failure with its exit status and both
/// streams.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
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
    files::files_under(&codex_home.join("sessions"))
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

/// One Codex rollout line (`kind` with `payload`), as Codex writes it.
pub fn codex_line(kind: &str, payload: Value) -> String {
    serde_json::json!({ "timestamp": "2025-01-15T10:00:00.000Z", "type": kind, "payload": payload })
        .to_string()
        + "\n"
}

/// Codex's rollout of session `id` under `env`'s CODEX_HOME, holding `lines`.
pub fn write_rollout(env: &Env, id: &str, lines: &[String]) -> PathBuf {
    let dir = env.codex_home.join("sessions/2025/01/15");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("rollout-2025-01-15T10-00-00-{id}.jsonl"));
    std::fs::write(&path, lines.concat()).unwrap();
    path
}
