//! The only module that writes files: locks, appends, atomic rewrites, state, lineage, logs.

pub mod archive;
pub mod fs;
pub mod index;
pub mod inspect;
pub mod journal;
pub mod listing;
pub mod lock;
pub mod opencode;
pub mod package;
pub mod records;
pub mod remove;
pub mod side;
pub mod state;

pub use lock::LockGuard;
pub use opencode::settle;
pub use state::{Ahead, ForkPoint, Lineage, Mirror, PendingAppend, Retired, SessionState, Source};

use crate::encode::{Kind, Lines};

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A SQLite error (OpenCode's database, Codex's index) as an I/O error. A database the agent
/// holds busy is `WouldBlock`: a pending write waits for a later hook.
fn sql_error(err: rusqlite::Error) -> io::Error {
    match err {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
            io::Error::new(io::ErrorKind::WouldBlock, "the agent's database is busy")
        }
        other => io::Error::other(other.to_string()),
    }
}

/// Where a session's state lives under the data directory.
#[derive(Clone)]
pub struct SessionFiles {
    pub key: String,
    pub state: PathBuf,
    pub lock: PathBuf,
    /// Hooks whose work is not done yet (`lock::join_queue`).
    pub queue: PathBuf,
    pub records: PathBuf,
    /// The listings index, which every save of the state keeps current.
    pub listing: PathBuf,
}

impl SessionFiles {
    pub fn new(data_dir: &Path, session_id: &str) -> Self {
        let dir = data_dir.join("sessions").join(session_id);
        SessionFiles {
            key: session_id.to_owned(),
            state: dir.join("state.jsonl"),
            lock: dir.join("lock"),
            queue: dir.join("queue"),
            records: dir.join("records.jsonl"),
            listing: listing::path(data_dir),
        }
    }
}

/// The state journal is compacted to its last entry past this size: a session's state stays
/// about as large as what it must remember (an entry is a few KiB), at one rename every
/// few dozen saves, in the hook's child.
const STATE_JOURNAL_MAX: u64 = 64 * 1024;

/// Reads a session's state: the journal's last complete entry (a torn last entry, from a
/// hook killed while writing it, is skipped). `None` when the session was never mirrored.
pub fn load_state(path: &Path) -> io::Result<Option<SessionState>> {
    let state = crate::read::last_line_parsed(path, |line| {
        serde_json::from_slice::<SessionState>(line).ok()
    })?;
    Ok(state.map(|mut state| {
        state.listed = Some(listing::Listed::of(&state));
        state
    }))
}

/// Saves a session's state by appending one whole line to its journal. Replacing a file by
/// rename costs a synchronous data flush on ext4 (hundreds of microseconds), too slow for a
/// hook; an append does not. The journal is rewritten (atomically) only when it grows large.
/// Then the listings index gets the state's line if what it lists changed.
pub fn save_state(files: &SessionFiles, state: &mut SessionState) -> io::Result<()> {
    append_state(&files.state, state)?;
    listing::record(files, state);
    Ok(())
}

fn append_state(path: &Path, state: &SessionState) -> io::Result<()> {
    let mut line = serde_json::to_vec(state).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut file = fs::open_append(path)?;
    let len = file.metadata()?.len();
    if len + line.len() as u64 > STATE_JOURNAL_MAX {
        // Rewritten to this entry alone rather than appended to, then rewritten: each byte
        // once.
        return fs::write_atomic(path, &line);
    }
    if len > 0 && !ends_with_newline(path, len)? {
        // A hook killed while saving left a torn entry: glued to it, this entry would not
        // parse either, and the next hook would load an older state and write twice.
        line.insert(0, b'\n');
    }
    file.write_all(&line)
}

/// New lines for one mirror, and its lineage once they are written.
pub struct Batch {
    pub target: String,
    pub lines: Lines,
    pub records: u64,
    pub lineage: Lineage,
}

impl Batch {
    /// `lines` (carrying `records`) for `target`, whose lineage is `before` them: hashed
    /// here, where they were encoded (side by side in a catch-up step).
    pub fn new(target: &str, lines: Lines, records: u64, before: &Lineage) -> Self {
        let mut lineage = before.clone();
        lineage.extend_lines(lines.iter());
        Batch {
            target: target.to_owned(),
            lines,
            records,
            lineage,
        }
    }
}

