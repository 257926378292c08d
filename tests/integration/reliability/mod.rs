//! Reliability: the hook keeps its contract (exit 0, not a byte of output, problems only in the
//! hook log) and the mirror stays exact under fuzzed input, 32 concurrent hooks, SIGKILL at
//! random points, write faults, hostile ids and planted symlinks. What each test does and the
//! figures measured: docs/reliability.md. One module per section; the helpers they share are here.

mod bounded;
mod crash;
mod faults;
mod fuzz;
mod hostile;
mod stress;

use crate::support::home::{Env, assert_silent_success, ok, parse_rollout, rollouts_in};
use crate::support::recording::Recording;
use crate::support::said::{Said, assert_same_conversation, assert_same_items, said};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A knob read from the environment, for the long runs (docs/reliability.md).
fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// SplitMix64. Every fuzz case derives from (seed, case number) alone, so a failure reproduces
/// from the two numbers its message prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Far above every wait the hook allows itself (5 s for stdin, 10 s for the lock, 1.5 s for the
/// transcript): only a hook that hangs reaches it.
const HANG: Duration = Duration::from_secs(60);

/// Runs `command` with `stdin`; `None` (the hook killed) if it has not returned within HANG.
fn run_bounded(mut command: Command, stdin: &[u8]) -> Option<Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let bytes = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = pipe.write_all(&bytes);
    });
    let pid = child.id() as libc::pid_t;
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = wait.recv_timeout(HANG).ok();
    if output.is_none() {
        // SAFETY: `pid` is our child, not reaped yet since its waiter has not returned.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    output.map(Result::unwrap)
}

/// Runs a hook through `command`; it must exit 0 without a byte of output. Then waits for the
/// hook's child, in whichever data directory the command's environment names.
fn hook_via(command: Command, payload: &[u8]) {
    let data_dirs = data_dirs_of(&command);
    let output = run_bounded(command, payload);
    assert_silent_success(&output.expect("the hook hung"));
    for data in data_dirs {
        crate::support::files::settle(&data);
    }
}

/// Where a hook run by `command` keeps its data: `SESSION_SYNC_DATA_DIR`, else under
/// `XDG_DATA_HOME` or `HOME`.
fn data_dirs_of(command: &Command) -> Vec<PathBuf> {
    let var = |name: &str| {
        command
            .get_envs()
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| value.map(PathBuf::from))
    };
    if let Some(data) = var("SESSION_SYNC_DATA_DIR") {
        return vec![data];
    }
    let xdg = var("XDG_DATA_HOME").map(|d| d.join("session-sync"));
    let home = var("HOME").map(|h| h.join(".local/share/session-sync"));
    xdg.into_iter().chain(home).collect()
}

/// Where the hook may write: our data directory and Codex's session store.
fn allowed(env: &Env) -> Vec<PathBuf> {
    vec![env.data.clone(), env.codex_home.join("sessions")]
}

/// Every path under `root` outside `allowed`, with what identifies a file's content (size,
/// mtime, mode). Directories count by existence only: their times change when an allowed
/// child appears.
fn outside(root: &Path, allowed: &[PathBuf]) -> BTreeMap<PathBuf, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if allowed.iter().any(|a| path.starts_with(a)) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.is_dir() {
                dirs.push(path.clone());
                "directory".to_owned()
            } else {
                format!(
                    "{:?}, {} bytes, mtime {}.{:09}, mode {:o}",
                    meta.file_type(),
                    meta.len(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    meta.mode()
                )
            };
            found.insert(path, what);
        }
    }
    found
}

fn assert_nothing_written_outside(
    before: &BTreeMap<PathBuf, String>,
    after: &BTreeMap<PathBuf, String>,
) {
    let changed: Vec<String> = before
        .keys()
        .chain(after.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|path| before.get(*path) != after.get(*path))
        .map(|path| {
            format!(
                "{}: {:?} -> {:?}",
                path.display(),
                before.get(path),
                after.get(path)
            )
        })
        .collect();
    assert!(
        changed.is_empty(),
        "written outside the data dir and Codex's sessions:\n{}",
        changed.join("\n")
    );
}

fn merge(into: &mut Value, fields: Value) {
    if let (Value::Object(into), Value::Object(fields)) = (into, fields) {
        into.extend(fields);
    }
}

/// One tool call: what the model asked, the tool's answer, and the text the model saw.
struct Call {
    id: String,
    name: &'static str,
    input: Value,
    response: Value,
    output: String,
}

