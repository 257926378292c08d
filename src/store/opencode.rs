//! OpenCode mirrors are rows in its SQLite database. A mirror's lines are row upserts
//! (`{"table","row"}` inserts a row unless one with its id is there; `"update":true` only
//! changes an existing row), applied in one transaction per sync with a busy timeout, so a
//! running OpenCode is never disturbed.

use super::fs::DeferredSignals;
use super::inspect::MirrorFile;
use super::{Ahead, Flush, Mirror, sql_error};
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

const TABLES: &[&str] = &["project", "session", "message", "part"];

/// Write-ahead log size past which a sync checkpoints it (a few syncs' worth).
const WAL_CHECKPOINT_BYTES: u64 = 256 * 1024;

/// Page cache of a sync's connection, KiB: more than a catch-up step's rows.
const CACHE_KIB: i64 = 32 << 10;

/// Applies the mirror's pending rows, after any write running beside. `catching_up` (a step
/// of megabytes), a write saved by its length is applied beside the next step's work (see
/// `settle`).
pub fn flush(mirror: &mut Mirror, catching_up: bool) -> io::Result<Flush> {
    wait_beside();
    match &mirror.pending {
        None => return Ok(Flush::Done),
        Some(pending) if pending.is_lost() => return lost_write(mirror),
        Some(_) => {}
    }
    let connection = open_for_writes(mirror)?;
    let Some(pending) = &mut mirror.pending else {
        return Ok(Flush::Done);
    };
    // SQLite's write lock, taken before the session's newest message is read: a write of
    // ours in flight in another process (a catch-up's, beside) completes first.
    connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(sql_error)?;
    let newest = newest_message(&connection, &mirror.id)?;
    // Nothing after our last message: the rows can go in while the next step works. Only a
    // write saved by its length (the next sync tells whether it completed by its last row).
    let ours = newest.is_none() || newest == mirror.tail;
    if catching_up && ours && pending.ahead == Ahead::Length && pending.last_row.is_some() {
        let data = std::mem::take(&mut pending.data);
        let db = mirror.path.clone();
        let write = move || {
            // Dropping the connection on an error rolls the transaction back: the next sync
            // finds the write lost and forks, with the whole history.
            let applied = parse(&data).and_then(|ops| apply(&connection, &ops));
            if applied.is_ok() && connection.execute_batch("COMMIT").is_ok() {
                // Housekeeping: a checkpoint that fails (OpenCode busy) is the next sync's.
                let _ = fold_log(&connection, &db);
            }
        };
        beside(write);
        return Ok(Flush::Beside);
    }
    let ops = parse(&pending.data)?;
    let our_messages: Vec<String> = ops.iter().filter_map(Op::message_id).collect();
    // Ours: the last message we know we wrote, or one of these (a killed hook may have
    // committed them without saving that it did).
    if let Some(newest) = newest.filter(|n| mirror.tail.as_ref() != Some(n)) {
        if !our_messages.contains(&newest) {
            return Ok(Flush::Diverged(format!(
                "continued in the agent (its newest message {newest} is not ours)"
            )));
        }
    }
    apply(&connection, &ops)?;
    connection.execute_batch("COMMIT").map_err(sql_error)?;
    fold_log(&connection, &mirror.path)?;
    if let Some(last) = our_messages.last() {
        mirror.tail = Some(last.clone());
    }
    Ok(Flush::Done)
}

/// A connection set for a sync's writes.
fn open_for_writes(mirror: &Mirror) -> io::Result<Connection> {
    let connection = open(mirror)?;
    connection
        .pragma_update(None, "foreign_keys", "ON")
        .map_err(sql_error)?;
    // In WAL mode, NORMAL commits without waiting for the disk (still never corrupt); a hook
    // cannot afford a sync per tool call.
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(sql_error)?;
    // A catch-up step's rows fit in memory: with the default 2 MB cache, pages spill to the
    // log mid-transaction and the last ones are written there again at the commit.
    connection
        .pragma_update(None, "cache_size", -(CACHE_KIB))
        .map_err(sql_error)?;
    Ok(connection)
}

/// Row upserts, borrowed, with each value's JSON text as written: structured columns go in
/// as that text, never parsed into a tree and printed again.
fn parse(data: &str) -> io::Result<Vec<Op<'_>>> {
    data.lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(io::Error::other)
}

