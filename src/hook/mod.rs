//! `session-sync hook`: what Claude Code runs on every event.
//!
//! Contract: exit 0 and print nothing, whatever the input; every wait bounded; failures go to
//! the hook log in our data directory. The work: reduce the payload to an event, find the
//! project's config, take the session's lock, and hand the event with the lock to a child
//! (`behind`) that syncs it through the session pipeline (`crate::pipeline`) after the hook
//! returned: Claude Code waits neither for its own transcript flush nor for any target.

mod archive;
mod behind;
mod event;
mod stdin;
mod wire;

use crate::config;
use crate::encode;
use crate::paths;
use crate::pipeline;
use crate::store::{self, SessionFiles};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static PANIC_MESSAGE: OnceLock<String> = OnceLock::new();

/// Runs the hook; never panics, never prints, always returns (the caller exits 0).
pub fn run() {
    std::panic::set_hook(Box::new(|info| {
        let _ = PANIC_MESSAGE.set(info.to_string());
    }));
    let data_dir = paths::data_dir();
    let mut behind = None;
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let input = match stdin::read_all() {
            Ok(input) => input,
            Err(problem) => return vec![Report::error(problem)],
        };
        match handle(&input, data_dir.as_deref(), &mut behind) {
            Ok(warnings) => warnings,
            Err(failure) => vec![failure],
        }
    }));
    let reports = outcome.unwrap_or_else(|_| {
        vec![Report::error(format!(
            "internal error: {}",
            PANIC_MESSAGE.get().map_or("panic", String::as_str)
        ))]
    });
    let Some(dir) = data_dir else { return };
    let log = paths::hook_log(&dir);
    for report in reports {
        report.write(&log);
    }
    if let Some(job) = behind {
        behind::finish(job, &log);
    }
}

/// A line for the hook log: ERROR when the hook could not do its work, WARN when it did it in
/// a degraded way (e.g. without the transcript's help).
#[derive(Debug)]
struct Report {
    level: &'static str,
    event: Option<String>,
    session: Option<String>,
    message: String,
}

impl Report {
    fn write(&self, log: &Path) {
        let line = format!(
            "{} {} {} {}: {}",
            encode::rfc3339(chrono::Utc::now()),
            self.level,
            self.event.as_deref().unwrap_or("-"),
            self.session.as_deref().unwrap_or("-"),
            self.message
        );
        let _ = store::log_line(log, &line);
    }

    fn error(message: impl Into<String>) -> Self {
        Report::new("ERROR", message.into())
    }

    /// A line about `event`'s hook.
    fn about(event: &pipeline::HookEvent, level: &'static str, message: String) -> Self {
        Report {
            level,
            event: Some(event.name.clone()),
            session: Some(event.session_id.clone()),
            message,
        }
    }

    fn new(level: &'static str, message: String) -> Self {
        Report {
            level,
            event: None,
            session: None,
            message,
        }
    }
}

/// Does the hook's work; returns warnings, or the failure that stopped it.
fn handle(
    input: &[u8],
    data_dir: Option<&Path>,
    taken: &mut Option<pipeline::Taken>,
) -> Result<Vec<Report>, Report> {
    let event = match event::reduce(input) {
        Ok(Some(event)) => event,
        Ok(None) => return Ok(Vec::new()),
        Err(problem) => return Err(Report::error(problem)),
    };
    let report = |level: &'static str, message: String| Report::about(&event, level, message);
    let fail = |message: String| report("ERROR", message);
    // Archiving does not depend on this project mirroring anything.
    let mut reports = Vec::new();
    if event.name == "SessionEnd" {
        if let Some(dir) = data_dir {
            if let Err(problem) = archive::start(dir) {
                reports.push(report("WARN", problem));
            }
        }
    }
    let Some(data_dir) = data_dir else {
        return Err(fail(
            "no home directory: cannot find the data directory".into(),
        ));
    };
    let cwd = event
        .cwd
        .clone()
        .or_else(|| std::env::var_os("CLAUDE_PROJECT_DIR").map(PathBuf::from))
        .ok_or_else(|| fail("payload has no absolute cwd".into()))?;
    let safe_id = pipeline::is_safe_id(&event.session_id);
    let files = SessionFiles::new(data_dir, &event.session_id);
    let mut located = config::locate(&cwd, Some(data_dir)).map_err(|e| fail(e.to_string()))?;
    if located.is_none() && safe_id {
        // A session mirrored so far keeps its project's configuration when its cwd moves
        // outside the project (a worktree, say).
        if let Ok(Some(state)) = store::load_state(&files.state) {
            located =
                config::locate(&state.project, Some(data_dir)).map_err(|e| fail(e.to_string()))?;
        }
    }
    let Some(located) = located else {
        return Ok(reports);
    };
    if located.paused() || located.config.enabled_targets().is_empty() {
        return Ok(reports);
    }
    if !safe_id {
        return Err(fail("session_id is not a plain id; ignored".into()));
    }
    let transcript = event
        .transcript
        .clone()
        .ok_or_else(|| fail("payload has no absolute transcript_path".into()))?;
    *taken = Some(pipeline::take(&event, cwd, transcript, located, data_dir).map_err(fail)?);
    Ok(reports)
}
