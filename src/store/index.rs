//! Indexes agents list sessions from: Codex's `threads` table in `state_5.sqlite` and Copilot
//! CLI's `workspace.yaml`. Kept current so the agents' "most recent session" pick the mirror.

use super::{fs, sql_error};
use crate::encode::Index;
use rusqlite::{Connection, OpenFlags, params};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::time::Duration;

/// What an index entry says about a mirror.
pub struct Entry<'a> {
    pub id: &'a str,
    pub path: &'a Path,
    pub cwd: &'a Path,
    pub title: &'a str,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Brings `index` up to date with `entry`. An index we cannot use as verified (no database
/// yet, another schema) is left alone: `Ok(false)`; `doctor` explains why.
pub fn refresh(index: &Index, entry: &Entry) -> io::Result<bool> {
    match index {
        Index::CodexThreads { db } => codex_thread(db, entry).map_err(sql_error),
        Index::CopilotWorkspace { path } => {
            fs::write_atomic(path, copilot_workspace(entry).as_bytes())?;
            Ok(true)
        }
    }
}

/// A fingerprint of the files other sessions write `index` through: Codex's database and its
/// write-ahead log (inode, size and modification time of each, a `stat` apiece). `None` for
/// an index only we write (Copilot's file per session).
pub fn stamp(index: &Index) -> Option<String> {
    let Index::CodexThreads { db } = index else {
        return None;
    };
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    Some(format!(
        "{}/{}",
        file_stamp(db),
        file_stamp(Path::new(&wal))
    ))
}

fn file_stamp(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => format!("{}:{}:{}.{}", m.ino(), m.size(), m.mtime(), m.mtime_nsec()),
        Err(_) => "-".into(),
    }
}

/// Whether `index` lists another session of the entry's cwd as updated no earlier than our
/// row, or lacks our row: the agent's "most recent session" would not be the mirror.
pub fn outranked(index: &Index, entry: &Entry) -> io::Result<bool> {
    match index {
        Index::CodexThreads { db } => codex_outranked(db, entry).map_err(sql_error),
        Index::CopilotWorkspace { .. } => Ok(false),
    }
}

