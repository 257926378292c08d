//! Removing what session-sync created (uninstall, clean). The callers decide what is ours;
//! these never follow a symlink, and take "already gone" as done (`false`).

use super::{LockGuard, Mirror, SessionFiles};
use crate::encode::{Index, Kind};
use std::io;
use std::path::Path;

/// Removes the file at `path`.
pub fn file(path: &Path) -> io::Result<bool> {
    gone_is_false(std::fs::remove_file(path))
}

/// Removes the directory `path` if it is empty; `false` when it is not.
pub fn dir_if_empty(path: &Path) -> io::Result<bool> {
    match std::fs::remove_dir(path) {
        Err(err) if err.kind() == io::ErrorKind::DirectoryNotEmpty => Ok(false),
        result => gone_is_false(result),
    }
}

/// Removes a session's state (its journal, lock and queue), and its directory once empty; `false`
/// when it had no journal. Only under the session's lock, which the caller shows it holds: a
/// hook waiting on the lock finds it deleted once it gets it, and locks the new one
/// (`LockGuard::acquire`).
pub fn session(data_dir: &Path, session_id: &str, _held: &LockGuard) -> io::Result<bool> {
    let files = SessionFiles::new(data_dir, session_id);
    let removed = file(&files.state)?;
    file(&files.lock)?;
    file(&files.queue)?;
    file(&files.records)?;
    let dir_gone = match files.state.parent() {
        Some(dir) => dir_if_empty(dir)? || !dir.exists(),
        None => false,
    };
    super::listing::forget(data_dir, session_id, dir_gone);
    Ok(removed)
}

/// Removes a mirror the caller found to be exactly ours: its file (or OpenCode rows), what
/// lists it (Codex's index row, Copilot's workspace file) and its session folder once empty.
pub fn mirror(mirror: &Mirror) -> io::Result<bool> {
    let removed = match mirror.kind {
        Kind::OpencodeDb => return super::opencode::remove(mirror),
        Kind::Jsonl => file(&mirror.path)?,
    };
    match &mirror.index {
        Some(Index::CopilotWorkspace { path }) => {
            file(path)?;
            if let Some(dir) = path.parent() {
                dir_if_empty(dir)?;
            }
        }
        Some(index @ Index::CodexThreads { .. }) => super::index::remove(index, mirror)?,
        None => {}
    }
    Ok(removed)
}

fn gone_is_false(result: io::Result<()>) -> io::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

/// Removes the import journal (every transaction's `tx.json` and `ops.jsonl`), and its
/// directories once empty; returns how many transactions went.
pub fn journal(data_dir: &Path) -> io::Result<usize> {
    let dir = data_dir.join("journal");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let tx = entry.path();
        let removed = file(&tx.join("tx.json"))?;
        file(&tx.join("ops.jsonl"))?;
        if dir_if_empty(&tx)? && removed {
            count += 1;
        }
    }
    dir_if_empty(&dir)?;
    Ok(count)
}

/// Removes the files in `dir` whose names end with one of `suffixes`, then `dir` if empty.
pub fn files_ending(dir: &Path, suffixes: &[&str]) -> io::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if suffixes.iter().any(|s| name.ends_with(s)) && file(&entry.path())? {
            count += 1;
        }
    }
    dir_if_empty(dir)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_twice_says_it_was_gone() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("f"), "x").unwrap();
        assert!(!dir_if_empty(&sub).unwrap());
        assert!(file(&sub.join("f")).unwrap());
        assert!(!file(&sub.join("f")).unwrap());
        assert!(dir_if_empty(&sub).unwrap());
        assert!(!dir_if_empty(&sub).unwrap());
    }

    #[test]
    fn a_session_loses_its_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let files = SessionFiles::new(dir.path(), "s1");
        let session_dir = files.state.parent().unwrap();
        std::fs::create_dir_all(session_dir).unwrap();
        std::fs::write(&files.state, "{}\n").unwrap();
        std::fs::write(session_dir.join("notes"), "mine").unwrap();
        let lock = LockGuard::acquire(&files.lock, std::time::Duration::ZERO).unwrap();
        assert!(session(dir.path(), "s1", &lock).unwrap());
        assert!(session_dir.join("notes").exists());
        std::fs::remove_file(session_dir.join("notes")).unwrap();
        let lock = LockGuard::acquire(&files.lock, std::time::Duration::ZERO).unwrap();
        assert!(!session(dir.path(), "s1", &lock).unwrap());
        assert!(!session_dir.exists());
    }
}
