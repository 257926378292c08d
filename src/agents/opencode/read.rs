//! OpenCode sessions into records (`../shared/specs/opencode.md`): `session`, `message` and
//! `part` rows of its SQLite database, opened read-only with OpenCode's own busy timeout.
//! Reasoning parts and synthetic (injected) text are dropped.

use crate::agents::native::{self, Conversation, NativeSession, Reader};
use crate::model::{Image, Item, Part, Record};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

pub const READER: Reader = Reader {
    agent: "opencode",
    list,
    read,
    at_path: None,
    // Reads are one snapshot of the database, whatever OpenCode is writing.
    busy: None,
};

/// How long OpenCode itself waits for its database (`busy_timeout 5000`).
const BUSY: Duration = Duration::from_secs(5);
const SHELL: &str = "bash";

/// The columns this reader needs, by table (OpenCode 1.18.33's schema has them all).
const COLUMNS: &[(&str, &[&str])] = &[
    (
        "session",
        &[
            "id",
            "parent_id",
            "slug",
            "directory",
            "title",
            "time_created",
            "time_updated",
        ],
    ),
    ("message", &["id", "session_id", "time_created", "data"]),
    ("part", &["id", "message_id", "session_id", "data"]),
];

fn list() -> Result<Vec<NativeSession>, String> {
    let Some(db) = crate::paths::opencode_db().filter(|db| db.exists()) else {
        return Ok(Vec::new());
    };
    list_in(&db, BUSY, &native::mirrored("opencode"))
}

/// The root sessions (`opencode session list` leaves out subagents' sessions).
fn list_in(
    db: &Path,
    busy: Duration,
    mirrored: &HashSet<String>,
) -> Result<Vec<NativeSession>, String> {
    let connection = open(db, busy)?;
    let mut statement = connection
        .prepare(
            "SELECT id, slug, directory, title, time_created, time_updated FROM session
             WHERE parent_id IS NULL ORDER BY time_updated DESC",
        )
        .map_err(|e| problem(db, e))?;
    let rows = statement
        .query_map([], |row| session(db, row))
        .map_err(|e| problem(db, e))?;
    let mut sessions = Vec::new();
    for row in rows {
        let (mut session, slug) = row.map_err(|e| problem(db, e))?;
        session.ours = slug.starts_with("claude-") || mirrored.contains(&session.id);
        sessions.push(session);
    }
    Ok(sessions)
}

/// A session row (`id, slug, directory, title, time_created, time_updated`) and its slug,
/// which our encoder starts with `claude-`.
fn session(db: &Path, row: &rusqlite::Row) -> rusqlite::Result<(NativeSession, String)> {
    let millis = |i: usize| -> rusqlite::Result<Option<String>> {
        Ok(row.get::<_, Option<i64>>(i)?.and_then(native::from_millis))
    };
    let session = NativeSession {
        agent: "opencode",
        id: row.get(0)?,
        path: db.to_owned(),
        cwd: row
            .get::<_, Option<String>>(2)?
            .filter(|d| !d.is_empty())
            .map(Into::into),
        title: row.get::<_, Option<String>>(3)?.filter(|t| !t.is_empty()),
        started_at: millis(4)?,
        updated_at: millis(5)?,
        ours: false,
    };
    Ok((
        session,
        row.get::<_, Option<String>>(1)?.unwrap_or_default(),
    ))
}

fn open(db: &Path, busy: Duration) -> Result<Connection, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(db, flags).map_err(|e| problem(db, e))?;
    connection.busy_timeout(busy).map_err(|e| problem(db, e))?;
    if let Some(missing) = missing_column(&connection).map_err(|e| problem(db, e))? {
        return Err(format!(
            "OpenCode's database {} has a schema session-sync does not know (no {missing}); \
             it reads OpenCode 1.18's: run `session-sync doctor`, or update session-sync",
            db.display()
        ));
    }
    Ok(connection)
}