fn codex_outranked(db: &Path, entry: &Entry) -> rusqlite::Result<bool> {
    let Some(connection) = open_verified(db)? else {
        return Ok(false);
    };
    // `--last` takes the highest `updated_at_ms` (verified with Codex 0.169.0: seconds and
    // `recency_at_ms` play no part); at equal values ours may lose on id.
    let (ours, newest_other): (Option<i64>, Option<i64>) = connection.query_row(
        "SELECT (SELECT updated_at_ms FROM threads WHERE id = ?1),
                (SELECT MAX(updated_at_ms) FROM threads WHERE cwd = ?2 AND id <> ?1)",
        params![entry.id, entry.cwd.to_string_lossy()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(match (ours, newest_other) {
        (None, _) => true,
        (Some(ours), Some(other)) => other >= ours,
        (Some(_), None) => false,
    })
}

/// Columns the `threads` table must have for our row to be complete.
const THREAD_COLUMNS: &[&str] = &[
    "id",
    "rollout_path",
    "created_at",
    "updated_at",
    "updated_at_ms",
    "recency_at",
    "recency_at_ms",
    "source",
    "model_provider",
    "cwd",
    "title",
    "first_user_message",
    "preview",
    "sandbox_policy",
    "approval_mode",
    "cli_version",
];

/// Why Codex's `threads` table cannot take our row, or `None` when it can (for `doctor`).
pub fn codex_threads_mismatch(db: &Path) -> Option<String> {
    let connection = open_existing(db).ok()?;
    match thread_columns(&connection) {
        Ok(columns) => mismatch(&columns),
        Err(err) => Some(err.to_string()),
    }
}

fn open_existing(db: &Path) -> rusqlite::Result<Connection> {
    // Never create the database: Codex imports every rollout when it creates it itself.
    let connection = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_millis(500))?;
    Ok(connection)
}

/// Column name → (NOT NULL, has a default).
fn thread_columns(connection: &Connection) -> rusqlite::Result<BTreeMap<String, (bool, bool)>> {
    let mut statement = connection.prepare("PRAGMA table_info(threads)")?;
    let rows = statement.query_map([], |row| {
        let name: String = row.get(1)?;
        let not_null: bool = row.get(3)?;
        let default: Option<String> = row.get(4)?;
        Ok((name, (not_null, default.is_some())))
    })?;
    rows.collect()
}

fn mismatch(columns: &BTreeMap<String, (bool, bool)>) -> Option<String> {
    if columns.is_empty() {
        return Some("no `threads` table".into());
    }
    let missing: Vec<&str> = THREAD_COLUMNS
        .iter()
        .copied()
        .filter(|c| !columns.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        return Some(format!("`threads` lacks {}", missing.join(", ")));
    }
    let unknown: Vec<&str> = columns
        .iter()
        .filter(|(name, (not_null, default))| {
            *not_null && !default && !THREAD_COLUMNS.contains(&name.as_str())
        })
        .map(|(name, _)| name.as_str())
        .collect();
    if !unknown.is_empty() {
        return Some(format!(
            "`threads` requires columns we do not know: {}",
            unknown.join(", ")
        ));
    }
    None
}

/// Codex's index, when it exists and its `threads` table is one our row was verified against.
fn open_verified(db: &Path) -> rusqlite::Result<Option<Connection>> {
    if !db.exists() {
        return Ok(None);
    }
    let connection = open_existing(db)?;
    if mismatch(&thread_columns(&connection)?).is_some() {
        return Ok(None);
    }
    Ok(Some(connection))
}

fn codex_thread(db: &Path, entry: &Entry) -> rusqlite::Result<bool> {
    let Some(connection) = open_verified(db)? else {
        return Ok(false);
    };
    let provider = codex_model_provider(db.parent().unwrap_or(Path::new(".")));
    let now_ms = entry.now.timestamp_millis();
    let now_s = entry.now.timestamp();
    // Insert our row, or bump it (`--last` sorts by updated_at_ms); title and preview come
    // from the first prompt, which may arrive after the row was first written.
    connection.execute(
        "INSERT INTO threads (id, rollout_path, created_at, updated_at, source, model_provider, cwd,
             title, first_user_message, preview, sandbox_policy, approval_mode, cli_version)
         VALUES (?1, ?2, ?3, ?4, 'cli', ?5, ?6, ?7, ?7, ?7, '{\"type\":\"read-only\"}', 'on-request', ?8)
         ON CONFLICT(id) DO UPDATE SET
             updated_at = ?4, updated_at_ms = ?9, recency_at = ?4, recency_at_ms = ?9,
             title = CASE WHEN threads.preview = '' THEN ?7 ELSE threads.title END,
             first_user_message = CASE WHEN threads.preview = '' THEN ?7 ELSE threads.first_user_message END,
             preview = CASE WHEN threads.preview = '' THEN ?7 ELSE threads.preview END",
        params![
            entry.id,
            entry.path.to_string_lossy(),
            entry.created_at.timestamp(),
            now_s,
            provider,
            entry.cwd.to_string_lossy(),
            entry.title,
            env!("CARGO_PKG_VERSION"),
            now_ms,
        ],
    )?;
    // Codex's insert triggers derive the milliseconds from whole seconds; `--last` compares
    // milliseconds, so set them exactly.
    connection.execute(
        "UPDATE threads SET updated_at_ms = ?2, recency_at = ?3, recency_at_ms = ?2 WHERE id = ?1",
        params![entry.id, now_ms, now_s],
    )?;
    Ok(true)
}

/// The provider Codex is configured with (`model_provider` in `config.toml`), `openai` by
/// default: the row must name one the user's Codex can list under.
fn codex_model_provider(home: &Path) -> String {
    let text = crate::read::read_text(&home.join("config.toml"), 16 << 20).unwrap_or_default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            break;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "model_provider" {
                let value = value.split('#').next().unwrap_or("").trim();
                return value.trim_matches(|c| c == '"' || c == '\'').to_owned();
            }
        }
    }
    "openai".into()
}

/// Takes our mirror's row out of the index (a removed mirror must not be listed).
pub fn remove(index: &Index, mirror: &super::Mirror) -> io::Result<()> {
    if let Index::CodexThreads { db } = index {
        if db.exists() {
            let connection = open_existing(db).map_err(sql_error)?;
            connection
                .execute(
                    "DELETE FROM threads WHERE id = ?1 AND rollout_path = ?2",
                    params![mirror.id, mirror.path.to_string_lossy()],
                )
                .map_err(sql_error)?;
        }
    }
    Ok(())
}

