//! What both test crates share: the binary under test, the recorded fixtures, and reading the
//! files the agents and session-sync write.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The session-sync binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_session-sync");

/// The recordings' neutralised home directory.
pub const RECORDED_HOME: &str = "/home/user";

/// `tests/fixtures/<name>`.
pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A JSONL file parsed line by line; every line must be JSON.
pub fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path:?}: {l:?}: {e}")))
        .collect()
}

/// Every file under `dir`, recursively, sorted (none if `dir` does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Waits for what hooks left to their children (each holds its place in its session's queue
/// until its work is done, including while it waits for the transcript without the session
/// lock): takes, then lets go of, every session's whole queue, then its lock, under the data
/// directory `data`.
pub fn settle(data: &Path) {
    let wait = std::time::Duration::from_secs(30);
    for entry in std::fs::read_dir(data.join("sessions"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let queue = entry.path().join("queue");
        if queue.exists() {
            let _ = session_sync::store::lock::drain_queue(&queue, wait);
        }
        let lock = entry.path().join("lock");
        if lock.exists() {
            let _ = session_sync::store::LockGuard::acquire(&lock, wait);
        }
    }
}
