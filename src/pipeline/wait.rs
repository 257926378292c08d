//! Bounded polling of the transcript, outside the session lock.

use crate::read::read_complete_lines;
use std::path::Path;
use std::time::{Duration, Instant};

const POLL_EVERY: Duration = Duration::from_millis(5);

/// Polls the complete lines of `path` after `offset`, `limit` bytes at a time, until `found`
/// accepts one of them or `deadline` passes. Returns where the accepted line ends. Each line
/// is examined once; a line longer than `limit` ends the wait (what follows it cannot be read
/// within the limit).
pub fn until(
    path: &Path,
    offset: u64,
    limit: u64,
    deadline: Instant,
    found: impl Fn(&str) -> bool,
) -> Option<u64> {
    let mut scanned = offset;
    loop {
        if let Ok(Some(lines)) = read_complete_lines(path, scanned, limit) {
            let mut end = scanned;
            for line in lines.text.split_inclusive('\n') {
                end += line.len() as u64;
                if found(line) {
                    return Some(end);
                }
            }
            if lines.text.is_empty() && lines.cut {
                return None;
            }
            scanned = lines.end;
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL_EVERY);
    }
}