fn copilot_workspace(entry: &Entry) -> String {
    // JSON strings are valid YAML double-quoted scalars, so any title or path is safe.
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    format!(
        "id: {}\ncwd: {}\nclient_name: github/cli\nname: {}\nuser_named: true\nsummary_count: 0\nfork_count: 0\ncreated_at: {}\nupdated_at: {}\n",
        entry.id,
        quote(&entry.cwd.to_string_lossy()),
        quote(entry.title),
        time(entry.created_at),
        time(entry.now),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Codex index in write-ahead-log mode holding our row and another session's, updated
    /// at `ours` and `other` milliseconds; and its database file.
    fn codex_index(dir: &Path, ours: i64, other: i64) -> (Index, std::path::PathBuf) {
        let db = dir.join("state_5.sqlite");
        let connection = Connection::open(&db).unwrap();
        let columns: Vec<String> = THREAD_COLUMNS
            .iter()
            .map(|c| format!("{c} {}", if *c == "id" { "TEXT PRIMARY KEY" } else { "" }))
            .collect();
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL; CREATE TABLE threads ({});",
                columns.join(", ")
            ))
            .unwrap();
        for (id, at) in [("ours", ours), ("other", other)] {
            connection
                .execute(
                    "INSERT INTO threads (id, cwd, updated_at_ms) VALUES (?1, '/p', ?2)",
                    params![id, at],
                )
                .unwrap();
        }
        (Index::CodexThreads { db: db.clone() }, db)
    }

    fn entry(now: i64) -> Entry<'static> {
        let now = chrono::DateTime::from_timestamp_millis(now).unwrap();
        Entry {
            id: "ours",
            path: Path::new("/r.jsonl"),
            cwd: Path::new("/p"),
            title: "t",
            created_at: now,
            now,
        }
    }

    #[test]
    fn outranked_by_a_session_of_the_same_cwd_updated_no_earlier() {
        let dir = tempfile::tempdir().unwrap();
        let (index, db) = codex_index(dir.path(), 1_000, 2_000);
        assert!(outranked(&index, &entry(0)).unwrap());
        refresh(&index, &entry(3_000)).unwrap();
        assert!(!outranked(&index, &entry(0)).unwrap());

        let connection = Connection::open(db).unwrap();
        connection
            .execute(
                "UPDATE threads SET updated_at_ms = 3000, cwd = '/q' WHERE id = 'other'",
                [],
            )
            .unwrap();
        assert!(!outranked(&index, &entry(0)).unwrap(), "another project");
        connection
            .execute("UPDATE threads SET cwd = '/p' WHERE id = 'other'", [])
            .unwrap();
        assert!(outranked(&index, &entry(0)).unwrap(), "a tie");
        connection
            .execute("DELETE FROM threads WHERE id = 'ours'", [])
            .unwrap();
        assert!(outranked(&index, &entry(0)).unwrap(), "our row gone");
    }

    #[test]
    fn stamp_moves_with_other_writers_not_with_our_looks() {
        let dir = tempfile::tempdir().unwrap();
        let (index, db) = codex_index(dir.path(), 1_000, 2_000);
        outranked(&index, &entry(0)).unwrap();
        let seen = stamp(&index);
        outranked(&index, &entry(0)).unwrap();
        assert_eq!(stamp(&index), seen);

        let writer = Connection::open(&db).unwrap();
        writer
            .execute(
                "UPDATE threads SET updated_at_ms = 5000 WHERE id = 'other'",
                [],
            )
            .unwrap();
        assert_ne!(stamp(&index), seen);
        assert_eq!(stamp(&Index::CopilotWorkspace { path: db }), None);
    }

    #[test]
    fn provider_is_read_from_the_top_level_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "model = \"m\"\nmodel_provider = \"mock\" # ours\n[model_providers.x]\nmodel_provider = \"no\"\n",
        )
        .unwrap();
        assert_eq!(codex_model_provider(dir.path()), "mock");
        assert_eq!(codex_model_provider(&dir.path().join("none")), "openai");
    }
}
