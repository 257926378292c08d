//! `session-sync hook`: what Claude Code runs on every event.
//!
//! Contract: exit 0 and print nothing, whatever the input; every wait bounded; failures go to
//! the hook log in our data directory. The work: read the payload, find the project's config;
//! under the session lock, read the transcript from where we stopped (waiting briefly, unlocked,
//! when it has not caught up with the payload yet), reconcile it with the payload and append
//! the result to every enabled mirror.

mod archive;
mod behind;
mod stdin;
mod wait;
mod wire;

use crate::claude::{self, render};
use crate::config::{self, Located};
use crate::encode;
use crate::fanout;
use crate::model::{Item, Part, joined_text};
use crate::paths;
use crate::store::{self, LockGuard, SessionFiles, SessionState};
use crate::sync::{Event, PromptKey, Sync, digest};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use wire::Payload;

/// How long a PostToolUse hook waits for Claude Code to flush the call's tool_use line
/// (flushes come every 100 ms), so that text written before the call lands before it.
const TOOL_WAIT: Duration = Duration::from_millis(400);
/// How long Stop waits for the final answer to reach the transcript (seen: 20–61 ms, always
/// under 300 ms).
const STOP_WAIT: Duration = Duration::from_millis(1500);
/// How long a hook waits for a concurrent hook of the same session.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// After this many hooks without a transcript file, stop waiting for one.
const MAX_TRANSCRIPT_MISSES: u32 = 3;

static PANIC_MESSAGE: OnceLock<String> = OnceLock::new();

/// Runs the hook; never panics, never prints, always returns (the caller exits 0).
pub fn run() {
    std::panic::set_hook(Box::new(|info| {
        let _ = PANIC_MESSAGE.set(info.to_string());
    }));
    let data_dir = paths::data_dir();
    let mut behind = None;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let input = match stdin::read_all() {
            Ok(input) => input,
            Err(problem) => return vec![Report::error(problem)],
        };
        match handle(&input, data_dir.as_deref(), &mut behind) {
            Ok(warnings) => warnings,
            Err(failure) => vec![failure],
        }
    }));
    let reports = outcome.unwrap_or_else(|_| {
        vec![Report::error(format!(
            "internal error: {}",
            PANIC_MESSAGE.get().map_or("panic", String::as_str)
        ))]
    });
    let Some(dir) = data_dir else { return };
    let log = paths::hook_log(&dir);
    for report in reports {
        report.write(&log);
    }
    if let Some(job) = behind {
        behind::finish(job, &log);
    }
}

/// A line for the hook log: ERROR when the hook could not do its work, WARN when it did it in
/// a degraded way (e.g. without the transcript's help).
#[derive(Debug)]
struct Report {
    level: &'static str,
    event: Option<String>,
    session: Option<String>,
    message: String,
}

impl Report {
    fn write(&self, log: &Path) {
        let line = format!(
            "{} {} {} {}: {}",
            encode::rfc3339(chrono::Utc::now()),
            self.level,
            self.event.as_deref().unwrap_or("-"),
            self.session.as_deref().unwrap_or("-"),
            self.message
        );
        let _ = store::log_line(log, &line);
    }

    fn error(message: impl Into<String>) -> Self {
        Report {
            level: "ERROR",
            event: None,
            session: None,
            message: message.into(),
        }
    }
}

/// What the hook must do for an event, decided from the payload alone.
enum Work {
    Prompt,
    ToolDone { failed: bool },
    Stop,
    CatchUp,
}

fn work_for(event: &str) -> Option<Work> {
    Some(match event {
        "UserPromptSubmit" => Work::Prompt,
        "PostToolUse" => Work::ToolDone { failed: false },
        "PostToolUseFailure" => Work::ToolDone { failed: true },
        "Stop" => Work::Stop,
        "StopFailure" | "SessionEnd" | "SubagentStop" | "PostToolBatch" | "PreCompact"
        | "PostCompact" => Work::CatchUp,
        _ => return None,
    })
}

