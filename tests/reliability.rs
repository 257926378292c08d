//! Reliability: the hook keeps its contract (exit 0, not a byte of output, problems only in the
//! hook log) and the mirror stays exact under fuzzed input, 32 concurrent hooks, SIGKILL at
//! random points, write faults, hostile ids and planted symlinks. What each test does and the
//! figures measured: docs/reliability.md.

mod common;

use common::{
    Env, Recording, Said, assert_same_conversation, assert_same_items, assert_silent_success,
    parse_rollout, rollouts_in, said,
};
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

// ---------------------------------------------------------------------------------------------
// Helpers

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

/// Runs a hook through `command`; it must exit 0 without a byte of output.
fn hook_via(command: Command, payload: &[u8]) {
    let output = run_bounded(command, payload);
    assert_silent_success(&output.expect("the hook hung"));
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

const EVENTS: &[&str] = &[
    "UserPromptSubmit",
    "PostToolUse",
    "PostToolUseFailure",
    "Stop",
    "StopFailure",
    "SessionEnd",
    "SubagentStop",
    "PostToolBatch",
    "PreCompact",
    "PostCompact",
    "SessionStart",
    "PreToolUse",
    "SubagentStart",
    "Notification",
];

fn random_string(rng: &mut Rng, len: usize) -> String {
    const PALETTE: &[&str] = &[
        "a", "Z", "0", "-", "_", ".", "/", "\\", "\"", " ", "\0", "\n", "\t", "\u{1b}", "\u{7f}",
        "é", "😀", "\u{202e}", "\u{fffd}", "\u{ffff}", "{", "}", "[", "]", ":", ",", "~",
    ];
    (0..len).map(|_| *rng.pick(PALETTE)).collect()
}

/// Strings that try to be paths or break length assumptions.
fn hostile_string(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => String::new(),
        1 => "..".into(),
        2 => "../../../../escape".into(),
        3 => "a/b/../../c".into(),
        4 => "x\0y".into(),
        5 => "/".into(),
        6 => "a".repeat(100 * 1024),
        7 => "../".repeat(30_000),
        8 => "\u{202e}\u{fffd}😀\n\t\"\\".into(),
        _ => {
            let len = rng.below(64);
            random_string(rng, len)
        }
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => rng
            .pick(&[
                json!(0),
                json!(-1),
                json!(i64::MIN),
                json!(u64::MAX),
                json!(1e308),
                json!(-0.0),
                json!(0.5),
            ])
            .clone(),
        3 => {
            let len = rng.below(40);
            Value::String(random_string(rng, len))
        }
        4 => Value::String(hostile_string(rng)),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| {
                    let key = random_string(rng, 4);
                    (key, random_value(rng, depth - 1))
                })
                .collect(),
        ),
    }
}

/// JSON pointers to every node of `value`.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn random_pointer(rng: &mut Rng, value: &Value) -> String {
    let mut all = Vec::new();
    pointers(value, String::new(), &mut all);
    rng.pick(&all).clone()
}

/// Sets a field of `payload` when it is still an object (an earlier mutation may have replaced
/// it whole).
fn set(payload: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = payload {
        map.insert(key.to_owned(), value);
    }
}

/// Applies one structural mutation to a payload; returns its name.
fn mutate_value(rng: &mut Rng, payload: &mut Value, places: &[String]) -> &'static str {
    const ID_FIELDS: &[&str] = &[
        "session_id",
        "tool_use_id",
        "agent_id",
        "prompt_id",
        "tool_name",
    ];
    match rng.below(8) {
        0 => {
            let at = random_pointer(rng, payload);
            *payload.pointer_mut(&at).unwrap() = random_value(rng, 2);
            "retype a field"
        }
        1 => {
            let at = random_pointer(rng, payload);
            if let Some((parent, key)) = at.rsplit_once('/') {
                let key = key.replace("~1", "/").replace("~0", "~");
                match payload.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.shift_remove(&key);
                    }
                    Some(Value::Array(items)) => {
                        items.remove(key.parse::<usize>().unwrap());
                    }
                    _ => {}
                }
            }
            "remove a field"
        }
        2 => {
            let event = match rng.below(4) {
                0 => rng.pick(EVENTS).to_lowercase(),
                1 => format!("{} ", rng.pick(EVENTS)),
                2 => hostile_string(rng),
                _ => (*rng.pick(EVENTS)).to_owned(),
            };
            set(payload, "hook_event_name", Value::String(event));
            "event name"
        }
        3 => {
            let field = *rng.pick(ID_FIELDS);
            set(payload, field, Value::String(hostile_string(rng)));
            "hostile id"
        }
        4 => {
            let field = *rng.pick(&["cwd", "transcript_path"]);
            set(payload, field, Value::String(rng.pick(places).clone()));
            "odd path"
        }
        5 => {
            let size = *rng.pick(&[64 << 10, 1 << 20, 3 << 20]);
            let chunk = random_string(rng, 61);
            let huge = chunk.repeat(size / chunk.len() + 1);
            let at = random_pointer(rng, payload);
            *payload.pointer_mut(&at).unwrap() = Value::String(huge);
            "huge string"
        }
        6 => {
            for _ in 0..=rng.below(3) {
                let key = random_string(rng, 6);
                let value = random_value(rng, 3);
                set(payload, &key, value);
            }
            "unknown fields"
        }
        _ => {
            // The same payload, as a real one does more often than not.
            "as recorded"
        }
    }
}

/// Applies one mutation to the payload's bytes; returns its name.
fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) -> &'static str {
    match rng.below(4) {
        0 => {
            for _ in 0..=rng.below(8) {
                let at = rng.below(bytes.len().max(1));
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = rng.next() as u8;
                }
            }
            "byte flips"
        }
        1 => {
            bytes.truncate(rng.below(bytes.len().max(1)));
            "truncation"
        }
        2 => {
            let snippets: &[&[u8]] = &[
                b"\"",
                b"\\",
                b"\\ud800",
                b"\\u0000",
                b"}",
                b"]",
                b",",
                b"{\"session_id\":\"other\",",
                b"\xff\xfe",
                b"\xef\xbb\xbf",
            ];
            let at = rng.below(bytes.len() + 1);
            let snippet = *rng.pick(snippets);
            bytes.splice(at..at, snippet.iter().copied());
            "splice"
        }
        _ => {
            // Deep nesting in place of a top-level field, closed or not.
            let depth = *rng.pick(&[64, 127, 128, 129, 1000, 100_000]);
            let (open, close) = if rng.one_in(2) {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let mut nested = open.repeat(depth);
            nested.push('1');
            if !rng.one_in(4) {
                nested.push_str(&close.repeat(depth));
            }
            let text = String::from_utf8_lossy(bytes);
            let field = *rng.pick(&["\"tool_input\":", "\"prompt\":", "\"cwd\":"]);
            *bytes = match text.find(field) {
                Some(at) => format!(
                    "{}{field}{nested},\"x\":{}",
                    &text[..at],
                    &text[at + field.len()..]
                ),
                None => format!("{{\"deep\":{nested}}}"),
            }
            .into_bytes();
            "deep nesting"
        }
    }
}