/// What flushing found.
#[derive(Debug, Default)]
pub struct Flushed {
    pub problems: Vec<String>,
    /// Mirrors (by target) that are no longer where our lineage left them, and why: they
    /// must be forked, never appended to. Their pending lines stay for the fork to drop.
    pub diverged: Vec<(String, String)>,
    /// Pending database writes completed: the state saved before them still lists them, and
    /// the next hook would re-apply them to verify (file writes it verifies by their size).
    pub completed_database: bool,
}

/// Writes of a catch-up step larger than this are saved ahead by their length alone.
const LARGE_WRITE: usize = 256 * 1024;

/// Records `batches` in the lineage and saves the state first, then appends: a process killed
/// in between leaves a pending append that the next sync completes, so nothing is lost or
/// doubled. With `Ahead::Length` (a catch-up step, whose writes can be megabytes), a large
/// new write is saved by its length only: written once, at the cost of a fork if a kill
/// loses it; one that cannot go in now is saved again with its lines.
pub fn commit(
    files: &SessionFiles,
    state: &mut SessionState,
    mut batches: Vec<Batch>,
    now: &str,
    ahead: Ahead,
) -> io::Result<Flushed> {
    let catching_up = ahead == Ahead::Length;
    for (target, mirror) in &mut state.mirrors {
        let Some(at) = batches.iter().position(|b| b.target == *target) else {
            continue;
        };
        let batch = batches.swap_remove(at);
        mirror.lineage = batch.lineage;
        let data = batch.lines.into_text();
        match &mut mirror.pending {
            Some(pending) => pending.push(&data),
            None => {
                let mut pending =
                    PendingAppend::new(mirror.lineage.bytes - data.len() as u64, data);
                let free = mirror
                    .writer_lock
                    .as_deref()
                    .is_none_or(|lock| !lock::is_held_by_other(lock));
                if catching_up && free && pending.data.len() > LARGE_WRITE {
                    pending.ahead = Ahead::Length;
                    if mirror.kind == Kind::OpencodeDb {
                        pending.last_row = opencode::last_message(&pending.data);
                    }
                }
                mirror.pending = Some(pending);
            }
        }
        mirror.records += batch.records;
        mirror.last_sync = now.to_owned();
    }
    // A kill between the save and the writes is what the pending writes are saved for;
    // Ctrl-C and friends wait until the writes are done.
    let deferred = fs::DeferredSignals::hold();
    save_state(files, state)?;
    let flushed = flush_mirrors(state, catching_up, |_| true);
    let mut held_back = false;
    for pending in state
        .mirrors
        .values_mut()
        .filter_map(|m| m.pending.as_mut())
    {
        if pending.ahead == Ahead::Length && !pending.is_lost() {
            pending.ahead = Ahead::Lines;
            held_back = true;
        }
    }
    if held_back {
        save_state(files, state)?;
    }
    opencode::release_after_beside(deferred);
    Ok(flushed)
}

/// Completes every pending write whose target is free. Writes to a session the agent has
/// open wait, unreported, until it closes it. Called under the session lock, at the start of
/// a hook (crash recovery) and after `commit`.
///
/// A database write still running beside (the last catch-up step's) is left to
/// `flush_beside`: the step encodes meanwhile.
pub fn flush_pending(state: &mut SessionState) -> Flushed {
    let beside = opencode::running();
    flush_mirrors(state, false, |mirror| {
        !(beside
            && mirror.kind == Kind::OpencodeDb
            && mirror.pending.as_ref().is_some_and(PendingAppend::is_lost))
    })
}

/// Waits for the database write running beside, if any, and completes it as
/// `flush_pending` would have: called once the step's lines are encoded, before they are
/// committed.
pub fn flush_beside(state: &mut SessionState) -> Flushed {
    if !opencode::settle() {
        return Flushed::default();
    }
    flush_mirrors(state, false, |mirror| mirror.kind == Kind::OpencodeDb)
}