/// Does the hook's work; returns warnings, or the failure that stopped it.
fn handle(
    input: &[u8],
    data_dir: Option<&Path>,
    behind: &mut Option<behind::Job>,
) -> Result<Vec<Report>, Report> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(Report::error("empty payload on stdin"));
    }
    let payload: Payload = serde_json::from_slice(input)
        .map_err(|err| Report::error(format!("stdin is not a Claude Code hook payload: {err}")))?;
    let report = |level: &'static str, message: String| Report {
        level,
        event: Some(payload.hook_event_name.clone()),
        session: Some(payload.session_id.clone()),
        message,
    };
    let fail = |message: String| report("ERROR", message);
    // Archiving does not depend on this project mirroring anything.
    let mut reports = Vec::new();
    if payload.hook_event_name == "SessionEnd" {
        if let Some(dir) = data_dir {
            if let Err(problem) = archive::start(dir) {
                reports.push(report("WARN", problem));
            }
        }
    }
    let Some(work) = work_for(&payload.hook_event_name) else {
        return Ok(reports);
    };
    let Some(data_dir) = data_dir else {
        return Err(fail(
            "no home directory: cannot find the data directory".into(),
        ));
    };
    let cwd = payload
        .cwd
        .clone()
        .filter(|c| c.is_absolute())
        .or_else(|| std::env::var_os("CLAUDE_PROJECT_DIR").map(PathBuf::from))
        .ok_or_else(|| fail("payload has no absolute cwd".into()))?;
    let safe_id = is_safe_id(&payload.session_id);
    let files = SessionFiles::new(data_dir, &payload.session_id);
    let mut located = config::locate(&cwd, Some(data_dir)).map_err(|e| fail(e.to_string()))?;
    if located.is_none() && safe_id {
        // A session mirrored so far keeps its project's configuration when its cwd moves
        // outside the project (a worktree, say).
        if let Ok(Some(state)) = store::load_state(&files.state) {
            located =
                config::locate(&state.project, Some(data_dir)).map_err(|e| fail(e.to_string()))?;
        }
    }
    let Some(located) = located else {
        return Ok(reports);
    };
    if located.paused() || located.config.enabled_targets().is_empty() {
        return Ok(reports);
    }
    if !safe_id {
        return Err(fail("session_id is not a plain id; ignored".into()));
    }
    let transcript = payload
        .transcript_path
        .clone()
        .filter(|p| p.is_absolute())
        .ok_or_else(|| fail("payload has no absolute transcript_path".into()))?;
    let session = Session {
        payload: &payload,
        cwd,
        transcript,
        located,
        files,
        chunk_limit: u64::MAX,
        write_behind: true,
    };
    let mut warnings = Vec::new();
    session.sync(work, &mut warnings, behind).map_err(fail)?;
    reports.extend(warnings.into_iter().map(|w| report("WARN", w)));
    Ok(reports)
}