/// Extra arguments after `hook`: flags, nonsense, non-UTF-8.
fn random_args(rng: &mut Rng) -> Vec<OsString> {
    (0..=rng.below(4))
        .map(|_| match rng.below(8) {
            0 => "--help".into(),
            1 => "--version".into(),
            2 => "hook".into(),
            3 => OsString::new(),
            4 => OsString::from_vec(vec![0xff, 0xfe, b'x']),
            5 => "x".repeat(4096).into(),
            6 => "--no-such-flag=1".into(),
            _ => {
                let len = rng.below(12);
                random_string(rng, len).replace('\0', "").into()
            }
        })
        .collect()
}

/// One fuzz case: the bytes for stdin, extra arguments, and what was done (for the message).
fn fuzz_case(
    rng: &mut Rng,
    corpus: &[Value],
    places: &[String],
) -> (Vec<u8>, Vec<OsString>, Vec<&'static str>) {
    let mut done = Vec::new();
    let input = if rng.one_in(20) {
        done.push("garbage");
        match rng.below(3) {
            0 => (0..rng.below(4096)).map(|_| rng.next() as u8).collect(),
            1 => rng
                .pick(&["", " \n", "null", "[]", "\"x\"", "0", "{}", "\u{feff}{}"])
                .as_bytes()
                .to_vec(),
            _ => random_value(rng, 3).to_string().into_bytes(),
        }
    } else {
        let mut payload = rng.pick(corpus).clone();
        for _ in 0..=rng.below(3) {
            done.push(mutate_value(rng, &mut payload, places));
        }
        let mut bytes = payload.to_string().into_bytes();
        if rng.one_in(3) {
            done.push(mutate_bytes(rng, &mut bytes));
        }
        bytes
    };
    let args = if rng.one_in(5) {
        done.push("random argv");
        random_args(rng)
    } else {
        Vec::new()
    };
    (input, args, done)
}

/// Writes every recording's transcripts and subagent files into `env`, so that fuzzed payloads
/// meet the files their ids refer to. Returns every recorded payload, moved into `env`.
fn recorded_world(env: &Env) -> Vec<Value> {
    let mut corpus = Vec::new();
    for name in [
        "simple_bash",
        "parallel_tools",
        "multi_turn_resume",
        "subagent",
    ] {
        let recording = Recording::load(name);
        recording.write_transcript(env, usize::MAX);
        let subagents = recording
            .transcript_path(env)
            .with_extension("")
            .join("subagents");
        for (id, lines, meta) in &recording.subagents {
            std::fs::create_dir_all(&subagents).unwrap();
            let text: String = lines.iter().map(|l| env.localize(l) + "\n").collect();
            std::fs::write(subagents.join(format!("agent-{id}.jsonl")), text).unwrap();
            std::fs::write(subagents.join(format!("agent-{id}.meta.json")), meta).unwrap();
        }
        for hook in &recording.hooks {
            corpus.push(serde_json::from_str(&env.localize(&hook.payload.to_string())).unwrap());
        }
    }
    corpus
}

/// What a fuzz case came to, for the figures: it wrote to a mirror, or what it logged.
fn outcome(wrote: bool, log: &str) -> &'static str {
    const LOGGED: &[(&str, &str)] = &[
        (
            "not a Claude Code hook payload",
            "rejected: not a hook payload",
        ),
        ("empty payload", "rejected: empty stdin"),
        ("not a plain id", "rejected: session id not a plain id"),
        (
            "no absolute",
            "rejected: no absolute cwd or transcript_path",
        ),
        (" ERROR ", "other error logged"),
    ];
    if wrote {
        return "wrote to a mirror";
    }
    LOGGED
        .iter()
        .find(|(needle, _)| log.contains(needle))
        .map_or("nothing to do (event, project or call)", |(_, kind)| kind)
}

fn mirror_bytes(env: &Env) -> u64 {
    env.rollouts().iter().map(|r| size(r)).sum()
}

/// Cases one environment serves. A fuzzed call whose result never reaches the transcript
/// stays in the session's state for good (docs/reliability.md), so a long-lived environment
/// would measure that pile rather than the inputs.
const CASES_PER_ENV: usize = 250;

/// Runs the cases `worker`, `worker + jobs`, … below `cases`; returns how many came to each
/// outcome.
fn fuzz_worker(worker: u64, jobs: u64, cases: u64, seed: u64) -> BTreeMap<&'static str, u64> {
    let mut outcomes = BTreeMap::new();
    let mine: Vec<u64> = (worker..cases).step_by(jobs as usize).collect();
    for batch in mine.chunks(CASES_PER_ENV) {
        fuzz_env(batch, seed, &mut outcomes);
    }
    outcomes
}

