//! Archiving at SessionEnd (`init --archive`): the hook starts `session-sync archive REPO
//! --commit` (`--push` with `archive.push`) in its own session, detached, and returns at once;
//! Claude Code never waits for it.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Starts the archive run when the global configuration asks for one. `Ok(false)` when it
/// does not.
pub fn start(data_dir: &Path) -> Result<bool, String> {
    let settings = crate::archive::settings(data_dir).map_err(|e| e.to_string())?;
    let (true, Some(repo)) = (settings.on_session_end, settings.repo.clone()) else {
        return Ok(false);
    };
    let binary = std::env::current_exe()
        .map_err(|e| format!("cannot find the session-sync binary to archive with: {e}"))?;
    let mut command = Command::new(binary);
    command
        .arg("archive")
        .arg(repo)
        .arg(if settings.push { "--push" } else { "--commit" })
        // Nothing may hold Claude Code's pipes open: they are how it knows the hook ended.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid(2) only, between fork and exec: async-signal-safe, touches no memory.
    // A new session leaves the hook's process group and terminal, so that Claude Code ending
    // them does not end the archive run.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    // Not waited for: the hook exits first, and init adopts the run.
    command
        .spawn()
        .map_err(|e| format!("cannot start the archive run: {e}"))?;
    Ok(true)
}
