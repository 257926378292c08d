//! The session pipeline: one Claude Code session under its lock. Read the transcript from
//! where the last sync stopped (a hook's child waits, holding the lock, for a line the hook's
//! event needs), reconcile it with the event, and write what is new to every mirror. The hook
//! (`crate::hook`) and the commands (`mirror`, a hook's background child) come through here.

mod wait;

use crate::agents::claude::{self, render};
use crate::config::Located;
use crate::encode;
use crate::fanout;
use crate::model::{Item, Part, joined_text};
use crate::store::{self, Ahead, LockGuard, SessionFiles, SessionState, lock, lock::Queued};
use crate::sync::{Event, PromptKey, digest};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
/// Transcript bytes a hook reads at most: a few milliseconds of work (a session that existed
/// before `init` may have hundreds of megabytes unread). Its background child, or the next
/// hook, reads on.
const HOOK_STEP: u64 = 2 << 20;
/// Transcript bytes `mirror` and a hook's background child read per step (reported between).
const BACKGROUND_STEP: u64 = 4 << 20;
/// Longer transcript lines are skipped, and logged. Claude Code's longest (pasted images and
/// documents) are far shorter; a `transcript_path` at a huge file without a newline must not
/// be read whole, again at every hook.
const LONGEST_LINE: u64 = 64 << 20;

/// A hook's event, reduced from its payload (`hook::event`): what the pipeline needs of it.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    /// `hook_event_name`, for the log.
    pub name: String,
    pub session_id: String,
    /// Absolute, when the payload says.
    pub cwd: Option<PathBuf>,
    /// Absolute, when the payload says.
    pub transcript: Option<PathBuf>,
    pub work: Work,
}

/// What the hook must do for an event, decided from the payload alone.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    Prompt {
        prompt_id: Option<String>,
        text: Option<String>,
    },
    ToolDone(Box<ToolDone>),
    Stop {
        last_text: Option<String>,
    },
    CatchUp,
}

/// A finished (or failed) tool call as PostToolUse(Failure) reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDone {
    pub failed: bool,
    /// The subagent that made the call.
    pub agent: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub input: Value,
    pub response: Option<Value>,
    /// What the model saw of a failure.
    pub error: Option<Value>,
}

/// A hook's event with its place in the session's queue and the session's lock, handed to
/// the hook's child (`hook::behind`), which syncs it after the hook returned, so that Claude
/// Code waits neither for the sync nor for its own transcript flush.
pub struct Taken {
    queued: Queued,
    lock: LockGuard,
    event: HookEvent,
    at: Rest,
}

impl Taken {
    pub fn event(&self) -> &HookEvent {
        &self.event
    }

    /// Lets go of the queue and the lock in this process without releasing them: the child,
    /// which shares their open files, holds them on.
    pub fn leave_to_child(self) {
        std::mem::forget(self.queued);
        std::mem::forget(self.lock);
    }
}

/// Where a session is: its transcript, cwd, configuration and data directory.
#[derive(Clone)]
pub struct Rest {
    pub session_id: String,
    pub transcript: PathBuf,
    pub cwd: PathBuf,
    pub data_dir: PathBuf,
    pub located: Located,
}

impl Rest {
    /// Reads the transcript on to its end, a step at a time under the lock, as `mirror` does,
    /// so that hooks coming meanwhile get their turn.
    fn read_on(self, warnings: &mut Vec<String>) -> Vec<String> {
        let Rest {
            session_id,
            transcript,
            cwd,
            data_dir,
            located,
        } = self;
        backfill(
            &session_id,
            &transcript,
            &cwd,
            &data_dir,
            located,
            &mut |_, _| {},
            warnings,
        )
        .unwrap_or_else(|problem| vec![problem])
    }
}