/// Runs `cases` in one fresh environment.
fn fuzz_env(cases: &[u64], seed: u64, outcomes: &mut BTreeMap<&'static str, u64>) {
    let env = Env::new();
    env.init();
    let corpus = recorded_world(&env);
    let fifo = env.root.path().join("fifo");
    make_fifo(&fifo);
    let show = |p: &Path| p.to_str().unwrap().to_owned();
    let places = vec![
        String::new(),
        "relative/path".into(),
        "/".into(),
        "/dev/null".into(),
        "/dev/zero".into(),
        "/etc/passwd".into(),
        show(&env.project),
        show(&env.home),
        show(&fifo),
        show(&env.root.path().join("missing/t.jsonl")),
        format!("{}/{}", show(&env.project), "a/".repeat(3000)),
        format!("{}/../../../../../../tmp", show(&env.project)),
    ];
    let log = env.data.join("logs/hook.log");
    let before = outside(env.root.path(), &allowed(&env));
    for &case in cases {
        let mut rng = Rng(seed ^ case.wrapping_mul(0xd134_2543_de82_ef95));
        let (input, args, done) = fuzz_case(&mut rng, &corpus, &places);
        // A fresh log per case: a panic the hook caught is pinned on this case.
        let _ = std::fs::remove_file(&log);
        let mirrored = mirror_bytes(&env);
        let mut command = env.command(&["hook"]);
        command.args(&args);
        let output = run_bounded(command, &input);
        let case_text = || {
            let shown = String::from_utf8_lossy(&input[..input.len().min(400)]).into_owned();
            format!("case {case} of seed {seed:#x} ({done:?}, argv {args:?}): {shown}")
        };
        let Some(output) = output else {
            panic!(
                "{}\n=> the hook was still running after {HANG:?}",
                case_text()
            );
        };
        assert!(
            output.status.code() == Some(0) && output.stdout.is_empty() && output.stderr.is_empty(),
            "{}\n=> {output:?}",
            case_text()
        );
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            !logged.contains("internal error"),
            "{}\n=> the hook panicked: {logged}",
            case_text()
        );
        *outcomes
            .entry(outcome(mirror_bytes(&env) > mirrored, &logged))
            .or_default() += 1;
    }
    assert_nothing_written_outside(&before, &outside(env.root.path(), &allowed(&env)));
    // Nothing was killed, so every write was whole.
    for rollout in env.rollouts() {
        parse_rollout(&rollout);
    }
    for session in std::fs::read_dir(env.data.join("sessions")).unwrap() {
        let journal = std::fs::read_to_string(session.unwrap().path().join("state.jsonl"));
        for line in journal.unwrap_or_default().lines() {
            serde_json::from_str::<Value>(line).expect("a state journal line is not JSON");
        }
    }
}

fn make_fifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}

/// Mutations of the recorded payloads (byte flips, truncation, retyped and removed fields,
/// huge strings, deep nesting, wrong event names, hostile ids and paths, random argv):
/// `SESSION_SYNC_FUZZ_CASES` cases (200 by default) over `SESSION_SYNC_FUZZ_JOBS` parallel
/// environments, from `SESSION_SYNC_FUZZ_SEED`.
#[test]
fn fuzzed_payloads_never_break_the_contract() {
    let cases = setting("SESSION_SYNC_FUZZ_CASES", 200);
    let jobs = setting("SESSION_SYNC_FUZZ_JOBS", 8).max(1);
    let seed = setting("SESSION_SYNC_FUZZ_SEED", 0x5e55_10c5);
    let started = Instant::now();
    let workers: Vec<_> = (0..jobs)
        .map(|worker| std::thread::spawn(move || fuzz_worker(worker, jobs, cases, seed)))
        .collect();
    let mut outcomes = BTreeMap::new();
    let mut failures = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(counts) => {
                for (kind, count) in counts {
                    *outcomes.entry(kind).or_insert(0) += count;
                }
            }
            Err(panic) => failures.push(
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "panic".into()),
            ),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "fuzz: {cases} cases, {jobs} jobs, seed {seed:#x}, {:.1} s: {outcomes:?}",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Stress: 32 concurrent hooks on one session