impl Call {
    /// A Bash call shaped like the recorded ones; Codex's `exec_command` in the mirror.
    fn bash(id: String, stdout: String) -> Self {
        Call {
            input: json!({ "command": format!("printf {id}"), "description": "Print" }),
            response: json!({
                "stdout": stdout, "stderr": "", "interrupted": false,
                "isImage": false, "noOutputExpected": false,
            }),
            output: stdout,
            name: "Bash",
            id,
        }
    }

    /// A Read whose answer is the text itself: rendered verbatim and never cut by Claude
    /// Code's size limits, so a 200 KiB output is 200 KiB in the payload, the transcript and
    /// the mirror alike.
    fn read(id: String, text: String) -> Self {
        Call {
            input: json!({ "file_path": format!("/project/{id}.txt") }),
            response: Value::String(text.clone()),
            output: text,
            name: "Read",
            id,
        }
    }

    /// The call and its output as the mirror must hold them.
    fn said(&self) -> [Said; 2] {
        let (name, arguments) = match self.name {
            "Bash" => ("exec_command", json!({ "cmd": self.input["command"] })),
            other => (other, self.input.clone()),
        };
        [
            Said::Call {
                id: self.id.clone(),
                name: name.into(),
                arguments: arguments.to_string(),
            },
            Said::Output {
                id: self.id.clone(),
                output: Value::String(self.output.clone()),
            },
        ]
    }
}

/// A session made up for a test, shaped like the recorded ones (tests/fixtures): transcript
/// lines as Claude Code writes them, and the matching hook payloads.
struct Synth {
    session: String,
    transcript: PathBuf,
    cwd: PathBuf,
    prompt_id: String,
}

impl Synth {
    fn new(env: &Env) -> Self {
        let session = uuid::Uuid::new_v4().to_string();
        Synth {
            prompt_id: uuid::Uuid::new_v4().to_string(),
            transcript: env.transcript_path(&session),
            session,
            cwd: env.project.clone(),
        }
    }

    fn append(&self, lines: &[Value]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.transcript)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    fn line(&self, kind: &str, message: Value, extra: Value) -> Value {
        let mut line = json!({
            "parentUuid": null, "isSidechain": false, "type": kind, "message": message,
            "uuid": uuid::Uuid::new_v4().to_string(), "timestamp": "2026-11-21T10:55:42.535Z",
            "userType": "external", "entrypoint": "sdk-cli", "cwd": self.cwd,
            "sessionId": self.session, "version": "2.1.197",
        });
        merge(&mut line, extra);
        line
    }

    fn prompt_line(&self, text: &str) -> Value {
        self.line(
            "user",
            json!({ "role": "user", "content": text }),
            json!({ "promptId": self.prompt_id }),
        )
    }

    fn assistant_line(&self, message: &str, block: Value) -> Value {
        let message = json!({
            "id": message, "type": "message", "role": "assistant", "model": "claude-opus-4-8",
            "content": [block], "stop_reason": "tool_use",
        });
        self.line("assistant", message, json!({}))
    }

    fn text_line(&self, message: &str, text: &str) -> Value {
        self.assistant_line(message, json!({ "type": "text", "text": text }))
    }

    fn tool_use_line(&self, message: &str, call: &Call) -> Value {
        let block =
            json!({ "type": "tool_use", "id": call.id, "name": call.name, "input": call.input });
        self.assistant_line(message, block)
    }

    fn tool_result_line(&self, call: &Call) -> Value {
        let block = json!({
            "tool_use_id": call.id, "type": "tool_result", "content": call.output, "is_error": false,
        });
        self.line(
            "user",
            json!({ "role": "user", "content": [block] }),
            json!({ "promptId": self.prompt_id, "toolUseResult": call.response }),
        )
    }

    fn payload(&self, event: &str, fields: Value) -> Vec<u8> {
        let mut payload = json!({
            "session_id": self.session, "transcript_path": self.transcript, "cwd": self.cwd,
            "prompt_id": self.prompt_id, "permission_mode": "bypassPermissions",
            "hook_event_name": event,
        });
        merge(&mut payload, fields);
        payload.to_string().into_bytes()
    }

    fn post_tool_use(&self, call: &Call) -> Vec<u8> {
        self.payload(
            "PostToolUse",
            json!({
                "tool_name": call.name, "tool_input": call.input, "tool_response": call.response,
                "tool_use_id": call.id, "duration_ms": 3,
            }),
        )
    }
}

/// A synthetic conversation driven hook by hook, with what its mirror must say.
struct Conversation {
    synth: Synth,
    reference: Vec<Said>,
    messages: usize,
}

impl Conversation {
    fn new(env: &Env) -> Self {
        Conversation {
            synth: Synth::new(env),
            reference: Vec::new(),
            messages: 0,
        }
    }