/// Runs `ops` in the transaction open on `connection`.
fn apply(connection: &Connection, ops: &[Op]) -> io::Result<()> {
    // A mirror's rows come in a few shapes: each shape's statement is written once.
    let mut statements: Vec<(Shape, String)> = Vec::new();
    for op in ops {
        let shape = op.shape();
        let at = match statements.iter().position(|(known, _)| *known == shape) {
            Some(at) => at,
            None => {
                statements.push((shape.clone(), statement(&shape)?));
                statements.len() - 1
            }
        };
        let values: Vec<ToSqlOutput> = op
            .row
            .values()
            .map(|v| sql_value(v))
            .collect::<Result<_, _>>()?;
        execute_cached(connection, &statements[at].1, values)?;
    }
    Ok(())
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
    // After any write of ours still in flight (another process's catch-up, beside). When the
    // lock cannot be had in time (OpenCode busy writing), what is committed is read as is.
    let newest = open(mirror).and_then(|connection| {
        let _ = connection.execute_batch("BEGIN IMMEDIATE");
        newest_message(&connection, &mirror.id)
    });
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
fn fold_log(connection: &Connection, db: &std::path::Path) -> io::Result<()> {
    let mut wal = db.to_owned().into_os_string();
    wal.push("-wal");
    if crate::read::size(std::path::Path::new(&wal)).unwrap_or(0) > WAL_CHECKPOINT_BYTES {
        connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(sql_error)?;
    }
    Ok(())
}

/// A catch-up step's database write, running on its own thread while the next step reads
/// and encodes: its megabytes of rows, then the checkpoint that copies them from the log
/// into the database. It holds SQLite's write lock throughout; nothing of the next step
/// waits for it but the next write to the database.
static BESIDE: Mutex<Beside> = Mutex::new(Beside {
    running: None,
    signals: None,
});

struct Beside {
    running: Option<JoinHandle<()>>,
    /// Ctrl-C and friends, held off by the thread that committed the step until the write is
    /// done (as for any write of a step); given back by that thread's `settle`.
    signals: Option<DeferredSignals>,
}

fn beside_slot() -> std::sync::MutexGuard<'static, Beside> {
    BESIDE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn beside(write: impl FnOnce() + Send + 'static) {
    // A thread that cannot start gives its work back: it runs here.
    let write = Arc::new(Mutex::new(Some(write)));
    let on_thread = Arc::clone(&write);
    let take = |slot: &Mutex<Option<_>>| slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    let spawned = std::thread::Builder::new().spawn(move || {
        if let Some(write) = take(&on_thread) {
            write();
        }
    });
    match spawned {
        Ok(running) => beside_slot().running = Some(running),
        Err(_) => {
            if let Some(write) = take(&write) {
                write();
            }
        }
    }
}

/// Keeps `signals` held off while a write runs beside (they take effect when the same
/// thread settles it); else lets them go now.
pub fn release_after_beside(signals: DeferredSignals) {
    let mut slot = beside_slot();
    if slot.running.is_some() {
        slot.signals.get_or_insert(signals);
    }
}

/// Whether a database write runs beside, in this process.
pub fn running() -> bool {
    beside_slot().running.is_some()
}

/// Waits for the database write running beside, if any.
fn wait_beside() -> bool {
    let running = beside_slot().running.take();
    running.is_some_and(|running| {
        let _ = running.join();
        true
    })
}

/// Waits for a database write running beside, and lets the signals held off for it go:
/// called by the thread that committed the step, once its lines are encoded and before a
/// catch-up lets the process end. Returns whether one was running.
pub fn settle() -> bool {
    let waited = wait_beside();
    let signals = beside_slot().signals.take();
    drop(signals);
    waited
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
    update: bool,
}

/// What a row upsert's statement depends on: its table, columns and kind.
#[derive(Clone, PartialEq)]
struct Shape<'a> {
    table: &'a str,
    columns: Vec<&'a str>,
    update: bool,
}

/// The statement for row upserts of `shape`, its values bound in column order.
fn statement(shape: &Shape) -> io::Result<String> {
    let Shape {
        table,
        columns,
        update,
    } = shape;
    if !TABLES.contains(table) {
        return Err(io::Error::other(format!("not an OpenCode table: {table}")));
    }
    if columns
        .iter()
        .any(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    {
        return Err(io::Error::other("bad column name in row upsert"));
    }
    if *update {
        let set: Vec<String> = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != "id")
            .map(|(i, c)| format!("{c} = ?{}", i + 1))
            .collect();
        let id = columns.iter().position(|c| *c == "id").unwrap_or(0) + 1;
        return Ok(format!(
            "UPDATE {table} SET {} WHERE id = ?{id}",
            set.join(", ")
        ));
    }
    // A row there already is ours from a write retried, or the project OpenCode made: left
    // alone. (Replacing it would make SQLite keep a statement journal for every row.)
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    Ok(format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT(id) DO NOTHING",
        columns.join(", "),
        placeholders.join(", ")
    ))
}

impl Op<'_> {
    fn shape(&self) -> Shape<'_> {
        Shape {
            table: &self.table,
            columns: self.row.keys().map(|c| c.as_ref()).collect(),
            update: self.update,
        }
    }

    fn message_id(&self) -> Option<String> {
        let id = self.row.get("id").filter(|_| self.table == "message")?;
        serde_json::from_str(id.get()).ok()
    }
}

/// The column value a row upsert's JSON value stands for; text borrowed where it is the
/// JSON text itself (a structured column, or a string without escapes).
fn sql_value(value: &RawValue) -> io::Result<ToSqlOutput<'_>> {
    let text = value.get();
    let owned = |value: Sql| Ok(ToSqlOutput::Owned(value));
    match text.as_bytes().first() {
        Some(b'n') => owned(Sql::Null),
        Some(b't') => owned(Sql::Integer(1)),
        Some(b'f') => owned(Sql::Integer(0)),
        Some(b'"') => match text.get(1..text.len() - 1) {
            Some(inner) if !inner.contains('\\') => {
                Ok(ToSqlOutput::Borrowed(ValueRef::Text(inner.as_bytes())))
            }
            _ => owned(Sql::Text(
                serde_json::from_str(text).map_err(io::Error::other)?,
            )),
        },
        // OpenCode keeps structured columns (`data`, `model`) as JSON text.
        Some(b'{' | b'[') => Ok(ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))),
        _ => match text.parse::<i64>() {
            Ok(i) => owned(Sql::Integer(i)),
            Err(_) => owned(Sql::Real(text.parse().map_err(io::Error::other)?)),
        },
    }
}

/// Runs `sql`, parsed once per connection: a mirror's rows use the same few statements.
fn execute_cached(
    connection: &Connection,
    sql: &str,
    values: Vec<ToSqlOutput>,
) -> io::Result<usize> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.execute(rusqlite::params_from_iter(values)))
        .map_err(sql_error)
}
