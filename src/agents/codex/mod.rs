//! Codex CLI: rollouts under `$CODEX_HOME/sessions`, listed by `state_5.sqlite`.

pub mod read;
pub mod write;

use super::Agent;
use super::Finding;
use crate::config::{Config, TargetConfig};
use crate::encode::Encoder;
use crate::store::Mirror;
use std::path::PathBuf;

pub const AGENT: Agent = Agent {
    name: "codex",
    display: "Codex",
    binary: Some("codex"),
    verified: Some("0.169.0"),
    home: crate::paths::codex_home,
    store,
    live_target: true,
    reader: Some(&read::READER),
    writer: Some(writer),
    resume: |id, _| format!("codex resume {id}"),
    names_session: |header, id| header["type"] == "session_meta" && header["payload"]["id"] == id,
    not_ready: || None,
    checks: &[index],
    mirror_checks: &[paginated],
};

fn writer(config: &Config, settings: &TargetConfig) -> Option<Box<dyn Encoder>> {
    Some(Box::new(write::Codex {
        home: crate::paths::codex_home()?,
        style: settings.tool_style,
        max_output_bytes: config.max_output_bytes,
    }))
}

fn store() -> Option<PathBuf> {
    crate::paths::codex_home().map(|home| home.join("sessions"))
}

/// Codex lists sessions from `state_5.sqlite`; a mirror gets a row there only when the table
/// is the one our row was verified against.
fn index() -> Option<Finding> {
    let db = crate::paths::codex_home()?.join("state_5.sqlite");
    if !db.exists() {
        return Some(Finding::ok(format!(
            "codex index {} not created yet: Codex will list mirrors when it creates it",
            db.display()
        )));
    }
    Some(match crate::store::index::codex_threads_mismatch(&db) {
        None => Finding::ok(format!(
            "codex index {}: mirrors get a row, so `codex resume --last` and the picker show them",
            db.display()
        )),
        Some(why) => Finding::warn(
            format!(
                "codex index {}: {why}; mirrors are not listed there",
                db.display()
            ),
            "resume them by id (`session-sync status` shows the command); Codex's format changed since 0.169.0",
        ),
    })
}

/// `codex migrate-rollouts --apply` rewrites legacy files as paginated, where a line without an
/// ordinal breaks `codex resume`.
fn paginated(mirror: &Mirror) -> Option<Finding> {
    let line = crate::read::first_line(&mirror.path, 1 << 20).ok()??;
    let header: serde_json::Value = serde_json::from_str(&line).ok()?;
    (header["payload"]["history_mode"] == "paginated").then(|| {
        Finding::warn(
            format!(
                "codex mirror {} is in Codex's paginated format ({})",
                mirror.id,
                mirror.path.display()
            ),
            "session-sync does not append to it: the next sync forks a new mirror, which `session-sync status` then shows",
        )
    })
}