/// Rounds of 32 parallel calls (`SESSION_SYNC_STRESS_ROUNDS`, 20 by default). Odd rounds flush
/// the calls' lines to the transcript only while the hooks run, so that they wait and race for
/// the lock again; then a Stop.
#[test]
fn concurrent_hooks_write_every_call_exactly_once() {
    const PARALLEL: usize = 32;
    let rounds = setting("SESSION_SYNC_STRESS_ROUNDS", 20) as usize;
    let started = Instant::now();
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Run everything at once.", |p| {
        env.hook(p);
    });
    let s = &conversation.synth;
    let mut reference = conversation.reference.clone();
    for round in 0..rounds {
        let message = format!("msg_round_{round}");
        let text = format!("Round {round}: {PARALLEL} commands in parallel.");
        let calls: Vec<Call> = (0..PARALLEL)
            .map(|i| conversation.bash(round * PARALLEL + i))
            .collect();
        let mut lines = vec![s.text_line(&message, &text)];
        lines.extend(calls.iter().map(|c| s.tool_use_line(&message, c)));
        reference.push(Said::Assistant(text));
        reference.extend(calls.iter().map(|c| c.said()[0].clone()));
        reference.extend(calls.iter().map(|c| c.said()[1].clone()));

        let lagging = round % 2 == 1;
        if !lagging {
            s.append(&lines);
        }
        let children: Vec<_> = calls
            .iter()
            .map(|c| env.spawn_hook(&s.post_tool_use(c)))
            .collect();
        if lagging {
            // Claude Code's flush arrives while the hooks wait for it.
            std::thread::sleep(Duration::from_millis(40));
            s.append(&lines);
        }
        for child in children {
            assert_silent_success(&child.wait_with_output().unwrap());
        }
        // Claude Code writes the results once every hook of the batch has returned.
        let results: Vec<Value> = calls.iter().rev().map(|c| s.tool_result_line(c)).collect();
        s.append(&results);
    }
    conversation.reference = reference;
    conversation.stop("All rounds done.", |p| {
        env.hook(p);
    });
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
    eprintln!(
        "stress: {rounds} rounds of {PARALLEL} concurrent hooks ({} calls), {} WARN, {:.1} s",
        rounds * PARALLEL,
        env.log_lines("WARN").len(),
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Crash: SIGKILL at random points

/// Reads a file as it grows and checks that every complete line is JSON: a line that never
/// parses is a torn append glued to what came after, i.e. a partial line mid-file.
struct LineWatch {
    path: PathBuf,
    checked: u64,
}

impl LineWatch {
    /// Checks the lines completed since the last call; returns whether the file ends in a torn
    /// tail (what a kill leaves until the next hook completes it).
    fn check(&mut self) -> bool {
        use std::io::{Read, Seek};
        let mut file = std::fs::File::open(&self.path).unwrap();
        file.seek(std::io::SeekFrom::Start(self.checked)).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for line in bytes[..complete]
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
        {
            assert!(
                serde_json::from_slice::<Value>(line).is_ok(),
                "{}: a partial line mid-file: {:?}…",
                self.path.display(),
                String::from_utf8_lossy(&line[..line.len().min(200)])
            );
        }
        self.checked += complete as u64;
        complete < bytes.len()
    }
}

/// Hooks appending 200 KiB outputs are SIGKILLed (`SESSION_SYNC_CRASH_KILLS` of them, 40 by
/// default): half after a random delay up to the last unkilled hook's duration, half within
/// 500 µs of the state journal starting to grow, the brief window where the hook writes (a
/// uniform delay would almost never land there). Between them, as many hooks run to the end:
/// a hook killed before it saves leaves its work to the next one, so killing every hook would
/// only pile work up. Then a Stop. The mirror must hold no partial line, nothing missing,
/// nothing twice.
#[test]
fn hooks_killed_at_random_points_lose_nothing_and_double_nothing() {
    let kills = setting("SESSION_SYNC_CRASH_KILLS", 40) as usize;
    let seed = setting("SESSION_SYNC_CRASH_SEED", 0x0c4a_54ed);
    let mut rng = Rng(seed);
    let started = Instant::now();
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Read the big files.", |p| {
        env.hook(p);
    });
    let big = |id: String, n: usize| {
        let line = format!("line of file {n}: {}\n", "x".repeat(100));
        Call::read(id, line.repeat(200 * 1024 / line.len()))
    };
    let session_dir = env.data.join("sessions").join(&conversation.synth.session);
    let mut mirror: Option<LineWatch> = None;
    let mut span = Duration::ZERO;
    let journal = session_dir.join("state.jsonl");
    let (mut sent, mut killed, mut torn_mirror, mut torn_journal) = (0, 0, 0, 0);
    let mut n = 0;
    while sent < kills {
        let call = big(conversation.call_id(n), n);
        // Kill only once an unkilled hook has given the span to spread the kills over.
        let kill = !span.is_zero() && rng.one_in(2);
        conversation.step(&format!("Reading file {n}."), &call, |p| {
            let journal_size = size(&journal);
            let spawned = Instant::now();
            let mut child = env.spawn_hook(p);
            if kill {
                let mut delay = rng.below(span.as_micros() as usize + 1);
                if rng.one_in(2) {
                    while size(&journal) == journal_size && child.try_wait().unwrap().is_none() {
                        std::hint::spin_loop();
                    }
                    delay = rng.below(500);
                }
                std::thread::sleep(Duration::from_micros(delay as u64));
                let _ = child.kill();
            }
            let output = child.wait_with_output().unwrap();
            if output.status.signal() == Some(libc::SIGKILL) {
                killed += 1;
            } else {
                assert_silent_success(&output);
                if !kill {
                    span = spawned.elapsed();
                }
            }
        });
        sent += usize::from(kill);
        n += 1;
        let mirror = mirror.get_or_insert_with(|| LineWatch {
            path: env.rollouts()[0].clone(),
            checked: 0,
        });
        torn_mirror += usize::from(mirror.check());
        let journal = std::fs::read(&journal).unwrap();
        torn_journal += usize::from(journal.last() != Some(&b'\n'));
    }
    conversation.stop("Read them all.", |p| {
        env.hook(p);
    });
    // A kill during a journal compaction leaves its temporary file: harmless, but counted.
    let leftovers = std::fs::read_dir(&session_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert!(!mirror.unwrap().check(), "the mirror ends in a torn line");
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
    eprintln!(
        "crash: {n} hooks with 200 KiB outputs, {sent} sent SIGKILL (delays up to {} µs): \
         {killed} killed, {} finished first; torn tails seen: {torn_mirror} in the mirror, \
         {torn_journal} in the state journal; {leftovers} compaction temp files left; {:.1} s",
        span.as_micros(),
        sent - killed,
        started.elapsed().as_secs_f64()
    );
}

/// The crash point random kills reach least often with small entries, made exact: a hook
/// killed halfway through saving the state (its entry torn, nothing appended to the mirror).
/// The next hooks must neither lose their own entries to the torn one nor write anything twice.
#[test]
fn hook_killed_while_saving_the_state_loses_nothing_and_doubles_nothing() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..2, |p| {
        env.hook(p);
    });
    let rollout = env.rollouts()[0].clone();
    let journal = env
        .data
        .join("sessions")
        .join(&conversation.synth.session)
        .join("state.jsonl");
    let call = conversation.bash(2);
    conversation.step("A call whose hook is killed.", &call, |p| {
        let (mirror_before, journal_before) = (
            std::fs::read(&rollout).unwrap(),
            std::fs::read(&journal).unwrap(),
        );
        env.hook(p);
        let entry = std::fs::read(&journal).unwrap()[journal_before.len()..].to_vec();
        let mut torn = journal_before;
        torn.extend_from_slice(&entry[..entry.len() / 2]);
        std::fs::write(&journal, torn).unwrap();
        std::fs::write(&rollout, mirror_before).unwrap();
    });
    for n in 3..6 {
        let call = conversation.bash(n);
        conversation.step(&format!("Call {n}."), &call, |p| {
            env.hook(p);
        });
    }
    conversation.stop("Done.", |p| {
        env.hook(p);
    });
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

// ---------------------------------------------------------------------------------------------
// 4. Faults

/// True when file modes bind this process (not root, or root without CAP_DAC_OVERRIDE).
fn modes_bind(env: &Env) -> bool {
    let probe = env.root.path().join("mode-probe");
    std::fs::write(&probe, "").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o400)).unwrap();
    let binds = std::fs::OpenOptions::new()
        .append(true)
        .open(&probe)
        .is_err();
    std::fs::remove_file(&probe).unwrap();
    binds
}