/// The pending writes of the mirrors `which` takes completed, side by side when
/// `catching_up` (megabytes each).
fn flush_mirrors(
    state: &mut SessionState,
    catching_up: bool,
    which: impl Fn(&Mirror) -> bool,
) -> Flushed {
    let jobs: Vec<(&String, &mut Mirror)> = state
        .mirrors
        .iter_mut()
        .filter(|(_, mirror)| mirror.pending.is_some() && which(mirror))
        .collect();
    let results = crate::parallel::map(jobs, catching_up, |(target, mirror)| {
        let result = match mirror.kind {
            Kind::Jsonl => flush_file(mirror),
            Kind::OpencodeDb => opencode::flush(mirror, catching_up),
        };
        if let Ok(Flush::Done) = result {
            mirror.pending = None;
        }
        let problem = |err: &io::Error| format!("{target} mirror {}: {err}", mirror.path.display());
        let result = result.map_err(|err| (err.kind(), problem(&err)));
        (target.clone(), mirror.kind, result)
    });
    let mut flushed = Flushed::default();
    for (target, kind, result) in results {
        match result {
            Ok(Flush::Done) => flushed.completed_database |= kind == Kind::OpencodeDb,
            Ok(Flush::Diverged(reason)) => flushed.diverged.push((target, reason)),
            Ok(Flush::Beside) | Err((io::ErrorKind::WouldBlock, _)) => {}
            Err((_, problem)) => flushed.problems.push(problem),
        }
    }
    flushed
}

/// Mirrors the agent moved on since we last wrote them (their file no longer ends where our
/// lines do), found before anything is planned for them: a fork is planned instead of an
/// append. Lines the agent only annotated a session with are accepted (we go on after them).
/// Mirrors with a write pending, or open in their agent, are left to `flush_pending`. Only
/// the targets `written` accepts are looked at.
pub fn moved_on(state: &mut SessionState, written: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (target, mirror) in &mut state.mirrors {
        if !written(target)
            || mirror.kind != Kind::Jsonl
            || mirror.pending.is_some()
            || mirror
                .writer_lock
                .as_deref()
                .is_some_and(lock::is_held_by_other)
        {
            continue;
        }
        if let Some(reason) = file_moved_on(mirror) {
            found.push((target.clone(), reason));
        }
    }
    found
}

fn file_moved_on(mirror: &mut Mirror) -> Option<String> {
    let expected = mirror.lineage.bytes;
    let len = match std::fs::symlink_metadata(&mirror.path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return (expected > 0).then(|| "deleted".into());
        }
        // Something planted in its place (a symlink, a FIFO), or unreadable: never taken
        // for a continuation; the append refuses it and says why.
        Ok(meta) if !meta.is_file() => return None,
        Err(_) => return None,
        Ok(meta) => meta.len(),
    };
    if len == expected {
        return None;
    }
    if only_annotated(mirror, expected, len).ok()? {
        mirror.lineage.bytes = len;
        return None;
    }
    Some(divergence(&mirror.path, len, expected))
}

/// Whether the bytes the agent added to a mirror file between `from` and `len` are only
/// lines its `benign` rule allows (annotations, not a continuation).
fn only_annotated(mirror: &Mirror, from: u64, len: u64) -> io::Result<bool> {
    let Some(benign) = mirror.benign.filter(|_| len > from) else {
        return Ok(false);
    };
    let added = crate::read::read_range(&mirror.path, from, len - from)?;
    let added = String::from_utf8_lossy(&added);
    Ok(added.ends_with('\n') && added.lines().all(|line| benign.allows(line)))
}

/// How a pending write ended.
pub enum Flush {
    Done,
    /// Running on its own thread (a catch-up's database write); the write stays saved by its
    /// length until a later sync finds it complete.
    Beside,
    /// The mirror changed outside session-sync; the reason says how.
    Diverged(String),
}

fn flush_file(mirror: &mut Mirror) -> io::Result<Flush> {
    let Some(pending) = &mirror.pending else {
        return Ok(Flush::Done);
    };
    if pending.is_lost() {
        return Ok(lost_file_write(&mirror.path, pending));
    }
    if mirror
        .writer_lock
        .as_deref()
        .is_some_and(lock::is_held_by_other)
    {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the agent has this session open; will catch up when it closes it",
        ));
    }
    let end = pending.end();
    let len = match std::fs::symlink_metadata(&mirror.path) {
        // Something planted where our file was (a symlink, a FIFO): never write through it,
        // never take it for a continuation; wait until our file is back.
        Ok(meta) if !meta.is_file() => {
            return Err(io::Error::other(
                "not a regular file any more; left alone, will catch up when it is",
            ));
        }
        Ok(meta) => meta.len(),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if pending.offset > 0 {
                return Ok(Flush::Diverged("deleted".into()));
            }
            0
        }
        Err(err) => return Err(err),
    };
    if len == end {
        // The append completed (the usual case: it ran right after the state was saved).
        return Ok(Flush::Done);
    }
    let written = if len > pending.offset {
        crate::read::read_range(&mirror.path, pending.offset, pending.data.len() as u64)?
    } else {
        Vec::new()
    };
    if len < pending.offset || !pending.data.as_bytes().starts_with(&written) {
        if only_annotated(mirror, pending.offset, len)? {
            // The agent only annotated the session: go on after its lines.
            fs::open_append(&mirror.path)?.write_all(pending.data.as_bytes())?;
            mirror.lineage.bytes = len + pending.data.len() as u64;
            return Ok(Flush::Done);
        }
        return Ok(Flush::Diverged(divergence(
            &mirror.path,
            len,
            pending.offset,
        )));
    }
    if pending.offset == 0 && len == 0 {
        // A new mirror: its first version appears whole, through a rename.
        fs::write_atomic(&mirror.path, pending.data.as_bytes())?;
        return Ok(Flush::Done);
    }
    let rest = &pending.data.as_bytes()[written.len()..];
    fs::open_append(&mirror.path)?.write_all(rest)?;
    Ok(Flush::Done)
}