/// Mirrors an existing session from wherever its state left off (the `mirror` command): the
/// hook's own catch-up, a few megabytes of transcript at a time, reporting `(read, total)`
/// bytes after each step. Returns the problems met along the way.
pub fn backfill(
    session_id: &str,
    transcript: &Path,
    cwd: &Path,
    data_dir: &Path,
    located: Located,
    on_step: &mut dyn FnMut(u64, u64),
) -> Result<Vec<String>, String> {
    const STEP: u64 = 4 << 20;
    if !is_safe_id(session_id) {
        return Err(format!("{session_id:?} is not a Claude Code session id"));
    }
    let payload = Payload {
        session_id: session_id.to_owned(),
        transcript_path: Some(transcript.to_owned()),
        cwd: Some(cwd.to_owned()),
        hook_event_name: "SessionEnd".into(),
        prompt_id: None,
        agent_id: None,
        prompt: None,
        tool_name: None,
        tool_input: None,
        tool_response: None,
        tool_use_id: None,
        error: None,
        last_assistant_message: None,
    };
    let session = Session {
        payload: &payload,
        cwd: cwd.to_owned(),
        transcript: transcript.to_owned(),
        located,
        files: SessionFiles::new(data_dir, session_id),
        chunk_limit: STEP,
        write_behind: false,
    };
    let total = store::fs::size(transcript)
        .map_err(|e| format!("cannot read {}: {e}", transcript.display()))?;
    let mut problems = Vec::new();
    let mut before = None;
    loop {
        let mut warnings = Vec::new();
        if let Err(problem) = session.sync(Work::CatchUp, &mut warnings, &mut None) {
            problems.push(problem);
        }
        let read = store::load_state(&session.files.state)
            .ok()
            .flatten()
            .map_or(total, |s| s.progress.transcript_offset);
        on_step(read.min(total), total);
        // Done, stuck on a problem, or only an unfinished last line is left.
        if read >= total || !problems.is_empty() || before == Some(read) {
            return Ok(problems);
        }
        before = Some(read);
    }
}

/// Ids become file names: allow only what Claude Code's ids are made of.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

struct Session<'a> {
    payload: &'a Payload,
    cwd: PathBuf,
    transcript: PathBuf,
    located: Located,
    files: SessionFiles,
    /// Transcript bytes one sync reads at most (a backfill goes in steps it can report).
    chunk_limit: u64,
    /// Database writes may finish after the hook returns (see `behind`); a backfill waits.
    write_behind: bool,
}

/// What the transcript must show before the hook's payload can be placed after it.
enum Awaited {
    /// The tool_use line of a call (text written before the call comes before it).
    Call(String),
    /// The final answer's last text block.
    Text(String),
}

impl Awaited {
    fn already_read(&self, state: &SessionState) -> bool {
        match self {
            Awaited::Call(id) => state.progress.knows_call(id),
            Awaited::Text(text) => {
                state.progress.last_text.as_deref() == Some(digest(text).as_str())
            }
        }
    }

    fn is_in(&self, chunk: &str) -> bool {
        match self {
            Awaited::Call(id) => chunk.contains(&format!("\"id\":\"{id}\"")),
            Awaited::Text(text) => has_text(chunk, text),
        }
    }

    fn not_seen(&self) -> String {
        match self {
            Awaited::Call(id) => format!(
                "the transcript did not show call {id} within {TOOL_WAIT:?}; wrote it from the payload (text written just before it may come after it)"
            ),
            Awaited::Text(_) => format!(
                "the transcript did not show the final answer within {STOP_WAIT:?}; wrote it from the Stop payload"
            ),
        }
    }

    fn patience(&self) -> Duration {
        match self {
            Awaited::Call(_) => TOOL_WAIT,
            Awaited::Text(_) => STOP_WAIT,
        }
    }
}

/// The session under its lock: its state and the transcript lines not read yet.
struct Locked {
    _lock: LockGuard,
    state: SessionState,
    chunk: String,
    chunk_end: u64,
    transcript_exists: bool,
    problems: Vec<String>,
    /// Mirrors found continued in their agent while completing old writes.
    diverged: Vec<(String, String)>,
}