/// Takes a hook's event over: a place in the session's queue and the session lock (waiting,
/// bounded, for the child of the session's previous hook while it syncs), nothing more, so
/// that the hook can return at once.
pub fn take(
    event: &HookEvent,
    cwd: PathBuf,
    transcript: PathBuf,
    located: Located,
    data_dir: &Path,
) -> Result<Taken, String> {
    let files = SessionFiles::new(data_dir, &event.session_id);
    let queued = lock::join_queue(&files.queue, LOCK_WAIT)
        .map_err(|e| format!("cannot queue at {}: {e}", files.queue.display()))?;
    let lock = LockGuard::acquire(&files.lock, LOCK_WAIT)
        .map_err(|e| format!("cannot lock {}: {e}", files.lock.display()))?;
    Ok(Taken {
        queued,
        lock,
        event: event.clone(),
        at: Rest {
            session_id: event.session_id.clone(),
            transcript,
            cwd,
            data_dir: data_dir.to_owned(),
            located,
        },
    })
}

/// Syncs a taken event: waits for the transcript line the event needs (letting go of the
/// lock meanwhile, so that the session's next hooks do not wait for the flush), and syncs.
/// `report` gets the warnings (what was done in a degraded way) and the problems met while
/// the lock is held, so that whoever takes the lock next finds them reported. Then, with
/// `read_on` (the hook's child; a hook syncing in place leaves it to the next hook), the rest
/// of the transcript, if the event's step did not reach its end, is read (and reported) a
/// step at a time. The place in the queue is given up last.
pub fn finish(taken: Taken, read_on: bool, report: &mut dyn FnMut(Vec<String>, Vec<String>)) {
    let Taken {
        queued,
        lock,
        event,
        at,
    } = taken;
    let session = Session::new(&event, &at, Step::Event);
    let mut warnings = Vec::new();
    let synced = session.sync_holding(&mut warnings, Some(lock));
    report(warnings, synced.problems);
    drop(synced.lock);
    if synced.behind && read_on {
        let mut warnings = Vec::new();
        let problems = at.read_on(&mut warnings);
        report(warnings, problems);
    }
    drop(queued);
}

/// Mirrors an existing session from wherever its state left off (the `mirror` command): the
/// hook's own catch-up, a few megabytes of transcript at a time, reporting `(read, total)`
/// bytes after each step. Returns the problems met along the way; `warnings` gets what was
/// done in a degraded way (a line too long to read, skipped).
pub fn backfill(
    session_id: &str,
    transcript: &Path,
    cwd: &Path,
    data_dir: &Path,
    located: Located,
    on_step: &mut dyn FnMut(u64, u64),
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    if !is_safe_id(session_id) {
        return Err(format!("{session_id:?} is not a Claude Code session id"));
    }
    keep_freed_memory();
    let event = HookEvent {
        name: "SessionEnd".into(),
        session_id: session_id.to_owned(),
        cwd: Some(cwd.to_owned()),
        transcript: Some(transcript.to_owned()),
        work: Work::CatchUp,
    };
    let at = Rest {
        session_id: session_id.to_owned(),
        transcript: transcript.to_owned(),
        cwd: cwd.to_owned(),
        data_dir: data_dir.to_owned(),
        located,
    };
    let session = Session::new(&event, &at, Step::Background);
    let total = crate::read::size(transcript)
        .map_err(|e| format!("cannot read {}: {e}", transcript.display()))?;
    let mut problems = Vec::new();
    let mut before = None;
    loop {
        let synced = session.sync_holding(warnings, None);
        problems.extend(synced.problems);
        let Some(read) = synced.offset else {
            break;
        };
        on_step(read.min(total), total);
        // Done, stuck on a problem, or only an unfinished last line is left.
        if read >= total || !problems.is_empty() || before == Some(read) {
            break;
        }
        before = Some(read);
    }
    // The last step's database write may still run beside: it completes before the process
    // can end, and one more sync (nothing left to read) records it complete.
    if crate::store::settle() {
        problems.extend(session.sync_holding(warnings, None).problems);
    }
    Ok(problems)
}

