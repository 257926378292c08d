//! Per-session mutual exclusion between concurrent hook processes, and the queue of hooks
//! whose work is not done yet.

use fs2::FileExt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// Holds an exclusive `flock` on a lock file in our state directory until dropped.
pub struct LockGuard {
    file: File,
}

impl LockGuard {
    /// Waits for the lock at most `timeout`; every wait on the hook path is bounded.
    ///
    /// `clean` and `uninstall` delete a session's lock while holding it. Whoever was waiting
    /// on the deleted file then locks a file no longer at `path`, beside whoever locks the new
    /// one there: so a lock counts only when the file locked is still the one at `path`, and
    /// otherwise the new one is locked in its place.
    pub fn acquire(path: &Path, timeout: Duration) -> io::Result<LockGuard> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(200);
        let mut opened = None;
        loop {
            let file = match opened.take() {
                Some(file) => file,
                None => match open(path) {
                    Ok(file) => file,
                    // Its directory was removed between creating it and opening the lock.
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {
                        give_up_at(deadline, timeout)?;
                        continue;
                    }
                    Err(err) => return Err(err),
                },
            };
            match FileExt::try_lock_exclusive(&file) {
                Ok(()) if is_at(&file, path)? => return Ok(LockGuard { file }),
                // Closing the stale file releases its lock.
                Ok(()) => give_up_at(deadline, timeout)?,
                Err(err) if would_block(&err) => {
                    give_up_at(deadline, timeout)?;
                    opened = Some(file);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// Opens (creating) a lock file; its directory is created only when missing, which on the
/// hook's path it seldom is.
fn open(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW);
    match (options.open(path), path.parent()) {
        (Err(err), Some(dir)) if err.kind() == io::ErrorKind::NotFound => {
            super::fs::create_dirs(dir)?;
            options.open(path)
        }
        (opened, _) => opened,
    }
}

/// True when `file` is the file at `path` (not one deleted, or replaced, since it was opened).
pub fn is_at(file: &File, path: &Path) -> io::Result<bool> {
    let held = file.metadata()?;
    match std::fs::symlink_metadata(path) {
        Ok(there) => Ok(there.dev() == held.dev() && there.ino() == held.ino()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

fn give_up_at(deadline: Instant, timeout: Duration) -> io::Result<()> {
    if Instant::now() >= deadline {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("session is locked by another hook for over {timeout:?}"),
        ));
    }
    Ok(())
}

/// Which `flock` to take.
#[derive(Clone, Copy)]
pub enum Flock {
    Shared,
    Exclusive,
}

/// Takes a `flock` on `file`, waiting at most `timeout`; released when the file is closed.
pub fn flock_within(file: &File, kind: Flock, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        let result = match kind {
            Flock::Shared => FileExt::try_lock_shared(file),
            Flock::Exclusive => FileExt::try_lock_exclusive(file),
        };
        match result {
            Err(err)
                if err.kind() == io::ErrorKind::WouldBlock
                    || err.raw_os_error() == Some(libc::EWOULDBLOCK) =>
            {
                give_up_at(deadline, timeout)?;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}

/// A place in a session's queue: a shared `flock` on its queue file, taken by a hook before
/// it returns and held by the hook's child until the child's work is done, including while
/// it waits for the transcript without the session lock. Whoever must see every hook's work
/// done takes the queue whole (`drain_queue`).
pub struct Queued {
    _file: File,
}

/// A session's whole queue: no hook's work is under way while it is held.
pub struct Drained {
    _file: File,
}

/// Joins the queue at `path`, waiting at most `timeout` for a holder of the whole queue.
pub fn join_queue(path: &Path, timeout: Duration) -> io::Result<Queued> {
    let file = open(path)?;
    retry_until(timeout, || FileExt::try_lock_shared(&file))?;
    Ok(Queued { _file: file })
}

/// Waits, at most `timeout`, until every hook in the queue at `path` is done, and keeps new
/// ones out until dropped.
pub fn drain_queue(path: &Path, timeout: Duration) -> io::Result<Drained> {
    let file = open(path)?;
    retry_until(timeout, || FileExt::try_lock_exclusive(&file))?;
    Ok(Drained { _file: file })
}

/// Retries `try_lock` (a non-blocking `flock`) until it succeeds or `timeout` passes.
fn retry_until(timeout: Duration, try_lock: impl Fn() -> io::Result<()>) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        match try_lock() {
            Ok(()) => return Ok(()),
            Err(err) if would_block(&err) => {
                give_up_at(deadline, timeout)?;
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            Err(err) => return Err(err),
        }
    }
}

fn would_block(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::WouldBlock || err.raw_os_error() == Some(libc::EWOULDBLOCK)
}

/// True when another process holds an exclusive `flock` on `path` (Codex's writer lock).
/// Probes with a non-blocking shared lock and releases it at once.
pub fn is_held_by_other(path: &Path) -> bool {
    let Ok(file) = crate::read::open_read(path) else {
        return false;
    };
    match FileExt::try_lock_shared(&file) {
        Ok(()) => {
            let _ = FileExt::unlock(&file);
            false
        }
        Err(_) => true,
    }
}