impl Session<'_> {
    /// Mirrors what is new; `warnings` gets what was done without the transcript's help, and
    /// `behind` the database writes left to finish after the hook returns.
    fn sync(
        &self,
        work: Work,
        warnings: &mut Vec<String>,
        behind: &mut Option<behind::Job>,
    ) -> Result<(), String> {
        let payload = self.payload;
        let mut event = match work {
            Work::Prompt => match &payload.prompt {
                Some(text) => Event::Prompt {
                    key: PromptKey::new(payload.prompt_id.clone(), text),
                    text: text.clone(),
                },
                None => Event::CatchUp,
            },
            Work::ToolDone { failed } => self.tool_event(failed),
            Work::Stop | Work::CatchUp => Event::CatchUp,
        };
        let awaited = match work {
            Work::ToolDone { .. } => match &payload.agent_id {
                None => payload.tool_use_id.clone(),
                Some(agent) => self.agent_call_of(agent),
            }
            .map(Awaited::Call),
            Work::Stop => payload
                .last_assistant_message
                .clone()
                .filter(|text| !text.trim().is_empty())
                .map(Awaited::Text),
            Work::Prompt | Work::CatchUp => None,
        };

        let now = chrono::Utc::now();
        let now_text = encode::rfc3339(now);
        let mut locked = self.lock(&now_text)?;
        if let Some(awaited) = &awaited {
            let seen = |locked: &Locked| {
                awaited.already_read(&locked.state) || awaited.is_in(&locked.chunk)
            };
            let mut found = seen(&locked);
            let worth_waiting =
                locked.transcript_exists || locked.state.transcript_misses < MAX_TRANSCRIPT_MISSES;
            if !found && worth_waiting {
                // Claude Code flushes the transcript every 100 ms: wait for it without
                // holding up the other hooks of this session.
                let from = locked.chunk_end;
                drop(locked);
                let deadline = Instant::now() + awaited.patience();
                wait::until(&self.transcript, from, deadline, |chunk| {
                    awaited.is_in(chunk)
                });
                locked = self.lock(&now_text)?;
                found = seen(&locked);
                if !found {
                    warnings.push(awaited.not_seen());
                }
            }
            if let (Awaited::Text(text), false) = (awaited, found) {
                event = Event::FinalText { text: text.clone() };
            }
        }

        let Locked {
            _lock: lock,
            mut state,
            chunk,
            chunk_end,
            transcript_exists,
            mut problems,
            diverged,
        } = locked;
        let read_subagent = |agent: &str| self.read_subagent(agent);
        let mut engine = Sync::new(&mut state.progress, &read_subagent, now_text.clone());
        for entry in claude::read_lines(&chunk, None) {
            engine.consume(entry);
        }
        engine.apply(event);
        let records = engine.records();
        state.progress.transcript_offset = chunk_end;
        state.transcript_misses = if transcript_exists {
            0
        } else {
            state.transcript_misses.saturating_add(1)
        };
        state.last_sync = now_text.clone();
        if state.title.is_none() {
            state.title = records.iter().find_map(|r| match &r.item {
                Item::Prompt { parts } if r.agent.is_none() => Some(title_of(parts)),
                _ => None,
            });
        }

        let now_kinds = if self.write_behind {
            store::Kinds::Files
        } else {
            store::Kinds::All
        };
        let problems_now = fanout::write(
            &self.files,
            &mut state,
            &self.located.config,
            &records,
            now,
            now_kinds,
            diverged,
        )?;
        problems.extend(problems_now);
        let database_pending = state
            .mirrors
            .values()
            .any(|m| m.pending.is_some() && m.kind == encode::Kind::OpencodeDb);
        if database_pending && self.write_behind {
            *behind = Some(behind::Job {
                lock,
                state,
                state_path: self.files.state.clone(),
            });
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Takes the session lock, loads the state, completes appends a killed hook left
    /// pending, and reads the transcript lines written since.
    fn lock(&self, now: &str) -> Result<Locked, String> {
        let lock = LockGuard::acquire(&self.files.lock, LOCK_WAIT)
            .map_err(|e| format!("cannot lock {}: {e}", self.files.lock.display()))?;
        let mut state = match store::load_state(&self.files.state) {
            Ok(Some(state)) => state,
            Ok(None) => self.new_state(now),
            Err(err) => return Err(format!("unreadable state, not mirroring: {err}")),
        };
        let flushed = store::flush_pending(&mut state, store::Kinds::All);
        let mut problems = flushed.problems;
        let offset = state.progress.transcript_offset;
        let read = store::fs::read_complete_lines(&self.transcript, offset, self.chunk_limit)
            .map_err(|e| format!("cannot read transcript {}: {e}", self.transcript.display()))?;
        let (chunk, chunk_end, transcript_exists) = match read {
            Some(read) if read.shrunk => {
                problems.push(format!(
                    "transcript {} shrank below {offset} bytes; continuing from its end",
                    self.transcript.display()
                ));
                (String::new(), read.end, true)
            }
            Some(read) => (read.text, read.end, true),
            None => (String::new(), offset, false),
        };
        Ok(Locked {
            _lock: lock,
            state,
            chunk,
            chunk_end,
            transcript_exists,
            problems,
            diverged: flushed.diverged,
        })
    }

    fn tool_event(&self, failed: bool) -> Event {
        let payload = self.payload;
        let (Some(id), Some(name)) = (&payload.tool_use_id, &payload.tool_name) else {
            return Event::CatchUp;
        };
        let null = serde_json::Value::Null;
        let parts = if failed {
            render::tool_error(payload.error.as_ref().unwrap_or(&null))
        } else {
            let call = render::Call {
                tool: name,
                tool_use_id: id,
                session_id: &payload.session_id,
                transcript_path: &self.transcript,
                cwd: &self.cwd,
            };
            render::tool_output(&call, payload.tool_response.as_ref().unwrap_or(&null))
        };
        let spawned_agent = payload
            .tool_response
            .as_ref()
            .and_then(|r| r.get("agentId"))
            .and_then(|a| a.as_str())
            .filter(|a| is_safe_id(a))
            .map(str::to_owned);
        Event::ToolDone {
            agent: payload.agent_id.clone().filter(|a| is_safe_id(a)),
            id: id.clone(),
            name: name.clone(),
            input: payload
                .tool_input
                .clone()
                .unwrap_or(serde_json::Value::Null),
            parts,
            is_error: failed,
            spawned_agent,
        }
    }

    fn new_state(&self, now: &str) -> SessionState {
        SessionState {
            version: store::state::STATE_VERSION,
            claude_session_id: self.payload.session_id.clone(),
            transcript_path: self.transcript.clone(),
            cwd: self.cwd.clone(),
            project: self
                .located
                .project
                .clone()
                .unwrap_or_else(|| self.cwd.clone()),
            created_at: now.to_owned(),
            last_sync: now.to_owned(),
            title: None,
            progress: Default::default(),
            transcript_misses: 0,
            records_bytes: 0,
            mirrors: Default::default(),
            retired: Vec::new(),
            source: None,
        }
    }

    fn subagent_file(&self, agent: &str, extension: &str) -> Option<PathBuf> {
        if !is_safe_id(agent) {
            return None;
        }
        claude::subagent_file(&self.transcript, &self.payload.session_id, agent, extension)
    }

    fn read_subagent(&self, agent: &str) -> Vec<claude::Entry> {
        let Some(path) = self.subagent_file(agent, "jsonl") else {
            return Vec::new();
        };
        match store::fs::read_text(&path, 1 << 30) {
            Ok(text) => claude::read_lines(&text, Some(agent)),
            Err(_) => Vec::new(),
        }
    }

    /// The Agent call that started a subagent, from the subagent's `.meta.json`.
    fn agent_call_of(&self, agent: &str) -> Option<String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Meta {
            tool_use_id: String,
        }
        let bytes =
            store::fs::read_regular(&self.subagent_file(agent, "meta.json")?, 1 << 20).ok()?;
        serde_json::from_slice::<Meta>(&bytes)
            .ok()
            .map(|m| m.tool_use_id)
    }
}

/// Does this chunk of transcript hold an assistant text block equal to `text`?
fn has_text(chunk: &str, text: &str) -> bool {
    claude::read_lines(chunk, None).iter().any(|entry| {
        matches!(&entry.record.item, Item::Text { text: t } if t == text || t.trim() == text.trim())
    })
}

fn title_of(parts: &[Part]) -> String {
    let text = joined_text(parts);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    match line.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}