/// A catch-up step allocates tens of megabytes of lines and frees them at its end; by
/// default the allocator hands such blocks back to the kernel, and the next step faults
/// every page in again (a sixth of a six-target backfill). Kept for the next step instead;
/// the peak stays what it was.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's thresholds, under the allocator's lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
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
    event: &'a HookEvent,
    /// Where the session is: its transcript, cwd, configuration and data directory.
    at: &'a Rest,
    files: SessionFiles,
    step: Step,
}

impl<'a> Session<'a> {
    fn new(event: &'a HookEvent, at: &'a Rest, step: Step) -> Self {
        Session {
            event,
            at,
            files: SessionFiles::new(&at.data_dir, &at.session_id),
            step,
        }
    }
}

/// Who syncs, and so how much one sync may do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A hook's event, synced by the hook's child under the lock the hook took: it waits for
    /// the transcript line the event needs, and reads `HOOK_STEP` of transcript.
    Event,
    /// `mirror`, or a hook's child reading on: `BACKGROUND_STEP`, or one line up to
    /// `LONGEST_LINE`.
    Background,
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
            Awaited::Text(text) => state.progress.read_text(&digest(text)),
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
    state: SessionState,
    chunk: String,
    chunk_end: u64,
    /// More of the transcript is unread than this step read.
    behind: bool,
    transcript_exists: bool,
    problems: Vec<String>,
}

/// How one sync step ended.
struct Synced {
    /// Still held, unless it could not be taken.
    lock: Option<LockGuard>,
    problems: Vec<String>,
    /// More of the transcript is unread than this step read.
    behind: bool,
    /// How far the transcript is read, when the step got that far.
    offset: Option<u64>,
}

/// Where a sync step left the transcript.
struct Reached {
    offset: u64,
    /// More of it is unread than the step read.
    behind: bool,
}