/// The first column sessions are read from that the database lacks (`table.column`).
fn missing_column(connection: &Connection) -> rusqlite::Result<Option<String>> {
    for (table, needed) in COLUMNS {
        let mut statement = connection.prepare(&format!("PRAGMA table_info({table})"))?;
        let columns: HashSet<String> = statement
            .query_map([], |row| row.get::<_, String>(1))
            .and_then(|rows| rows.collect())?;
        if let Some(missing) = needed.iter().find(|c| !columns.contains(**c)) {
            return Ok(Some(format!("{table}.{missing}")));
        }
    }
    Ok(None)
}

/// Why OpenCode's sessions at `db` cannot be read, if they cannot (for `doctor`).
pub fn unreadable(db: &Path) -> Option<String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let missing = Connection::open_with_flags(db, flags).and_then(|c| missing_column(&c));
    match missing {
        Ok(None) => None,
        Ok(Some(missing)) => Some(format!("its schema is not OpenCode 1.18's (no {missing})")),
        Err(err) => Some(err.to_string()),
    }
}

/// One line: what went wrong with the database, and what to do.
fn problem(db: &Path, err: rusqlite::Error) -> String {
    let locked = matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    if locked {
        format!(
            "OpenCode's database {} is locked (OpenCode is writing to it): try again in a moment",
            db.display()
        )
    } else {
        format!("cannot read OpenCode's database {}: {err}", db.display())
    }
}

fn read(session: &NativeSession) -> Result<Conversation, String> {
    read_in(session, BUSY)
}