/// A write saved by its length whose lines went with its process: done if the file reaches
/// its end (what follows is judged as for any mirror), else the mirror forks. Never waits:
/// there is nothing left to write.
fn lost_file_write(path: &Path, pending: &PendingAppend) -> Flush {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() >= pending.end() => Flush::Done,
        Ok(meta) if meta.is_file() => Flush::Diverged(format!(
            "a write of session-sync's was cut short ({} bytes of {})",
            meta.len().saturating_sub(pending.offset),
            pending.len
        )),
        Ok(_) => Flush::Diverged("not a regular file any more".into()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Flush::Diverged("deleted".into()),
        Err(err) => Flush::Diverged(format!("unreadable: {err}")),
    }
}

/// Why a mirror file of `len` bytes is not where we left it (`expected` bytes).
fn divergence(path: &Path, len: u64, expected: u64) -> String {
    if len < expected {
        return format!("shortened outside session-sync ({len} bytes, we wrote {expected})");
    }
    let first = crate::read::read_range(path, 0, len.min(64 * 1024)).unwrap_or_default();
    let first = first.split(|&b| b == b'\n').next().unwrap_or_default();
    if String::from_utf8_lossy(first).contains(r#""history_mode":"paginated""#) {
        "rewritten in Codex's paginated format (codex migrate-rollouts)".into()
    } else {
        "continued in the agent".into()
    }
}

fn ends_with_newline(path: &Path, len: u64) -> io::Result<bool> {
    Ok(crate::read::read_range(path, len - 1, 1)? == b"\n")
}

/// Appends one line to the hook log, keeping the log under a size cap.
pub fn log_line(log_path: &Path, line: &str) -> io::Result<()> {
    const MAX_LOG_BYTES: u64 = 1 << 20;
    if crate::read::size(log_path)? > MAX_LOG_BYTES {
        let _ = std::fs::rename(log_path, log_path.with_extension("log.1"));
    }
    let mut file = fs::open_append(log_path)?;
    file.write_all(format!("{}\n", line.replace('\n', " ")).as_bytes())
}

/// Rewrites a whole JSON document (config, settings) atomically, keeping the previous
/// version as `backup` when given.
pub fn write_json(path: &Path, value: &serde_json::Value, backup: Option<&Path>) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    replace(path, text.as_bytes(), backup)
}

/// Replaces a file (config, a user's settings) with `bytes` atomically, first copying the
/// previous version, if there is one, to `backup` when given.
pub fn replace(path: &Path, bytes: &[u8], backup: Option<&Path>) -> io::Result<()> {
    if let Some(backup) = backup {
        if path.exists() {
            std::fs::copy(path, backup)?;
        }
    }
    fs::write_atomic(path, bytes)
}

/// Every session's state, most recently synced first; unreadable ones are skipped.
pub fn all_sessions(data_dir: &Path) -> Vec<SessionState> {
    let Ok(dirs) = std::fs::read_dir(data_dir.join("sessions")) else {
        return Vec::new();
    };
    let mut sessions: Vec<SessionState> = dirs
        .flatten()
        .filter_map(|dir| {
            let files = SessionFiles::new(data_dir, &dir.file_name().to_string_lossy());
            load_state(&files.state).ok().flatten()
        })
        .collect();
    sessions.sort_by(|a, b| b.last_sync.cmp(&a.last_sync));
    sessions
}
