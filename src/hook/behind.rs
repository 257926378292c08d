//! The hook's child: what the hook leaves so that Claude Code never waits for it. Either the
//! whole event, when the transcript does not show the line it needs yet (the child waits for
//! Claude Code's flush, then syncs), or database rows (opening OpenCode's SQLite database and
//! committing costs about as much as the rest of the hook) and transcript left to read.
//! The child inherits the session lock (a `flock` belongs to the open file, which both
//! share), so the next hook of the session waits for it, and a killed child leaves its work
//! to the next hook: rows pending, or the transcript unread (and read then, in order).

use super::Report;
use crate::pipeline::{self, Left};
use std::path::Path;

pub fn finish(left: Left, log: &Path) {
    // SAFETY: the hook runs on one thread, so the child has no lock held by a thread that
    // does not exist in it; it runs the hook's own code (rows, then a catch-up), then `_exit`.
    match unsafe { libc::fork() } {
        0 => {
            detach();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut warnings = Vec::new();
                let problems = pipeline::finish(left, &mut warnings);
                (problems, warnings)
            }));
            let (problems, warnings) = outcome.unwrap_or_else(|_| {
                let problem = "internal error while writing behind the hook".to_owned();
                (vec![problem], Vec::new())
            });
            for warning in warnings {
                Report::warn(warning).write(log);
            }
            if !problems.is_empty() {
                Report::error(problems.join("; ")).write(log);
            }
            // SAFETY: ends the child without running the parent's exit handlers twice.
            unsafe { libc::_exit(0) }
        }
        -1 => {
            // No child: write now; the next hook reads on.
            let problems = pipeline::finish_here(left);
            if !problems.is_empty() {
                Report::error(problems.join("; ")).write(log);
            }
        }
        _ => {
            // The child holds the lock on; unlocking here would release it for both.
            std::mem::forget(left.into_lock());
        }
    }
}

/// The child gives up the hook's stdin, stdout and stderr (Claude Code reads them until they
/// close) and leaves its process group.
fn detach() {
    // SAFETY: plain system calls on descriptors this process owns.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..=2 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
        libc::setsid();
    }
}