/// Codex's store cannot take a new mirror: `sessions` is read-only (mode 0500) where modes
/// bind, else (root) a regular file where the directory should be.
#[test]
fn codex_store_that_cannot_be_written_is_logged_then_caught_up() {
    let env = Env::new();
    env.init();
    let sessions = env.codex_home.join("sessions");
    let by_mode = modes_bind(&env);
    if by_mode {
        std::fs::create_dir(&sessions).unwrap();
        std::fs::set_permissions(&sessions, std::fs::Permissions::from_mode(0o500)).unwrap();
    } else {
        std::fs::write(&sessions, "not a directory").unwrap();
    }
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..3, |p| {
        env.hook(p);
    });
    let errors = env.log_lines("ERROR");
    assert!(
        errors.iter().any(|e| e.contains("codex mirror")),
        "{errors:?}"
    );

    if by_mode {
        std::fs::set_permissions(&sessions, std::fs::Permissions::from_mode(0o700)).unwrap();
    } else {
        std::fs::remove_file(&sessions).unwrap();
    }
    conversation.session_end(|p| {
        env.hook(p);
    });
    assert_eq!(errors_since(&env, errors.len()), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

/// An existing mirror becomes unwritable: mode 0400 where modes bind, else (root) moved aside
/// with a directory in its place. Hooks meanwhile log; once it is back, all is caught up.
#[test]
fn mirror_file_that_cannot_be_written_is_logged_then_caught_up() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..2, |p| {
        env.hook(p);
    });
    let rollout = env.rollouts()[0].clone();
    let aside = rollout.with_extension("aside");
    let by_mode = modes_bind(&env);
    if by_mode {
        std::fs::set_permissions(&rollout, std::fs::Permissions::from_mode(0o400)).unwrap();
    } else {
        std::fs::rename(&rollout, &aside).unwrap();
        std::fs::create_dir(&rollout).unwrap();
    }
    conversation.turn(2..5, |p| {
        env.hook(p);
    });
    let errors = env.log_lines("ERROR");
    assert!(
        errors.iter().any(|e| e.contains("codex mirror")),
        "{errors:?}"
    );

    if by_mode {
        std::fs::set_permissions(&rollout, std::fs::Permissions::from_mode(0o600)).unwrap();
    } else {
        std::fs::remove_dir(&rollout).unwrap();
        std::fs::rename(&aside, &rollout).unwrap();
    }
    conversation.session_end(|p| {
        env.hook(p);
    });
    assert_eq!(errors_since(&env, errors.len()), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

/// The hook with its file size limit (RLIMIT_FSIZE, what `ulimit -f` sets) at `bytes`: writes
/// past it fail with EFBIG, and SIGXFSZ would kill a process that does not ignore it.
fn with_file_size_limit(command: Command, bytes: u64) -> Command {
    with_limit(command, libc::RLIMIT_FSIZE, bytes)
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

/// Disk full, simulated with a file size limit: first the mirror's append is cut short (the
/// limit falls inside it), then nothing fits, not even the state. Once the limit is lifted,
/// the next hooks complete the torn line and catch up.
#[test]
fn disk_full_is_logged_then_caught_up() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Read the big files.", |p| {
        env.hook(p);
    });
    // A mirror much larger than the state journal, so that a limit can fall between them.
    for n in 0..4 {
        let call = Call::read(conversation.call_id(n), "y".repeat(200 * 1024));
        conversation.step(&format!("Reading {n}."), &call, |p| {
            env.hook(p);
        });
    }
    let rollout = env.rollouts()[0].clone();
    let journal = env
        .data
        .join("sessions")
        .join(&conversation.synth.session)
        .join("state.jsonl");
    let log = env.data.join("logs/hook.log");

    // 1. The state is saved, the mirror's append stops 100 bytes in.
    let limit = size(&rollout) + 100;
    assert!(size(&journal) + 64 * 1024 < limit && size(&log) + 4096 < limit);
    let call = conversation.bash(4);
    conversation.step("Now a command.", &call, |p| {
        hook_via(with_file_size_limit(env.command(&["hook"]), limit), p)
    });
    assert_eq!(size(&rollout), limit, "the append was cut at the limit");
    let errors = env.log_lines("ERROR");
    assert!(
        errors.iter().any(|e| e.contains("File too large"))
            && !errors.iter().any(|e| e.contains("cannot save state")),
        "{errors:?}"
    );

    // 2. Nothing fits but the log line.
    let limit = size(&journal).min(size(&rollout));
    assert!(size(&log) + 4096 < limit);
    let call = conversation.bash(5);
    conversation.step("Another command.", &call, |p| {
        hook_via(with_file_size_limit(env.command(&["hook"]), limit), p)
    });
    let more = errors_since(&env, errors.len());
    // Either the record journal or the state could not be written: nothing was saved, so the
    // next hook starts again from the same place.
    assert!(
        more.iter().any(|e| e.contains("cannot save state")
            || (e.contains("cannot append to") && e.contains("records.jsonl"))),
        "{more:?}"
    );

    // Space again.
    let errors = env.log_lines("ERROR").len();
    let call = conversation.bash(6);
    conversation.step("Last command.", &call, |p| {
        env.hook(p);
    });
    conversation.stop("Done.", |p| {
        env.hook(p);
    });
    assert_eq!(errors_since(&env, errors), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

/// HOME unset: with `XDG_DATA_HOME` and `CODEX_HOME` set (so that nothing can fall back to the
/// real home from the password database), the hook works as usual.
#[test]
fn home_unset_still_mirrors() {
    let env = Env::new();
    env.init();
    let xdg = env.root.path().join("xdg");
    let command = || {
        let mut command = env.command(&["hook"]);
        command
            .env_remove("HOME")
            .env_remove("SESSION_SYNC_DATA_DIR")
            .env("XDG_DATA_HOME", &xdg);
        command
    };
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..3, |p| hook_via(command(), p));
    let log = std::fs::read_to_string(xdg.join("session-sync/logs/hook.log")).unwrap_or_default();
    assert!(!log.contains(" ERROR "), "{log}");
    assert_mirror_at(&env.rollouts()[0], &log, &conversation.reference);
}

/// The hook on a HOME that is `home` (relative, missing, a file…), with no variable pointing
/// elsewhere: data directory and Codex home come from HOME alone.
fn home_only(env: &Env, home: &Path) -> Command {
    let mut command = env.command(&["hook"]);
    for var in [
        "SESSION_SYNC_DATA_DIR",
        "CODEX_HOME",
        "XDG_DATA_HOME",
        "XDG_CONFIG_HOME",
        "CLAUDE_CONFIG_DIR",
    ] {
        command.env_remove(var);
    }
    command.env("HOME", home);
    command
}

