//! OpenCode mirrors are rows in its SQLite database. A mirror's lines are row upserts
//! (`{"table","row"}`; `"keep":true` leaves an existing row alone, `"update":true` only
//! changes an existing row), applied in one transaction per sync with a busy timeout, so a
//! running OpenCode is never disturbed.

use super::inspect::MirrorFile;
use super::{Flush, Mirror, sql_error};
use rusqlite::{Connection, OpenFlags, OptionalExtension, types::Value as Sql};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

const TABLES: &[&str] = &["project", "session", "message", "part"];

/// Write-ahead log size past which a sync checkpoints it (a few syncs' worth).
const WAL_CHECKPOINT_BYTES: u64 = 256 * 1024;

pub fn flush(mirror: &mut Mirror) -> io::Result<Flush> {
    let Some(pending) = &mirror.pending else {
        return Ok(Flush::Done);
    };
    if pending.is_lost() {
        return lost_write(mirror);
    }
    let mut connection = open(mirror)?;
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .map_err(sql_error)?;
    // In WAL mode, NORMAL commits without waiting for the disk (still never corrupt); a hook
    // cannot afford a sync per tool call.
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql_error)?;
    // Borrowed, with each value's JSON text as written: structured columns go in as that
    // text, never parsed into a tree and printed again.
    let ops: Vec<Op> = pending
        .data
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)?;
    let our_messages: Vec<String> = ops.iter().filter_map(Op::message_id).collect();
    let transaction = connection.transaction().map_err(sql_error)?;
    let newest = newest_message(&transaction, &mirror.id)?;
    // Ours: the last message we know we wrote, or one of these (a killed hook may have
    // committed them without saving that it did).
    if let Some(newest) = newest.filter(|n| mirror.tail.as_ref() != Some(n)) {
        if !our_messages.contains(&newest) {
            return Ok(Flush::Diverged(format!(
                "continued in the agent (its newest message {newest} is not ours)"
            )));
        }
    }
    for op in &ops {
        let table = op.table.as_ref();
        if !TABLES.contains(&table) {
            return Err(io::Error::other(format!("not an OpenCode table: {table}")));
        }
        let columns: Vec<&str> = op.row.keys().map(|c| c.as_ref()).collect();
        if columns
            .iter()
            .any(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        {
            return Err(io::Error::other("bad column name in row upsert"));
        }
        let values: Vec<Sql> = op
            .row
            .values()
            .map(|v| sql_value(v))
            .collect::<Result<_, _>>()?;
        if op.update {
            let set: Vec<String> = columns
                .iter()
                .enumerate()
                .filter(|(_, c)| **c != "id")
                .map(|(i, c)| format!("{c} = ?{}", i + 1))
                .collect();
            let id = columns.iter().position(|c| *c == "id").unwrap_or(0) + 1;
            let sql = format!("UPDATE {table} SET {} WHERE id = ?{id}", set.join(", "));
            execute_cached(&transaction, &sql, values)?;
            continue;
        }
        let on_conflict = if op.keep {
            "DO NOTHING".to_owned()
        } else {
            let set: Vec<String> = columns
                .iter()
                .filter(|c| **c != "id")
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            format!("DO UPDATE SET {}", set.join(", "))
        };
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT(id) {on_conflict}",
            columns.join(", "),
            placeholders.join(", ")
        );
        execute_cached(&transaction, &sql, values)?;
    }
    transaction.commit().map_err(sql_error)?;
    fold_log(&connection, mirror)?;
    if let Some(last) = our_messages.last() {
        mirror.tail = Some(last.clone());
    }
    Ok(Flush::Done)
}

/// The id of the last message row among row upserts: what a write saved by its length is
/// told complete by. Read from the end: a message's parts follow it.
pub fn last_message(ops: &str) -> Option<String> {
    ops.lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Op>(line).ok()?.message_id())
}

/// A write saved by its length whose rows went with its process: done if the session's
/// newest message is its last one (its transaction committed), else the mirror forks.
fn lost_write(mirror: &mut Mirror) -> io::Result<Flush> {
    let last_row = mirror.pending.as_ref().and_then(|p| p.last_row.clone());
    let newest = open(mirror).and_then(|connection| newest_message(&connection, &mirror.id));
    match newest {
        Ok(Some(newest)) if Some(&newest) == last_row.as_ref() => {
            mirror.tail = Some(newest);
            Ok(Flush::Done)
        }
        Ok(_) => Ok(Flush::Diverged(
            "a write of session-sync's was cut short".into(),
        )),
        Err(err) => Ok(Flush::Diverged(format!("unreadable: {err}"))),
    }
}

/// The session's newest message, as OpenCode orders them.
fn newest_message(connection: &Connection, session: &str) -> io::Result<Option<String>> {
    connection
        .query_row(
            "SELECT id FROM message WHERE session_id = ?1 ORDER BY time_created DESC, id DESC LIMIT 1",
            [session],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql_error)
}

