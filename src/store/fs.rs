//! File primitives for writing: private directories, whole-file atomic rewrites, whole-line
//! appends, cutting an append back, signals held off during a write. Reading is `crate::read`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

const PRIVATE_DIR: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;

/// Creates `dir` and its missing parents, new ones readable by the user only.
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR)
        .create(dir)
}

/// Replaces `path` with `bytes` through a temporary file and a rename, so readers see either
/// the old or the new content. A symlink at `path` is replaced, not followed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dirs(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(PRIVATE_FILE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)?;
        file.write_all(bytes)?;
        // Keep the permissions of a file we replace (a user's settings.json stays as it was).
        if let Ok(meta) = fs::symlink_metadata(path) {
            if meta.is_file() {
                file.set_permissions(fs::Permissions::from_mode(meta.permissions().mode()))?;
            }
        }
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Opens `path` for appending, creating it private; never follows a symlink, never waits on a
/// FIFO found there.
pub fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        create_dirs(dir)?;
    }
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(PRIVATE_FILE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Cuts `path` back to `len` bytes (undoing an append); never follows a symlink.
pub fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    file.set_len(len)
}

/// Holds off Ctrl-C, `kill` and a closed terminal (for this thread) while alive; they take
/// effect when it is dropped, once the writes it covers are done.
pub struct DeferredSignals {
    previous: libc::sigset_t,
}

impl DeferredSignals {
    pub fn hold() -> Self {
        // SAFETY: fills sigsets we own and changes only this thread's signal mask.
        unsafe {
            let mut held: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut held);
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
                libc::sigaddset(&mut held, signal);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &held, &mut previous);
            DeferredSignals { previous }
        }
    }
}

impl Drop for DeferredSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask `hold` saved, for the same thread.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut());
        }
    }
}