/// HOME names a directory that does not exist: the hook creates only its own directories in it
/// (data directory, Codex sessions) and mirrors as usual.
#[test]
fn missing_home_gets_only_our_directories() {
    let env = Env::new();
    env.init();
    let home = env.root.path().join("no-such-home");
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..3, |p| hook_via(home_only(&env, &home), p));
    let data = home.join(".local/share/session-sync");
    let log = std::fs::read_to_string(data.join("logs/hook.log")).unwrap_or_default();
    assert!(!log.contains(" ERROR "), "{log}");
    let ours = [data, home.join(".codex/sessions")];
    for (path, _) in outside(&home, &ours) {
        assert!(
            ours.iter().any(|o| o.starts_with(&path)),
            "{} created",
            path.display()
        );
    }
    let rollouts = rollouts_in(&home.join(".codex"));
    assert_mirror_at(&rollouts[0], &log, &conversation.reference);
}

/// HOME is a regular file. With our data directory elsewhere, the Codex mirror (under HOME)
/// fails and is logged; without, nothing can be written or logged, and nothing is. Once HOME
/// is a directory, the next hook mirrors everything.
#[test]
fn home_that_is_a_file_is_survived_then_caught_up() {
    for data_elsewhere in [true, false] {
        let env = Env::new();
        env.init();
        let home = env.root.path().join("home-file");
        std::fs::write(&home, "not a directory").unwrap();
        let command = || {
            let mut command = home_only(&env, &home);
            if data_elsewhere {
                command.env("SESSION_SYNC_DATA_DIR", &env.data);
            }
            command
        };
        let mut conversation = Conversation::new(&env);
        // Claude Code's transcript directory: the test writes there as Claude Code.
        let ours = [
            env.data.clone(),
            conversation.synth.transcript.parent().unwrap().into(),
        ];
        let before = outside(env.root.path(), &ours);
        conversation.turn(0..2, |p| hook_via(command(), p));
        assert_nothing_written_outside(&before, &outside(env.root.path(), &ours));
        if data_elsewhere {
            let errors = env.log_lines("ERROR");
            assert!(
                errors.iter().any(|e| e.contains("codex mirror")),
                "{errors:?}"
            );
        } else {
            assert!(!env.data.exists());
        }

        std::fs::remove_file(&home).unwrap();
        std::fs::create_dir(&home).unwrap();
        conversation.session_end(|p| hook_via(command(), p));
        let data = if data_elsewhere {
            env.data.clone()
        } else {
            home.join(".local/share/session-sync")
        };
        let log = std::fs::read_to_string(data.join("logs/hook.log")).unwrap_or_default();
        let rollouts = rollouts_in(&home.join(".codex"));
        assert_eq!(rollouts.len(), 1, "{rollouts:?}");
        assert_mirror_at(&rollouts[0], &log, &conversation.reference);
    }
}

/// A relative HOME would put our state wherever the hook runs, i.e. in the user's project:
/// the hook must write nothing then, and mirror everything once HOME is absolute again.
#[test]
fn relative_home_writes_nothing_then_caught_up() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    let claude = [conversation
        .synth
        .transcript
        .parent()
        .unwrap()
        .to_path_buf()];
    let before = outside(env.root.path(), &claude);
    conversation.turn(0..2, |p| {
        hook_via(home_only(&env, Path::new("relative-home")), p)
    });
    assert_nothing_written_outside(&before, &outside(env.root.path(), &claude));

    conversation.session_end(|p| hook_via(home_only(&env, &env.home), p));
    let rollouts = rollouts_in(&env.codex_home);
    let log = std::fs::read_to_string(env.home.join(".local/share/session-sync/logs/hook.log"))
        .unwrap_or_default();
    assert_mirror_at(&rollouts[0], &log, &conversation.reference);
}

/// Codex holds the session's writer lock while a batch of parallel calls and a Stop run: they
/// append nothing and log nothing; the first hook after Codex lets go catches up, in order.
#[test]
fn codex_writer_lock_held_through_concurrent_hooks() {
    use fs2::FileExt;
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..1, |p| {
        env.hook(p);
    });
    let rollout = env.rollouts()[0].clone();
    let id = env.rollout()[0]["payload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let locks = env.codex_home.join("thread-writer-locks");
    std::fs::create_dir_all(&locks).unwrap();
    let lock = std::fs::File::create(locks.join(format!("{id}.lock"))).unwrap();
    lock.lock_exclusive().unwrap();
    let before = std::fs::read(&rollout).unwrap();

    conversation.prompt("Now in parallel.", |p| {
        env.hook(p);
    });
    let s = &conversation.synth;
    let calls: Vec<Call> = (1..9).map(|n| conversation.bash(n)).collect();
    let mut lines = vec![s.text_line("msg_parallel", "Eight at once.")];
    lines.extend(calls.iter().map(|c| s.tool_use_line("msg_parallel", c)));
    s.append(&lines);
    let children: Vec<_> = calls
        .iter()
        .map(|c| env.spawn_hook(&s.post_tool_use(c)))
        .collect();
    for child in children {
        assert_silent_success(&child.wait_with_output().unwrap());
    }
    s.append(
        &calls
            .iter()
            .map(|c| s.tool_result_line(c))
            .collect::<Vec<_>>(),
    );
    conversation
        .reference
        .push(Said::Assistant("Eight at once.".into()));
    conversation
        .reference
        .extend(calls.iter().map(|c| c.said()[0].clone()));
    conversation
        .reference
        .extend(calls.iter().map(|c| c.said()[1].clone()));
    conversation.stop("All eight done.", |p| {
        env.hook(p);
    });
    assert_eq!(
        std::fs::read(&rollout).unwrap(),
        before,
        "appended while Codex held its lock"
    );
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());

    FileExt::unlock(&lock).unwrap();
    conversation.session_end(|p| {
        env.hook(p);
    });
    assert_eq!(env.log_lines("ERROR"), Vec::<String>::new());
    assert_mirror(&env, &conversation.reference);
}

// ---------------------------------------------------------------------------------------------
// 5. Hostile input