fn read_in(session: &NativeSession, busy: Duration) -> Result<Conversation, String> {
    let db = session.path.as_path();
    let connection = open(db, busy)?;
    // One read transaction: messages and parts from the same moment.
    let snapshot = connection
        .unchecked_transaction()
        .map_err(|e| problem(db, e))?;
    let found = snapshot
        .query_row(
            "SELECT id, slug, directory, title, time_created, time_updated FROM session WHERE id = ?1",
            [&session.id],
            |row| session_row(db, row),
        )
        .optional()
        .map_err(|e| problem(db, e))?;
    let Some(mut native) = found else {
        return Err(format!(
            "OpenCode has no session {} in {}: `opencode session list` shows its sessions",
            session.id,
            db.display()
        ));
    };
    native.ours = session.ours;
    let mut parts: HashMap<String, Vec<(String, Value)>> = HashMap::new();
    {
        let mut statement = snapshot
            .prepare("SELECT id, message_id, data FROM part WHERE session_id = ?1 ORDER BY id")
            .map_err(|e| problem(db, e))?;
        let rows = statement
            .query_map([&session.id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| problem(db, e))?;
        for row in rows {
            let (id, message, data) = row.map_err(|e| problem(db, e))?;
            let data = serde_json::from_str(&data).unwrap_or(Value::Null);
            parts.entry(message).or_default().push((id, data));
        }
    }
    let mut conversation = Conversation::new(native);
    let mut statement = snapshot
        .prepare(
            "SELECT id, time_created, data FROM message WHERE session_id = ?1
             ORDER BY time_created, id",
        )
        .map_err(|e| problem(db, e))?;
    let rows = statement
        .query_map([&session.id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<i64>>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .map_err(|e| problem(db, e))?;
    for row in rows {
        let (id, created, data) = row.map_err(|e| problem(db, e))?;
        let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        let timestamp = created.and_then(native::from_millis);
        let parts = parts.remove(&id).unwrap_or_default();
        message(&id, &data, timestamp, &parts, &mut conversation);
    }
    if conversation.session.title.is_none() {
        conversation.session.title = conversation.first_prompt();
    }
    Ok(conversation)
}

fn session_row(db: &Path, row: &rusqlite::Row) -> rusqlite::Result<NativeSession> {
    session(db, row).map(|(session, _)| session)
}

fn message(
    id: &str,
    data: &Value,
    timestamp: Option<String>,
    parts: &[(String, Value)],
    out: &mut Conversation,
) {
    let push = |out: &mut Conversation, rid: String, at: Option<String>, item: Item| {
        out.records.push(Record {
            timestamp: at.or_else(|| timestamp.clone()),
            agent: None,
            rid: Some(rid),
            item,
        });
    };
    if data["role"] == "user" {
        let mut prompt = Vec::new();
        for (_, part) in parts {
            match part["type"].as_str() {
                Some("text") if part["synthetic"] == true => {
                    out.drop_one("context OpenCode injected (synthetic text)")
                }
                Some("text") => prompt.push(Part::Text(
                    part["text"].as_str().unwrap_or_default().to_owned(),
                )),
                Some("file") => match image(part) {
                    Some(image) => prompt.push(image),
                    None => out.drop_one("attached files other than images"),
                },
                other => out.drop_one(&format!("other parts ({})", other.unwrap_or("unknown"))),
            }
        }
        if !prompt.is_empty() {
            push(out, id.to_owned(), None, Item::Prompt { parts: prompt });
        }
        return;
    }
    // An assistant step: its text and calls in order, each call's result once the step's
    // calls are made (as the model got them back).
    let mut results = Vec::new();
    let flush = |out: &mut Conversation, results: &mut Vec<(String, Option<String>, Item)>| {
        for (rid, at, item) in results.drain(..) {
            push(out, rid, at, item);
        }
    };
    for (part_id, part) in parts {
        match part["type"].as_str() {
            Some("text") if part["synthetic"] == true => {
                out.drop_one("context OpenCode injected (synthetic text)")
            }
            Some("text") => {
                let text = part["text"].as_str().unwrap_or_default();
                if !text.is_empty() {
                    flush(out, &mut results);
                    push(
                        out,
                        part_id.clone(),
                        None,
                        Item::Text {
                            text: text.to_owned(),
                        },
                    );
                }
            }
            Some("tool") => {
                let call_id = part["callID"].as_str().unwrap_or(part_id).to_owned();
                let state = &part["state"];
                let (name, input) = native::tool_call(
                    part["tool"].as_str().unwrap_or("unknown"),
                    SHELL,
                    &state["input"],
                );
                let started = state["time"]["start"]
                    .as_i64()
                    .and_then(native::from_millis);
                let item = Item::ToolCall {
                    id: call_id.clone(),
                    name,
                    input,
                };
                push(out, format!("{call_id}:call"), started, item);
                if let Some((parts, is_error)) = tool_result(state) {
                    let ended = state["time"]["end"].as_i64().and_then(native::from_millis);
                    let item = Item::ToolResult {
                        id: call_id.clone(),
                        parts,
                        is_error,
                    };
                    results.push((format!("{call_id}:result"), ended, item));
                }
            }
            Some("reasoning") => out.drop_one("reasoning"),
            // Step boundaries and file snapshots: bookkeeping, not conversation.
            Some("step-start" | "step-finish" | "snapshot" | "patch") => {}
            other => out.drop_one(&format!("other parts ({})", other.unwrap_or("unknown"))),
        }
    }
    flush(out, &mut results);
}

/// A finished call's output (and any images it attached); `None` while it runs.
fn tool_result(state: &Value) -> Option<(Vec<Part>, bool)> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let (mut parts, is_error) = match state["status"].as_str() {
        Some("completed") => {
            let exit = state["metadata"]["exit"].as_i64();
            (
                vec![Part::Text(text(&state["output"]))],
                exit.is_some_and(|c| c != 0),
            )
        }
        Some("error") => (vec![Part::Text(text(&state["error"]))], true),
        _ => return None,
    };
    parts.extend(
        state["attachments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(image),
    );
    Some((parts, is_error))
}

/// A file part holding an image as a `data:` URL.
fn image(part: &Value) -> Option<Part> {
    let url = part["url"].as_str()?;
    let (media_type, data) = url.strip_prefix("data:")?.split_once(";base64,")?;
    media_type.starts_with("image/").then(|| {
        Part::Image(Image {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::testing::{self, items};
    use crate::encode::{Encoder, Lines, ToolStyle};
    use serde_json::json;

    fn database(dir: &Path) -> std::path::PathBuf {
        let db = dir.join("opencode.db");
        let connection = Connection::open(&db).unwrap();
        connection
            .execute_batch(include_str!("../../../tests/fixtures/opencode-schema.sql"))
            .unwrap();
        // The fixture has only the columns mirrors write.
        connection
            .execute_batch("ALTER TABLE session ADD COLUMN parent_id TEXT;")
            .unwrap();
        db
    }

    fn our_encoder(db: &Path) -> crate::agents::opencode::write::Opencode {
        crate::agents::opencode::write::Opencode {
            db: db.to_owned(),
            model: Some("mock/mock-model".into()),
            style: ToolStyle::Structured,
            max_output_bytes: 1 << 20,
        }
    }

    fn our_mirror(id: &str, db: &Path) -> crate::store::state::Mirror {
        serde_json::from_value(json!({
            "id": id, "path": db, "kind": "opencode_db", "created_at": "", "last_sync": "",
            "records": 0, "lineage": crate::store::state::Lineage::new("x"),
        }))
        .unwrap()
    }

    /// Applies an encoder's row upserts the way the store does.
    fn flush(mirror: &mut crate::store::state::Mirror, lines: &Lines) {
        let ops = lines.text().to_owned();
        mirror.pending = Some(crate::store::state::PendingAppend::new(0, ops));
        assert!(matches!(
            crate::store::opencode::flush(mirror, false).unwrap(),
            crate::store::Flush::Done
        ));
        mirror.pending = None;
    }

    /// A new database in `dir`, our encoder's rows for the test conversation, and the mirror
    /// they go to (nothing written yet).
    fn our_conversation(dir: &Path) -> (std::path::PathBuf, Lines, crate::store::state::Mirror) {
        let db = database(dir);
        let encoder = our_encoder(&db);
        let opening = encoder.open(&testing::facts(dir)).unwrap();
        let mut cursor = opening.cursor.clone();
        let mut lines: Lines = opening.header.iter().collect();
        encoder.encode(&testing::conversation(), &mut cursor, &mut lines);
        let mirror = our_mirror(&opening.id, &db);
        (db, lines, mirror)
    }

    #[test]
    fn what_our_encoder_writes_reads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let encoder = our_encoder(&db);
        let cwd = dir.path();
        let opening = encoder.open(&testing::facts(cwd)).unwrap();
        let mut cursor = opening.cursor.clone();
        let mut lines: Lines = opening.header.iter().collect();
        let records = testing::conversation();
        encoder.encode(&records, &mut cursor, &mut lines);
        let mut mirror = our_mirror(&opening.id, &db);
        flush(&mut mirror, &lines);

        let listed = list_in(&db, BUSY, &HashSet::new()).unwrap();
        assert_eq!(listed.len(), 1);
        let session = &listed[0];
        assert!(session.ours, "our slug marks it");
        assert_eq!(session.id, opening.id);
        assert_eq!(session.title.as_deref(), Some(testing::facts(cwd).title));
        assert_eq!(session.cwd.as_deref(), Some(cwd));
        testing::round_trip(read, session, &items(&records), |more| {
            let mut lines = Lines::default();
            encoder.encode(more, &mut cursor, &mut lines);
            flush(&mut mirror, &lines);
        });
    }

    /// A write saved by its length (its rows gone with the process that planned it) is done
    /// when the session's newest message is its last one, and forks the mirror otherwise.
    #[test]
    fn a_write_saved_by_its_length_is_told_done_by_its_last_message() {
        let dir = tempfile::tempdir().unwrap();
        let (_, lines, mut mirror) = our_conversation(dir.path());
        flush(&mut mirror, &lines);
        let ops = lines.text();
        let last = crate::store::opencode::last_message(ops).unwrap();
        for (last_row, done) in [(last.clone(), true), ("msg_other".to_owned(), false)] {
            let saved = json!({"offset": 0, "len": ops.len(), "last_row": last_row});
            mirror.pending = Some(serde_json::from_value(saved).unwrap());
            let flushed = crate::store::opencode::flush(&mut mirror, false).unwrap();
            assert_eq!(matches!(flushed, crate::store::Flush::Done), done);
        }
        assert_eq!(mirror.tail, Some(last));
    }

    /// A write committed by a hook killed before it saved so: found pending again, its rows
    /// are there already and are left as they are, nothing twice.
    #[test]
    fn a_write_applied_again_leaves_its_rows_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let (db, lines, mut mirror) = our_conversation(dir.path());
        let count = |table: &str| -> i64 {
            Connection::open(&db)
                .unwrap()
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                    row.get(0)
                })
                .unwrap()
        };
        flush(&mut mirror, &lines);
        let rows = (count("message"), count("part"));
        mirror.tail = None;
        flush(&mut mirror, &lines);
        assert_eq!((count("message"), count("part")), rows);
        let last = crate::store::opencode::last_message(lines.text());
        assert_eq!(mirror.tail, last);
    }

    #[test]
    fn native_parts_reasoning_synthetic_text_and_running_calls() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let connection = Connection::open(&db).unwrap();
        connection
            .execute_batch(
                "INSERT INTO session (id, slug, directory, title, time_created, time_updated)
                   VALUES ('ses_1', 'calm-otter', '/p', 'Native', 1000, 2000);
                 INSERT INTO session (id, slug, directory, title, parent_id) VALUES ('ses_2', 'sub', '/p', 'Sub', 'ses_1');",
            )
            .unwrap();
        let rows = [
            (
                "msg_1",
                "user",
                vec![
                    json!({"type": "text", "text": "Fix it"}),
                    json!({"type": "text", "synthetic": true, "text": "Called the Read tool"}),
                    json!({"type": "file", "mime": "image/png", "url": "data:image/png;base64,AAAA"}),
                ],
            ),
            (
                "msg_2",
                "assistant",
                vec![
                    json!({"type": "step-start"}),
                    json!({"type": "reasoning", "text": "hmm"}),
                    json!({"type": "tool", "tool": "bash", "callID": "call_a", "state": {"status": "completed", "input": {"command": "make"}, "output": "boom", "metadata": {"exit": 2}}}),
                    json!({"type": "tool", "tool": "grep", "callID": "call_b", "state": {"status": "running", "input": {"pattern": "x"}}}),
                    json!({"type": "step-finish"}),
                ],
            ),
        ];
        for (n, (message, role, parts)) in rows.iter().enumerate() {
            connection
                .execute(
                    "INSERT INTO message (id, session_id, time_created, data) VALUES (?1, 'ses_1', ?2, ?3)",
                    rusqlite::params![message, n as i64, json!({"role": role}).to_string()],
                )
                .unwrap();
            for (p, part) in parts.iter().enumerate() {
                connection
                    .execute(
                        "INSERT INTO part (id, message_id, session_id, data) VALUES (?1, ?2, 'ses_1', ?3)",
                        rusqlite::params![format!("prt_{n}{p}"), message, part.to_string()],
                    )
                    .unwrap();
            }
        }
        let listed = list_in(&db, BUSY, &HashSet::new()).unwrap();
        assert_eq!(listed.len(), 1, "subagent sessions are not listed");
        assert!(!listed[0].ours);
        assert_eq!(
            listed[0].updated_at.as_deref(),
            Some("1970-01-01T00:00:02.000Z")
        );
        let conversation = read(&listed[0]).unwrap();
        assert_eq!(
            items(&conversation.records),
            vec![
                Item::Prompt {
                    parts: vec![
                        Part::Text("Fix it".into()),
                        Part::Image(Image {
                            media_type: "image/png".into(),
                            data: "AAAA".into()
                        })
                    ]
                },
                Item::ToolCall {
                    id: "call_a".into(),
                    name: "Bash".into(),
                    input: json!({"command": "make"})
                },
                Item::ToolCall {
                    id: "call_b".into(),
                    name: "grep".into(),
                    input: json!({"pattern": "x"})
                },
                Item::ToolResult {
                    id: "call_a".into(),
                    parts: vec![Part::Text("boom".into())],
                    is_error: true
                },
            ]
        );
        assert_eq!(
            testing::rids(&conversation),
            ["msg_1", "call_a:call", "call_b:call", "call_a:result"]
        );
        assert_eq!(conversation.dropped.get("reasoning"), Some(&1));
        assert_eq!(
            conversation
                .dropped
                .get("context OpenCode injected (synthetic text)"),
            Some(&1)
        );
    }

    /// A session the real OpenCode 1.18.33 wrote (its rows, recorded as JSON), in a database
    /// with exactly its columns.
    #[test]
    fn a_native_session_reads_as_the_conversation_the_model_saw() {
        let rows: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/native/opencode/ses_dc8ab1092ffeB7g71iPQ1Z0Mor.json"
        ))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("opencode.db");
        let connection = Connection::open(&db).unwrap();
        for (table, rows) in rows.as_object().unwrap() {
            let rows = rows.as_array().unwrap();
            let columns: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
            let names: Vec<&str> = columns.iter().map(|c| c.as_str()).collect();
            connection
                .execute_batch(&format!("CREATE TABLE {table} ({});", names.join(", ")))
                .unwrap();
            let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let sql = format!("INSERT INTO {table} VALUES ({})", marks.join(", "));
            for row in rows {
                let values: Vec<rusqlite::types::Value> = columns
                    .iter()
                    .map(|c| match &row[c.as_str()] {
                        Value::Null => rusqlite::types::Value::Null,
                        Value::String(s) => rusqlite::types::Value::Text(s.clone()),
                        Value::Number(n) if n.is_i64() => {
                            rusqlite::types::Value::Integer(n.as_i64().unwrap())
                        }
                        Value::Number(n) => rusqlite::types::Value::Real(n.as_f64().unwrap()),
                        other => rusqlite::types::Value::Text(other.to_string()),
                    })
                    .collect();
                connection
                    .execute(&sql, rusqlite::params_from_iter(values))
                    .unwrap();
            }
        }
        let listed = list_in(&db, BUSY, &HashSet::new()).unwrap();
        assert_eq!(listed.len(), 1);
        let session = &listed[0];
        assert_eq!(session.title.as_deref(), Some("Mock title"));
        assert_eq!(
            session.cwd.as_deref(),
            Some(Path::new("/home/user/project"))
        );
        assert!(!session.ours);
        let conversation = read(session).unwrap();
        assert_eq!(testing::shape(&conversation.records), testing::RECORDED);
        assert!(
            conversation.dropped.is_empty(),
            "{:?}",
            conversation.dropped
        );
        let Item::ToolResult { parts, .. } = &conversation.records[5].item else {
            panic!()
        };
        assert_eq!(
            parts,
            &[Part::Text(
                "ls: cannot access 'docs': No such file or directory\n".into()
            )]
        );
        let Item::ToolCall { input, .. } = &conversation.records[2].item else {
            panic!()
        };
        assert_eq!(
            input,
            &json!({"command": "ls -1", "description": "List files"})
        );
    }

    #[test]
    fn a_locked_or_unknown_database_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(dir.path());
        let writer = Connection::open(&db).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE;")
            .unwrap();
        let err = list_in(&db, Duration::ZERO, &HashSet::new()).unwrap_err();
        assert!(
            err.contains("is locked") && err.contains("try again"),
            "{err}"
        );
        writer.execute_batch("COMMIT;").unwrap();

        let other = dir.path().join("other.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE session (id TEXT PRIMARY KEY, title TEXT);")
            .unwrap();
        let err = list_in(&other, BUSY, &HashSet::new()).unwrap_err();
        assert!(
            err.contains("schema session-sync does not know (no session.parent_id)"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }
}
