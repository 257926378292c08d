//! Write-behind for database mirrors. Opening OpenCode's SQLite database and committing to it
//! costs about as much as the rest of the hook; Claude Code waits for the hook, not for the
//! mirror. So once the state (with the rows pending) is saved and every file mirror written,
//! the hook forks: the parent exits at once, the child writes the rows and saves the state.
//! The child inherits the session lock (a `flock` belongs to the open file, which both
//! share), so the next hook of the session waits for it, and a killed child leaves rows
//! pending that the next hook writes.

use super::Report;
use crate::store::{self, LockGuard, SessionState};
use std::path::{Path, PathBuf};

/// Writes left to finish under the session lock.
pub struct Job {
    pub lock: LockGuard,
    pub state: SessionState,
    pub state_path: PathBuf,
}

pub fn finish(job: Job, log: &Path) {
    // SAFETY: the hook runs on one thread, so the child has no lock held by a thread that
    // does not exist in it; it runs only this module's code, then `_exit`.
    match unsafe { libc::fork() } {
        0 => {
            detach();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write(job)));
            let message = match outcome {
                Ok(problems) if problems.is_empty() => None,
                Ok(problems) => Some(problems.join("; ")),
                Err(_) => Some("internal error while writing database mirrors".into()),
            };
            if let Some(message) = message {
                Report::error(message).write(log);
            }
            // SAFETY: ends the child without running the parent's exit handlers twice.
            unsafe { libc::_exit(0) }
        }
        -1 => {
            // No child: write now.
            let problems = write(job);
            if !problems.is_empty() {
                Report::error(problems.join("; ")).write(log);
            }
        }
        _ => {
            // The child holds the lock on; unlocking here would release it for both.
            std::mem::forget(job.lock);
        }
    }
}

fn write(mut job: Job) -> Vec<String> {
    let flushed = store::flush_pending(&mut job.state, store::Kinds::All);
    let mut problems = flushed.problems;
    if flushed.completed_database {
        if let Err(err) = store::save_state(&job.state_path, &job.state) {
            problems.push(format!(
                "cannot save state {}: {err}",
                job.state_path.display()
            ));
        }
    }
    problems
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