/// Session, agent and tool_use ids made of `/`, `..`, NUL or 100 KB, in every event that uses
/// them: nothing is written outside our data directory and Codex's sessions, and inside them
/// only plain ids name anything.
#[test]
fn hostile_ids_cannot_steer_where_we_write() {
    let env = Env::new();
    env.init();
    let hostile: Vec<String> = vec![
        "..".into(),
        ".".into(),
        "../../../escape".into(),
        "a/b".into(),
        "/abs".into(),
        "x\0y".into(),
        "a".repeat(100 * 1024),
        "../".repeat(34 * 1024),
        "toolu_ok/../../../escape".into(),
    ];
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..1, |p| {
        env.hook(p);
    });
    let before = outside(env.root.path(), &allowed(&env));
    let s = &conversation.synth;
    let mut payloads = Vec::new();
    for id in &hostile {
        // As the session id, for every kind of hook.
        for event in ["UserPromptSubmit", "PostToolUse", "Stop", "SessionEnd"] {
            let mut payload: Value = serde_json::from_slice(&s.payload(
                event,
                json!({
                    "prompt": "hi", "tool_name": "Bash", "tool_use_id": "toolu_x",
                    "tool_input": {"command": "ls"}, "tool_response": {"stdout": "x"},
                    "last_assistant_message": "Done.",
                }),
            ))
            .unwrap();
            payload["session_id"] = json!(id);
            payloads.push(payload.to_string().into_bytes());
        }
        // As a tool_use id, a subagent's id, and the subagent an Agent call names.
        let call = Call::bash(id.clone(), "out".into());
        payloads.push(s.post_tool_use(&call));
        let mut from_subagent: Value = serde_json::from_slice(&s.post_tool_use(&call)).unwrap();
        from_subagent["agent_id"] = json!(id);
        payloads.push(from_subagent.to_string().into_bytes());
        let agent = s.payload(
            "PostToolUse",
            json!({
                "tool_name": "Agent", "tool_use_id": format!("toolu_agent_{}", payloads.len()),
                "tool_input": {"prompt": "look", "subagent_type": "Explore"},
                "tool_response": {"status": "completed", "agentId": id,
                    "content": [{"type": "text", "text": "report"}]},
            }),
        );
        payloads.push(agent);
        payloads.push(s.payload("SubagentStop", json!({ "agent_id": id })));
    }
    // Run together: the ids that are plain enough to wait for their call wait in parallel.
    let runs: Vec<_> = payloads
        .into_iter()
        .map(|p| {
            let command = env.command(&["hook"]);
            std::thread::spawn(move || hook_via(command, &p))
        })
        .collect();
    for run in runs {
        run.join().unwrap();
    }
    assert_nothing_written_outside(&before, &outside(env.root.path(), &allowed(&env)));
    let sessions: Vec<_> = std::fs::read_dir(env.data.join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(sessions, vec![OsString::from(&s.session)]);
    assert_eq!(env.rollouts().len(), 1);
    parse_rollout(&env.rollouts()[0]);
    assert!(env.log().contains("not a plain id"));
}

/// Where a symlink to a file of the user's is planted in place of a file we write.
#[derive(Debug, Clone, Copy)]
enum Planted {
    State,
    Lock,
    Log,
    Mirror,
}

/// A symlink planted where the state journal, the lock, the hook log or the mirror should be
/// is not followed: its target is untouched; the hook logs the problem (unless the log is the
/// link) and catches up once the link is gone.
#[test]
fn planted_symlinks_are_not_followed() {
    for place in [Planted::State, Planted::Lock, Planted::Log, Planted::Mirror] {
        let env = Env::new();
        env.init();
        let mut conversation = Conversation::new(&env);
        let session_dir = env.data.join("sessions").join(&conversation.synth.session);
        let target = env.root.path().join("precious");
        std::fs::write(&target, "the user's own file\n").unwrap();
        let link = match place {
            Planted::State => session_dir.join("state.jsonl"),
            Planted::Lock => session_dir.join("lock"),
            Planted::Log => env.data.join("logs/hook.log"),
            Planted::Mirror => {
                // The mirror's name is known once it exists: after a first turn.
                conversation.turn(0..1, |p| {
                    env.hook(p);
                });
                let rollout = env.rollouts()[0].clone();
                std::fs::rename(&rollout, rollout.with_extension("aside")).unwrap();
                rollout
            }
        };
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let before = std::fs::metadata(&target).unwrap();

        let run = |p: &[u8]| {
            env.hook(p);
        };
        conversation.turn(1..3, run);
        env.hook(b"not a payload");
        let after = std::fs::metadata(&target).unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "the user's own file\n",
            "{place:?}"
        );
        assert_eq!(
            (after.mtime(), after.mtime_nsec(), after.mode()),
            (before.mtime(), before.mtime_nsec(), before.mode()),
            "{place:?}"
        );
        assert!(
            std::fs::symlink_metadata(&link).unwrap().is_symlink(),
            "{place:?}: the link was replaced"
        );
        if !matches!(place, Planted::Log) {
            assert!(!env.log_lines("ERROR").is_empty(), "{place:?}: not logged");
        }

        std::fs::remove_file(&link).unwrap();
        if let Planted::Mirror = place {
            std::fs::rename(link.with_extension("aside"), &link).unwrap();
        }
        conversation.session_end(run);
        let rollouts = env.rollouts();
        assert_eq!(rollouts.len(), 1, "{place:?}: {rollouts:?}");
        assert_mirror_at(&rollouts[0], &env.log(), &conversation.reference);
    }
}

