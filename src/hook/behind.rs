//! The hook's child syncs the hook's event, so that Claude Code never waits for it: not for
//! its own transcript flush (the child waits for the line the event needs), nor for writing
//! six targets, nor for a database commit. The child inherits the hook's place in the
//! session's queue and the session lock (a `flock` belongs to the open file, which both
//! share): the next hook of the session waits for it while it syncs (not while it waits for
//! the transcript), and a killed child leaves its work to the next hook: appends pending, or
//! the transcript unread (and read then, in order).

use super::Report;
use crate::pipeline::{self, Taken};
use std::path::Path;

pub fn finish(taken: Taken, log: &Path) {
    // The child's lines name the event and the session, as the hook's own do.
    let event = taken.event().clone();
    let line = |level: &'static str, message: String| Report::about(&event, level, message);
    let mut report = |warnings: Vec<String>, problems: Vec<String>| {
        for warning in warnings {
            line("WARN", warning).write(log);
        }
        if !problems.is_empty() {
            line("ERROR", problems.join("; ")).write(log);
        }
    };
    // SAFETY: the hook runs on one thread, so the child has no lock held by a thread that
    // does not exist in it; it runs the hook's own code (the sync, a catch-up), then `_exit`.
    match unsafe { libc::fork() } {
        0 => {
            detach();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pipeline::finish(taken, true, &mut report);
            }));
            if outcome.is_err() {
                report(
                    Vec::new(),
                    vec!["internal error while syncing behind the hook".into()],
                );
            }
            // SAFETY: ends the child without running the parent's exit handlers twice.
            unsafe { libc::_exit(0) }
        }
        // No child: sync now; the next hook reads on.
        -1 => pipeline::finish(taken, false, &mut report),
        // The child holds the queue and the lock on; releasing them here would for both.
        _ => taken.leave_to_child(),
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