fn open(mirror: &Mirror) -> io::Result<Connection> {
    let connection = Connection::open_with_flags(
        &mirror.path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_error)?;
    connection
        .busy_timeout(Duration::from_millis(1000))
        .map_err(sql_error)?;
    // The last connection to close a WAL database checkpoints it, syncing the disk twice:
    // when OpenCode is not running that is ours, on every hook. `flush` checkpoints only
    // once the log has grown (see `WAL_CHECKPOINT_BYTES`).
    connection
        .set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(sql_error)?;
    Ok(connection)
}

/// What keeps OpenCode's database at `db` from taking mirrors, if anything.
pub fn schema_problem(db: &std::path::Path) -> Option<String> {
    if !db.exists() {
        return Some("does not exist yet".into());
    }
    let connection = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| e.to_string());
    let connection = match connection {
        Ok(c) => c,
        Err(err) => return Some(err),
    };
    let missing: Vec<&str> = TABLES
        .iter()
        .copied()
        .filter(|table| {
            connection
                .query_row(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |_| Ok(()),
                )
                .optional()
                .ok()
                .flatten()
                .is_none()
        })
        .collect();
    (!missing.is_empty()).then(|| format!("no table {}", missing.join(", ")))
}

/// Whether the session holds only what we wrote (for `clean` and `uninstall`): messages
/// after our last one mean the user continued it in OpenCode.
pub fn inspect(mirror: &Mirror) -> io::Result<MirrorFile> {
    if mirror.pending.is_some() {
        return Ok(MirrorFile::Busy(
            "a write of session-sync's is still pending".into(),
        ));
    }
    if !mirror.path.exists() {
        return Ok(MirrorFile::Missing);
    }
    let connection = open(mirror)?;
    let exists: Option<String> = connection
        .query_row(
            "SELECT id FROM session WHERE id = ?1",
            [&mirror.id],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql_error)?;
    if exists.is_none() {
        return Ok(MirrorFile::Missing);
    }
    let after: u64 = match &mirror.tail {
        Some(tail) => connection
            .query_row(
                "SELECT count(*) FROM message WHERE session_id = ?1 AND (time_created, id) >
                   (SELECT time_created, id FROM message WHERE id = ?2)",
                [&mirror.id, tail],
                |row| row.get(0),
            )
            .map_err(sql_error)?,
        None => 0,
    };
    Ok(match after {
        0 => MirrorFile::Ours,
        appended => MirrorFile::Continued { appended },
    })
}

/// Deletes the session's rows (parts, messages, the session), in one transaction.
pub fn remove(mirror: &Mirror) -> io::Result<bool> {
    let mut connection = open(mirror)?;
    let transaction = connection.transaction().map_err(sql_error)?;
    for sql in [
        "DELETE FROM part WHERE session_id = ?1",
        "DELETE FROM message WHERE session_id = ?1",
        "DELETE FROM session WHERE id = ?1",
    ] {
        transaction.execute(sql, [&mirror.id]).map_err(sql_error)?;
    }
    transaction.commit().map_err(sql_error)?;
    Ok(true)
}

/// A connection opening the database alone re-reads the whole write-ahead log: keep it short,
/// folding it into the database every few syncs instead of at every close.
fn fold_log(connection: &Connection, mirror: &Mirror) -> io::Result<()> {
    let mut wal = mirror.path.clone().into_os_string();
    wal.push("-wal");
    if crate::read::size(std::path::Path::new(&wal)).unwrap_or(0) > WAL_CHECKPOINT_BYTES {
        connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(sql_error)?;
    }
    Ok(())
}

/// One row upsert, as the encoder wrote it.
#[derive(serde::Deserialize)]
struct Op<'a> {
    #[serde(borrow)]
    table: Cow<'a, str>,
    /// Columns in a fixed order, so that the same columns make the same cached statement.
    #[serde(borrow)]
    row: BTreeMap<Cow<'a, str>, &'a RawValue>,
    #[serde(default)]
    keep: bool,
    #[serde(default)]
    update: bool,
}

impl Op<'_> {
    fn message_id(&self) -> Option<String> {
        let id = self.row.get("id").filter(|_| self.table == "message")?;
        serde_json::from_str(id.get()).ok()
    }
}

fn sql_value(value: &RawValue) -> io::Result<Sql> {
    let text = value.get();
    Ok(match text.as_bytes().first() {
        Some(b'n') => Sql::Null,
        Some(b't') => Sql::Integer(1),
        Some(b'f') => Sql::Integer(0),
        Some(b'"') => Sql::Text(serde_json::from_str(text).map_err(io::Error::other)?),
        // OpenCode keeps structured columns (`data`, `model`) as JSON text.
        Some(b'{' | b'[') => Sql::Text(text.to_owned()),
        _ => match text.parse::<i64>() {
            Ok(i) => Sql::Integer(i),
            Err(_) => Sql::Real(text.parse().map_err(io::Error::other)?),
        },
    })
}

/// Runs `sql`, parsed once per connection: a mirror's rows use the same few statements.
fn execute_cached(connection: &Connection, sql: &str, values: Vec<Sql>) -> io::Result<usize> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute(rusqlite::params_from_iter(values)))
        .map_err(sql_error)
}
