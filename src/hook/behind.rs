//! Write-behind for database mirrors. Opening OpenCode's SQLite database and committing to it
//! costs about as much as the rest of the hook; Claude Code waits for the hook, not for the
//! mirror. So once the state (with the rows pending) is saved and every file mirror written,
//! the hook forks: the parent exits at once, the child writes the rows and saves the state.
//! The child inherits the session lock (a `flock` belongs to the open file, which both
//! share), so the next hook of the session waits for it, and a killed child leaves rows
//! pending that the next hook writes. The same child reads on in a transcript the hook did not
//! read to its end (`Rest`).

use super::Report;
use crate::config::Located;
use crate::store::{self, LockGuard, SessionState};
use std::path::{Path, PathBuf};

/// Writes left to finish under the session lock, and transcript left to read after them.
pub struct Job {
    pub lock: LockGuard,
    pub state: SessionState,
    pub state_path: PathBuf,
    pub rest: Option<Rest>,
}

/// A session whose transcript the hook did not read to its end: the child reads on, a step at
/// a time under the lock, as `mirror` does, so that hooks coming meanwhile get their turn.
pub struct Rest {
    pub session_id: String,
    pub transcript: PathBuf,
    pub cwd: PathBuf,
    pub data_dir: PathBuf,
    pub located: Located,
}

pub fn finish(mut job: Job, log: &Path) {
    // SAFETY: the hook runs on one thread, so the child has no lock held by a thread that
    // does not exist in it; it runs the hook's own code (rows, then a catch-up), then `_exit`.
    match unsafe { libc::fork() } {
        0 => {
            detach();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let rest = job.rest.take();
                let mut problems = write(job);
                let mut warnings = Vec::new();
                if let Some(rest) = rest {
                    problems.extend(read_on(rest, &mut warnings));
                }
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

fn read_on(rest: Rest, warnings: &mut Vec<String>) -> Vec<String> {
    let Rest {
        session_id,
        transcript,
        cwd,
        data_dir,
        located,
    } = rest;
    super::backfill(
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