impl Session<'_> {
    /// Mirrors what is new, under the session lock (`held` when the caller has it already);
    /// `warnings` gets what was done without the transcript's help. The lock comes back held
    /// (unless it could not be taken), so that the caller can report before letting go.
    fn sync_holding(&self, warnings: &mut Vec<String>, held: Option<LockGuard>) -> Synced {
        let mut lock = held;
        let outcome = self.sync_locked(warnings, &mut lock);
        let (problem, reached) = match outcome {
            Ok(reached) => (None, Some(reached)),
            Err(problem) => (Some(problem), None),
        };
        Synced {
            lock,
            problems: problem.into_iter().collect(),
            behind: reached.as_ref().is_some_and(|r| r.behind),
            offset: reached.map(|r| r.offset),
        }
    }

    /// `sync_holding`, taking the lock into `lock` if it is not there yet.
    fn sync_locked(
        &self,
        warnings: &mut Vec<String>,
        lock: &mut Option<LockGuard>,
    ) -> Result<Reached, String> {
        let work = &self.event.work;
        let mut event = match work {
            Work::Prompt {
                prompt_id,
                text: Some(text),
            } => Event::Prompt {
                key: PromptKey::new(prompt_id.clone(), text),
                text: text.clone(),
            },
            Work::ToolDone(done) => self.tool_event(done),
            Work::Prompt { text: None, .. } | Work::Stop { .. } | Work::CatchUp => Event::CatchUp,
        };
        let awaited = match work {
            Work::ToolDone(done) => match &done.agent {
                None => done.id.clone(),
                Some(agent) => self.agent_call_of(agent),
            }
            .map(Awaited::Call),
            Work::Stop { last_text } => last_text
                .clone()
                .filter(|text| !text.trim().is_empty())
                .map(Awaited::Text),
            Work::Prompt { .. } | Work::CatchUp => None,
        };

        let now = chrono::Utc::now();
        let now_text = encode::rfc3339(now);
        let mut locked = self.lock(&now_text, warnings, lock)?;
        // Too much transcript unread for one hook: the payload's news is in it (or soon will
        // be), and is read in its place, in order, by the background child or the next hooks.
        let awaited = awaited.filter(|_| !locked.behind);
        if locked.behind {
            event = Event::CatchUp;
        }
        if let Some(awaited) = &awaited {
            let seen = |locked: &Locked| {
                awaited.already_read(&locked.state) || awaited.is_in(&locked.chunk)
            };
            let mut found = seen(&locked);
            let worth_waiting =
                locked.transcript_exists || locked.state.transcript_misses < MAX_TRANSCRIPT_MISSES;
            if !found && worth_waiting {
                // A main-agent line is waited for without the lock: the session's next hooks
                // (parallel calls) need not wait for Claude Code's flush too; whatever they
                // read meanwhile, this finds read. A subagent's call keeps it: its calls are
                // spliced before the Agent call's result in the order its hooks come.
                if !matches!(work, Work::ToolDone(done) if done.agent.is_some()) {
                    *lock = None;
                }
                let from = locked.chunk_end;
                let deadline = Instant::now() + awaited.patience();
                let line_end =
                    wait::until(&self.at.transcript, from, HOOK_STEP, deadline, |line| {
                        awaited.is_in(line)
                    });
                locked = self.lock(&now_text, warnings, lock)?;
                found = seen(&locked);
                // Read meanwhile by another hook's child, and since forgotten (the rings of
                // closed calls and recent texts are capped): it was written then, with its
                // result; the payload adds nothing.
                let read_meanwhile =
                    line_end.is_some_and(|end| end <= locked.state.progress.transcript_offset);
                if !found && read_meanwhile {
                    found = true;
                    event = Event::CatchUp;
                }
                if !found {
                    warnings.push(awaited.not_seen());
                }
            }
            if let (Awaited::Text(text), false) = (awaited, found) {
                event = Event::FinalText { text: text.clone() };
            }
        }

        let Locked {
            mut state,
            chunk,
            chunk_end,
            behind,
            transcript_exists,
            mut problems,
        } = locked;
        let read_subagent = |agent: &str| self.read_subagent(agent);
        let records = crate::sync::reconcile(
            &mut state.progress,
            &read_subagent,
            now_text.clone(),
            &chunk,
            event,
        );
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

        // A hook's own event is saved with its lines; a catch-up step's large writes by their
        // length (written once; a kill mid-way costs a fork, not a loss).
        let ahead = match self.step {
            Step::Event => Ahead::Lines,
            Step::Background => Ahead::Length,
        };
        let problems_now = fanout::write(
            &self.files,
            &mut state,
            &self.at.located.config,
            &records,
            now,
            ahead,
        )?;
        problems.extend(problems_now);
        if problems.is_empty() {
            Ok(Reached {
                offset: chunk_end,
                behind,
            })
        } else {
            Err(problems.join("; "))
        }
    }

    /// Takes the session lock, loads the state, and reads the transcript lines written since
    /// (one step of them).
    fn lock(
        &self,
        now: &str,
        warnings: &mut Vec<String>,
        lock: &mut Option<LockGuard>,
    ) -> Result<Locked, String> {
        if lock.is_none() {
            *lock = Some(
                LockGuard::acquire(&self.files.lock, LOCK_WAIT)
                    .map_err(|e| format!("cannot lock {}: {e}", self.files.lock.display()))?,
            );
        }
        let mut state = match store::load_state(&self.files.state) {
            Ok(Some(state)) => state,
            Ok(None) => self.new_state(now),
            Err(err) => return Err(format!("unreadable state, not mirroring: {err}")),
        };
        let mut problems = Vec::new();
        let offset = state.progress.transcript_offset;
        let read = self
            .read_transcript(&mut state.progress, warnings)
            .map_err(|e| {
                format!(
                    "cannot read transcript {}: {e}",
                    self.at.transcript.display()
                )
            })?;
        let (chunk, chunk_end, behind, transcript_exists) = match read {
            Some(read) if read.shrunk => {
                problems.push(format!(
                    "transcript {} shrank below {offset} bytes; continuing from its end",
                    self.at.transcript.display()
                ));
                (String::new(), read.end, false, true)
            }
            Some(read) => (read.text, read.end, read.cut, true),
            None => (String::new(), offset, false, false),
        };
        Ok(Locked {
            state,
            chunk,
            chunk_end,
            behind,
            transcript_exists,
            problems,
        })
    }

    /// The complete transcript lines after `progress`'s offset that one step reads, past the
    /// rest of a line too long to read.
    fn read_transcript(
        &self,
        progress: &mut crate::sync::Progress,
        warnings: &mut Vec<String>,
    ) -> std::io::Result<Option<crate::read::Lines>> {
        let offset = progress.transcript_offset;
        let step = match self.step {
            // A deferred event reads what the hook would have (then reads on).
            Step::Event => HOOK_STEP,
            Step::Background => BACKGROUND_STEP,
        };
        let skipped = |end: u64| crate::read::Lines {
            text: String::new(),
            end,
            shrunk: false,
            cut: true,
        };
        if progress.skipping_line {
            let Some((end, ended)) = crate::read::skip_line(&self.at.transcript, offset, step)?
            else {
                return Ok(None);
            };
            progress.skipping_line = !ended;
            // What follows the line is for the next step; so is more of the line.
            return Ok(Some(crate::read::Lines {
                cut: ended || end == offset + step,
                ..skipped(end)
            }));
        }
        let read = crate::read::read_complete_lines(&self.at.transcript, offset, step)?;
        let longer_than_a_step = read.as_ref().is_some_and(|r| r.text.is_empty() && r.cut);
        if !longer_than_a_step || self.step != Step::Background {
            return Ok(read);
        }
        let whole = crate::read::read_complete_lines(&self.at.transcript, offset, LONGEST_LINE)?;
        if whole.as_ref().is_some_and(|r| r.text.is_empty() && r.cut) {
            warnings.push(format!(
                "the transcript's line at byte {offset} is longer than {} MiB; skipped",
                LONGEST_LINE >> 20
            ));
            progress.skipping_line = true;
            return Ok(Some(skipped(offset + LONGEST_LINE)));
        }
        Ok(whole)
    }

    fn tool_event(&self, done: &ToolDone) -> Event {
        let (Some(id), Some(name)) = (&done.id, &done.name) else {
            return Event::CatchUp;
        };
        let null = Value::Null;
        let failed = done.failed;
        let parts = if failed {
            render::tool_error(done.error.as_ref().unwrap_or(&null))
        } else {
            let call = render::Call {
                tool: name,
                tool_use_id: id,
                session_id: &self.event.session_id,
                transcript_path: &self.at.transcript,
                cwd: &self.at.cwd,
            };
            render::tool_output(&call, done.response.as_ref().unwrap_or(&null))
        };
        let spawned_agent = done
            .response
            .as_ref()
            .and_then(|r| r.get("agentId"))
            .and_then(|a| a.as_str())
            .filter(|a| is_safe_id(a))
            .map(str::to_owned);
        Event::ToolDone {
            agent: done.agent.clone().filter(|a| is_safe_id(a)),
            id: id.clone(),
            name: name.clone(),
            input: done.input.clone(),
            parts,
            is_error: failed,
            spawned_agent,
        }
    }

    fn new_state(&self, now: &str) -> SessionState {
        let project = self.at.located.project.clone();
        SessionState::new(
            &self.event.session_id,
            self.at.transcript.clone(),
            self.at.cwd.clone(),
            project.unwrap_or_else(|| self.at.cwd.clone()),
            now,
        )
    }

    fn subagent_file(&self, agent: &str, extension: &str) -> Option<PathBuf> {
        if !is_safe_id(agent) {
            return None;
        }
        claude::subagent_file(
            &self.at.transcript,
            &self.event.session_id,
            agent,
            extension,
        )
    }

    fn read_subagent(&self, agent: &str) -> Vec<claude::Entry> {
        let Some(path) = self.subagent_file(agent, "jsonl") else {
            return Vec::new();
        };
        match crate::read::read_text(&path, 1 << 30) {
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
            crate::read::read_regular(&self.subagent_file(agent, "meta.json")?, 1 << 20).ok()?;
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
