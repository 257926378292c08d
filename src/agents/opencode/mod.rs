//! OpenCode: rows of its SQLite database `opencode.db`.

pub mod read;
pub mod write;

use super::Agent;
use super::Finding;
use crate::config::{Config, TargetConfig};
use crate::encode::Encoder;
use std::path::PathBuf;

pub const AGENT: Agent = Agent {
    name: "opencode",
    display: "OpenCode",
    binary: Some("opencode"),
    verified: Some("1.18.33"),
    home: crate::paths::opencode_db,
    store,
    live_target: true,
    reader: Some(&read::READER),
    writer: Some(writer),
    resume: |id, _| format!("opencode -s {id}"),
    names_session: |_, _| false,
    not_ready,
    checks: &[database],
    mirror_checks: &[],
};

fn writer(config: &Config, settings: &TargetConfig) -> Option<Box<dyn Encoder>> {
    Some(Box::new(write::Opencode {
        db: crate::paths::opencode_db()?,
        model: settings.model.clone(),
        style: settings.tool_style,
        max_output_bytes: config.max_output_bytes,
    }))
}

fn store() -> Option<PathBuf> {
    crate::paths::opencode_db().and_then(|db| db.parent().map(std::path::Path::to_owned))
}

/// OpenCode's database exists (we never create it), has the tables mirrors go into, and its
/// sessions can be read (`mirror --from`, `sessions`, `export`, `archive`).
fn database() -> Option<Finding> {
    let db = crate::paths::opencode_db()?;
    if let Some(problem) = crate::store::opencode::schema_problem(&db) {
        return Some(Finding::fail(
            format!("opencode database {}: {problem}", db.display()),
            "run `opencode` once so that it creates its database, then check again",
        ));
    }
    Some(match read::unreadable(&db) {
        None => Finding::ok(format!(
            "opencode database {} takes mirrors, and its sessions can be read",
            db.display()
        )),
        Some(problem) => Finding::warn(
            format!(
                "opencode database {} takes mirrors, but its sessions cannot be read: {problem}",
                db.display()
            ),
            "`sessions`, `mirror --from opencode`, `export` and `archive` leave OpenCode's sessions out until session-sync reads this schema: update session-sync",
        ),
    })
}

/// OpenCode creates its database on first run; we never create it.
fn not_ready() -> Option<String> {
    let db = crate::paths::opencode_db()?;
    (!db.exists()).then(|| {
        format!(
            "its database {} does not exist yet: run `opencode` once",
            db.display()
        )
    })
}
