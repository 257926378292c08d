//! Bounded polling of the transcript, outside the session lock.

use crate::read::read_complete_lines;
use std::path::Path;
use std::time::{Duration, Instant};

const POLL_EVERY: Duration = Duration::from_millis(5);

/// Polls the complete lines of `path` after `offset`, `limit` bytes at a time, until `found`
/// accepts a newly read chunk or `deadline` passes. Each line is examined once; a line longer
/// than `limit` ends the wait (what follows it cannot be read within the limit).
pub fn until(
    path: &Path,
    offset: u64,
    limit: u64,
    deadline: Instant,
    found: impl Fn(&str) -> bool,
) -> bool {
    let mut scanned = offset;
    loop {
        if let Ok(Some(lines)) = read_complete_lines(path, scanned, limit) {
            if !lines.text.is_empty() && found(&lines.text) {
                return true;
            }
            if lines.text.is_empty() && lines.cut {
                return false;
            }
            scanned = lines.end;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL_EVERY);
    }
}
