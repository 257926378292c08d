//! The only module that writes files: locks, appends, atomic rewrites, state, lineage, logs.

pub mod fs;
pub mod lock;
pub mod state;

pub use lock::LockGuard;
pub use state::{Lineage, Mirror, PendingAppend, SessionState};

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where a session's state lives under the data directory.
pub struct SessionFiles {
    pub state: PathBuf,
    pub lock: PathBuf,
}

impl SessionFiles {
    pub fn new(data_dir: &Path, session_id: &str) -> Self {
        let dir = data_dir.join("sessions").join(session_id);
        SessionFiles {
            state: dir.join("state.jsonl"),
            lock: dir.join("lock"),
        }
    }
}

/// The state journal is compacted to its last entry past this size.
const STATE_JOURNAL_MAX: u64 = 512 * 1024;

/// Reads a session's state: the journal's last complete entry (a torn last entry, from a
/// hook killed while writing it, is skipped). `None` when the session was never mirrored.
pub fn load_state(path: &Path) -> io::Result<Option<SessionState>> {
    fs::last_line_parsed(path, |line| serde_json::from_slice(line).ok())
}

/// Saves a session's state by appending one whole line to its journal. Replacing a file by
/// rename costs a synchronous data flush on ext4 (hundreds of microseconds), too slow for a
/// hook; an append does not. The journal is rewritten (atomically) only when it grows large.
pub fn save_state(path: &Path, state: &SessionState) -> io::Result<()> {
    let mut line = serde_json::to_vec(state).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut file = fs::open_append(path)?;
    let len = file.metadata()?.len();
    if len > 0 && !ends_with_newline(path, len)? {
        // A hook killed while saving left a torn entry: glued to it, this entry would not
        // parse either, and the next hook would load an older state and write twice.
        line.insert(0, b'\n');
    }
    file.write_all(&line)?;
    if len + line.len() as u64 > STATE_JOURNAL_MAX {
        fs::write_atomic(path, line.trim_ascii_start())?;
    }
    Ok(())
}

/// New lines for one mirror.
pub struct Batch {
    pub target: String,
    pub lines: Vec<String>,
    pub records: u64,
}

/// Records `batches` in the lineage and saves the state first, then appends: a hook killed in
/// between leaves a pending append that the next hook completes, so nothing is lost or doubled.
/// Returns the errors of appends that must wait (they stay pending).
pub fn commit(
    path: &Path,
    state: &mut SessionState,
    batches: Vec<Batch>,
    now: &str,
) -> io::Result<Vec<String>> {
    for batch in batches {
        let Some(mirror) = state.mirrors.get_mut(&batch.target) else {
            continue;
        };
        let mut data = String::new();
        for line in &batch.lines {
            mirror.lineage.extend(line);
            data.push_str(line);
            data.push('\n');
        }
        match &mut mirror.pending {
            Some(pending) => pending.data.push_str(&data),
            None => {
                mirror.pending = Some(PendingAppend {
                    offset: mirror.lineage.bytes - data.len() as u64,
                    data,
                })
            }
        }
        mirror.records += batch.records;
        mirror.last_sync = now.to_owned();
    }
    save_state(path, state)?;
    Ok(flush_pending(state))
}

/// Completes every pending append whose target is free; returns the problems met. Appends to a
/// session the agent has open wait, unreported, until it closes it. Called under the session
/// lock, at the start of a hook (crash recovery) and after `commit`.
pub fn flush_pending(state: &mut SessionState) -> Vec<String> {
    let mut problems = Vec::new();
    for (target, mirror) in &mut state.mirrors {
        match flush_mirror(mirror) {
            Err(err) if err.kind() != io::ErrorKind::WouldBlock => {
                problems.push(format!("{target} mirror {}: {err}", mirror.path.display()));
            }
            _ => {}
        }
    }
    problems
}

fn flush_mirror(mirror: &mut Mirror) -> io::Result<()> {
    let Some(pending) = &mirror.pending else {
        return Ok(());
    };
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
    let end = pending.offset + pending.data.len() as u64;
    let len = fs::size(&mirror.path)?;
    if len == end {
        // The append completed (the usual case: it ran right after the state was saved).
        mirror.pending = None;
        return Ok(());
    }
    let written = if len > pending.offset {
        fs::read_range(&mirror.path, pending.offset, pending.data.len() as u64)?
    } else {
        Vec::new()
    };
    if len < pending.offset || !pending.data.as_bytes().starts_with(&written) {
        // The file is not where our lineage left it (truncated, or someone else wrote there).
        // Append after whatever is there, on a fresh line, and re-base the lineage on it.
        let mut file = fs::open_append(&mirror.path)?;
        let start = file.metadata()?.len();
        let separator = if start > 0 && !ends_with_newline(&mirror.path, start)? {
            "\n"
        } else {
            ""
        };
        file.write_all(format!("{separator}{}", pending.data).as_bytes())?;
        let expected = pending.offset;
        mirror.lineage.bytes = start + separator.len() as u64 + pending.data.len() as u64;
        mirror.pending = None;
        return Err(io::Error::other(format!(
            "file changed outside session-sync (expected {expected} bytes, found {len}); appended after it"
        )));
    }
    if len < end {
        let rest = &pending.data.as_bytes()[written.len()..];
        fs::open_append(&mirror.path)?.write_all(rest)?;
    }
    mirror.pending = None;
    Ok(())
}

fn ends_with_newline(path: &Path, len: u64) -> io::Result<bool> {
    Ok(fs::read_range(path, len - 1, 1)? == b"\n")
}

/// Appends one line to the hook log, keeping the log under a size cap.
pub fn log_line(log_path: &Path, line: &str) -> io::Result<()> {
    const MAX_LOG_BYTES: u64 = 1 << 20;
    if fs::size(log_path)? > MAX_LOG_BYTES {
        let _ = std::fs::rename(log_path, log_path.with_extension("log.1"));
    }
    let mut file = fs::open_append(log_path)?;
    file.write_all(format!("{}\n", line.replace('\n', " ")).as_bytes())
}

/// Rewrites a whole JSON document (config, settings) atomically, keeping the previous
/// version as `backup` when given.
pub fn write_json(path: &Path, value: &serde_json::Value, backup: Option<&Path>) -> io::Result<()> {
    if let Some(backup) = backup {
        if path.exists() {
            std::fs::copy(path, backup)?;
        }
    }
    let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    text.push('\n');
    fs::write_atomic(path, text.as_bytes())
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