/// A FIFO where the hook reads or writes (the transcript, the state journal, the hook log,
/// the mirror, Codex's writer lock, the project's config reached through a symlink, as a
/// cloned repository could hold) must not block the hook: it would hold up Claude Code until
/// its hook timeout.
#[test]
fn fifos_where_files_belong_do_not_block_the_hook() {
    let env = Env::new();
    env.init();
    let mut conversation = Conversation::new(&env);
    conversation.turn(0..1, |p| {
        env.hook(p);
    });
    let rollout = env.rollouts()[0].clone();
    let id = env.rollout()[0]["payload"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = &conversation.synth;
    let session_dir = env.data.join("sessions").join(&s.session);
    let fifo_transcript = env.root.path().join("transcript-fifo");
    make_fifo(&fifo_transcript);
    // Another session: this one's transcript offset must not apply to the FIFO.
    let mut with_fifo_transcript: Value =
        serde_json::from_slice(&s.payload("SessionEnd", json!({}))).unwrap();
    with_fifo_transcript["transcript_path"] = json!(fifo_transcript);
    with_fifo_transcript["session_id"] = json!(uuid::Uuid::new_v4().to_string());
    hook_via(
        env.command(&["hook"]),
        with_fifo_transcript.to_string().as_bytes(),
    );

    let places = [
        env.codex_home
            .join(format!("thread-writer-locks/{id}.lock")),
        rollout.clone(),
        session_dir.join("state.jsonl"),
        env.data.join("logs/hook.log"),
    ];
    for (n, place) in places.iter().enumerate() {
        std::fs::create_dir_all(place.parent().unwrap()).unwrap();
        let aside = place.with_extension("aside");
        let _ = std::fs::rename(place, &aside);
        make_fifo(place);
        let call = conversation.bash(1 + n);
        conversation.step("One more.", &call, |p| hook_via(env.command(&["hook"]), p));
        std::fs::remove_file(place).unwrap();
        let _ = std::fs::rename(&aside, place);
    }
    // The project's config, a symlink to a FIFO.
    let config = env.project.join(".session-sync/config.json");
    let real = config.with_extension("real");
    std::fs::rename(&config, &real).unwrap();
    let fifo_config = env.root.path().join("config-fifo");
    make_fifo(&fifo_config);
    std::os::unix::fs::symlink(&fifo_config, &config).unwrap();
    conversation.session_end(|p| hook_via(env.command(&["hook"]), p));
    std::fs::remove_file(&config).unwrap();
    std::fs::rename(&real, &config).unwrap();

    conversation.stop("Done.", |p| {
        env.hook(p);
    });
    assert_mirror(&env, &conversation.reference);
}

/// Everything we create, in our data directory and in Codex's store, is 0600 (files) or 0700
/// (directories), whatever the umask: the hooks run here with umask 0.
#[test]
fn everything_we_create_is_private_even_with_umask_0() {
    let env = Env::new();
    env.init();
    let command = || {
        let mut command = env.command(&["hook"]);
        // SAFETY: umask is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        command
    };
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Read big files.", |p| hook_via(command(), p));
    // Outputs large enough to get the state journal compacted (rewritten through a rename).
    for n in 0..4 {
        let call = Call::read(conversation.call_id(n), "z".repeat(200 * 1024));
        conversation.step("Reading.", &call, |p| hook_via(command(), p));
    }
    conversation.stop("Done.", |p| hook_via(command(), p));
    hook_via(command(), b"garbage, for a log line");
    assert!(env.log().contains("not a Claude Code hook payload"));

    let mut checked = 0;
    let mut dirs = vec![env.data.clone(), env.codex_home.join("sessions")];
    while let Some(dir) = dirs.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                dirs.push(path);
            } else {
                assert_eq!(
                    meta.permissions().mode() & 0o777,
                    0o600,
                    "{}",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} paths checked");
    assert_mirror(&env, &conversation.reference);
}

// ---------------------------------------------------------------------------------------------
// 6. Bounded work per hook

/// Runs the hook with `payload` in `mib` MiB of address space (its background child too):
/// enough for bounded steps, too little to hold the transcripts these tests feed it, where an
/// allocation failing aborts the hook. It must exit 0 without a byte of output.
fn hook_in_memory(env: &Env, payload: &[u8], mib: u64) {
    let command = with_limit(env.command(&["hook"]), libc::RLIMIT_AS, mib << 20);
    hook_via(command, payload);
}

/// The session's saved progress, once the transcript is read to its end (by the hook's
/// background child): waits for it, up to HANG.
fn progress_at_end(env: &Env, synth: &Synth) -> Value {
    let state = env
        .data
        .join("sessions")
        .join(&synth.session)
        .join("state.jsonl");
    let deadline = Instant::now() + HANG;
    loop {
        let end = std::fs::metadata(&synth.transcript).unwrap().len();
        let text = std::fs::read_to_string(&state).unwrap_or_default();
        // The last complete entry (a hook may be writing the next one).
        let last = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok());
        if let Some(progress) = last.map(|s| s["progress"].clone()) {
            if progress["transcript_offset"].as_u64() == Some(end) {
                return progress;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the transcript was never read to its end"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_large_unread_transcript_is_read_in_bounded_steps() {
    let env = Env::new();
    env.init();
    // A session that ran before `init`: 64 calls with 200 KiB outputs, 26 MB unread.
    let mut conversation = Conversation::new(&env);
    conversation.prompt("Read every file.", |_| {});
    for n in 0..64 {
        let call = Call::read(conversation.call_id(n), format!("{n:03}").repeat(68 << 10));
        conversation.step(&format!("Reading {n}."), &call, |_| {});
    }
    conversation.stop("All read.", |_| {});
    conversation.prompt("And now?", |payload| hook_in_memory(&env, payload, 64));
    progress_at_end(&env, &conversation.synth);
    conversation.stop("Nothing more.", |payload| hook_in_memory(&env, payload, 64));
    assert!(env.log_lines("ERROR").is_empty(), "{}", env.log());
    assert_mirror(&env, &conversation.reference);
}

#[test]
fn a_transcript_line_without_end_is_skipped_once_not_read_at_every_hook() {
    let env = Env::new();
    env.init();
    let synth = Synth::new(&env);
    synth.append(&[synth.prompt_line("before")]);
    // 256 MiB without a newline (a hole: no disk used). The background child reads 64 MiB of
    // it before it gives up on the line.
    const LINE_MEMORY: u64 = 128;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&synth.transcript)
        .unwrap();
    file.set_len(file.metadata().unwrap().len() + (256 << 20))
        .unwrap();
    let end = synth.payload("SessionEnd", json!({ "reason": "other" }));

    for _ in 0..2 {
        hook_in_memory(&env, &end, LINE_MEMORY);
        let progress = progress_at_end(&env, &synth);
        assert_eq!(progress["skipping_line"], true);
    }
    let warnings = env.log_lines("WARN");
    assert_eq!(warnings.len(), 1, "{}", env.log());
    assert!(
        warnings[0].contains("longer than 64 MiB; skipped"),
        "{}",
        warnings[0]
    );

    // Once the line ends, what follows it is read.
    synth.append(&[
        json!("the end of the long line"),
        synth.prompt_line("after"),
    ]);
    hook_in_memory(&env, &end, LINE_MEMORY);
    let progress = progress_at_end(&env, &synth);
    assert_eq!(progress.get("skipping_line"), None);
    hook_in_memory(&env, &end, LINE_MEMORY);
    assert_eq!(
        said(&env.rollout()),
        vec![Said::User("before".into()), Said::User("after".into())]
    );
    assert!(env.log_lines("ERROR").is_empty(), "{}", env.log());
}
