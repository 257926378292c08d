//! Per-session mutual exclusion between concurrent hook processes.

use fs2::FileExt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Holds an exclusive `flock` on a lock file in our state directory until dropped.
pub struct LockGuard {
    file: File,
}

impl LockGuard {
    /// Waits for the lock at most `timeout`; every wait on the hook path is bounded.
    pub fn acquire(path: &Path, timeout: Duration) -> io::Result<LockGuard> {
        if let Some(dir) = path.parent() {
            super::fs::create_dirs(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(200);
        loop {
            match FileExt::try_lock_exclusive(&file) {
                Ok(()) => return Ok(LockGuard { file }),
                Err(err)
                    if err.kind() == io::ErrorKind::WouldBlock
                        || err.raw_os_error() == Some(libc::EWOULDBLOCK) =>
                {
                    if Instant::now() >= deadline {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("session is locked by another hook for over {timeout:?}"),
                        ));
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(10));
                }
                Err(err) => return Err(err),
            }
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}

/// True when another process holds an exclusive `flock` on `path` (Codex's writer lock).
/// Probes with a non-blocking shared lock and releases it at once.
pub fn is_held_by_other(path: &Path) -> bool {
    let Ok(file) = super::fs::open_read(path) else {
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