    fn call_id(&self, n: usize) -> String {
        format!("toolu_{}_{n:04}", &self.synth.session[..8])
    }

    fn bash(&self, n: usize) -> Call {
        Call::bash(self.call_id(n), format!("output of call {n}"))
    }

    /// The prompt's line, then its UserPromptSubmit hook through `run`.
    fn prompt(&mut self, text: &str, mut run: impl FnMut(&[u8])) {
        self.synth.append(&[self.synth.prompt_line(text)]);
        run(&self
            .synth
            .payload("UserPromptSubmit", json!({ "prompt": text })));
        self.reference.push(Said::User(text.into()));
    }

    /// The model writes `text` and makes `call`; the call's PostToolUse hook runs through
    /// `run`, then Claude Code writes the result line (never before the hook returns).
    fn step(&mut self, text: &str, call: &Call, mut run: impl FnMut(&[u8])) {
        self.messages += 1;
        let message = format!("msg_{}", self.messages);
        self.synth.append(&[
            self.synth.text_line(&message, text),
            self.synth.tool_use_line(&message, call),
        ]);
        run(&self.synth.post_tool_use(call));
        self.synth.append(&[self.synth.tool_result_line(call)]);
        self.reference.push(Said::Assistant(text.into()));
        self.reference.extend(call.said());
    }

    /// The final answer's line, then the Stop hook.
    fn stop(&mut self, text: &str, mut run: impl FnMut(&[u8])) {
        self.messages += 1;
        let message = format!("msg_{}", self.messages);
        self.synth.append(&[self.synth.text_line(&message, text)]);
        let fields = json!({ "stop_hook_active": false, "last_assistant_message": text });
        run(&self.synth.payload("Stop", fields));
        self.reference.push(Said::Assistant(text.into()));
    }

    fn session_end(&self, mut run: impl FnMut(&[u8])) {
        run(&self
            .synth
            .payload("SessionEnd", json!({ "reason": "other" })));
    }

    /// A short turn: prompt, `calls` Bash calls, final answer.
    fn turn(&mut self, calls: std::ops::Range<usize>, mut run: impl FnMut(&[u8])) {
        self.prompt(&format!("Make calls {calls:?}."), &mut run);
        for n in calls {
            let call = self.bash(n);
            self.step(&format!("Call {n}."), &call, &mut run);
        }
        self.stop("Done.", &mut run);
    }
}

/// Every call once, its output once and after it.
fn assert_pairs(live: &[Said]) {
    let mut calls = BTreeSet::new();
    let mut outputs = BTreeSet::new();
    for item in live {
        match item {
            Said::Call { id, .. } => assert!(calls.insert(id), "call {id} written twice"),
            Said::Output { id, .. } => {
                assert!(calls.contains(id), "output of {id} before its call");
                assert!(outputs.insert(id), "output of {id} written twice");
            }
            _ => {}
        }
    }
    let missing: Vec<_> = calls.difference(&outputs).collect();
    assert!(
        missing.is_empty(),
        "calls without their output: {missing:?}"
    );
}

/// The mirror in `rollout` says exactly `reference`: in order when the transcript kept up
/// with the hooks (no WARN in `log`), otherwise each item once; every call paired either way.
fn assert_mirror_at(rollout: &Path, log: &str, reference: &[Said]) -> Vec<Said> {
    let live = said(&parse_rollout(rollout));
    assert_pairs(&live);
    if log.contains(" WARN ") {
        assert_same_items(&live, reference);
    } else {
        assert_same_conversation(&live, reference);
    }
    live
}

/// `assert_mirror_at` for `env`'s one rollout, and the state's record count agrees with it.
fn assert_mirror(env: &Env, reference: &[Said]) {
    let rollouts = env.rollouts();
    assert_eq!(rollouts.len(), 1, "{rollouts:?}");
    let live = assert_mirror_at(&rollouts[0], &env.log(), reference);
    let status = env.status_json();
    assert_eq!(
        status["sessions"][0]["mirrors"][0]["records"].as_u64(),
        Some(live.len() as u64),
        "the state's record count"
    );
}

/// ERROR lines the hook logged after the first `skip`.
fn errors_since(env: &Env, skip: usize) -> Vec<String> {
    env.log_lines("ERROR").into_iter().skip(skip).collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Fuzzed hook input

fn make_fifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}

/// `command` with the resource limit `resource` at `value`.
fn with_limit(mut command: Command, resource: libc::__rlimit_resource_t, value: u64) -> Command {
    // SAFETY: setrlimit is async-signal-safe; the closure allocates nothing.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            if libc::setrlimit(resource, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    command
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
