//! What every agent's reader gives: the sessions in its own store, and one session read whole
//! into normalized records.

use crate::model::{Item, Record};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// A session in an agent's own store.
#[derive(Debug, Clone, Serialize)]
pub struct NativeSession {
    pub agent: &'static str,
    /// The id its agent resumes it by.
    pub id: String,
    /// Its file (or, for a database store, the database).
    pub path: PathBuf,
    pub cwd: Option<PathBuf>,
    /// The agent's own title, where it keeps one.
    pub title: Option<String>,
    /// RFC 3339.
    pub started_at: Option<String>,
    /// RFC 3339: the last write to the session.
    pub updated_at: Option<String>,
    /// Written by session-sync (a mirror), not by the agent.
    pub ours: bool,
}

/// A native session read whole.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub session: NativeSession,
    /// Every record carries a `rid` stable across reads of the same session.
    pub records: Vec<Record>,
    /// What the reader left out on purpose, counted by what it was ("reasoning blocks").
    pub dropped: BTreeMap<String, u64>,
}

impl Conversation {
    pub fn new(session: NativeSession) -> Self {
        Conversation {
            session,
            records: Vec::new(),
            dropped: BTreeMap::new(),
        }
    }

    pub fn drop_one(&mut self, what: &str) {
        *self.dropped.entry(what.to_owned()).or_default() += 1;
    }

    /// Prompts and visible answers: what `sessions` counts as messages.
    pub fn message_count(&self) -> u64 {
        self.records
            .iter()
            .filter(|r| {
                r.agent.is_none() && matches!(r.item, Item::Prompt { .. } | Item::Text { .. })
            })
            .count() as u64
    }

    /// The first prompt's text, for a session without a title of its own.
    pub fn first_prompt(&self) -> Option<String> {
        self.records.iter().find_map(|r| match &r.item {
            Item::Prompt { parts } => Some(crate::model::joined_text(parts)),
            _ => None,
        })
    }
}

/// Reads the header of the session file at a path.
pub type AtPath = fn(&std::path::Path) -> Result<NativeSession, String>;

/// One agent's reader.
pub struct Reader {
    /// The agent's name, as `--from` and `--agent` take it.
    pub agent: &'static str,
    /// Every session in the agent's store (cheap: headers, not whole sessions). `Ok(empty)`
    /// when the store does not exist.
    pub list: fn() -> Result<Vec<NativeSession>, String>,
    /// One session read whole. An error says what is wrong and what to do, in one line.
    pub read: fn(&NativeSession) -> Result<Conversation, String>,
    /// The session a file path names, for agents whose sessions are files.
    pub at_path: Option<AtPath>,
    /// Why the session cannot be read now, when its agent has it open and may be halfway
    /// through writing it.
    pub busy: Option<fn(&NativeSession) -> Option<String>>,
}

impl Reader {
    pub fn busy(&self, session: &NativeSession) -> Option<String> {
        self.busy.and_then(|busy| busy(session))
    }
}

/// A record id for agents without ids of their own: the item's canonical JSON at its place in
/// the conversation, so that re-reading (or re-serialising) the same session gives the same ids.
pub fn content_rid(lineage: &str, ordinal: u64, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(lineage.as_bytes());
    hasher.update(b"\0");
    hasher.update(ordinal.to_string().as_bytes());
    hasher.update(b"\0");
    hasher.update(canonical.as_bytes());
    crate::hash::hex(&hasher.finalize()[..16])
}

/// The identity chain over record ids (`../shared/specs/packages.md`): `c0 = sha256(lineage)`,
/// `cn = sha256(cn-1 || rid_n)`.
pub fn chain<'a>(lineage: &str, rids: impl IntoIterator<Item = &'a str>) -> String {
    let mut chain = Chain::new(lineage);
    chain.extend(rids);
    chain.hex()
}

/// The identity chain, extended as records are handed over (a long session goes in steps).
pub struct Chain([u8; 32]);

impl Chain {
    pub fn new(lineage: &str) -> Self {
        Chain(Sha256::digest(lineage.as_bytes()).into())
    }

    pub fn extend<'a>(&mut self, rids: impl IntoIterator<Item = &'a str>) {
        for rid in rids {
            let mut hasher = Sha256::new();
            hasher.update(self.0);
            hasher.update(rid.as_bytes());
            self.0 = hasher.finalize().into();
        }
    }

    pub fn hex(&self) -> String {
        crate::hash::hex(&self.0)
    }
}

/// File modification time as RFC 3339.
pub fn modified(path: &Path) -> Option<String> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(crate::encode::rfc3339(
        chrono::DateTime::<chrono::Utc>::from(modified),
    ))
}

/// Unix milliseconds as RFC 3339.
pub fn from_millis(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(crate::encode::rfc3339)
}

/// The ids of the sessions session-sync wrote into `target`'s store, for agents whose files
/// carry no mark of ours: the mirrors (current and retired) our state names.
pub fn mirrored(target: &str) -> HashSet<String> {
    crate::paths::data_dir()
        .map(|data_dir| mirrored_in(&data_dir, target))
        .unwrap_or_default()
}

fn mirrored_in(data_dir: &Path, target: &str) -> HashSet<String> {
    crate::store::all_sessions(data_dir)
        .iter()
        .flat_map(|state| state.mirror_sessions())
        .filter(|(t, _)| *t == target)
        .map(|(_, id)| id.to_owned())
        .collect()
}

/// A session file's text, or the one-line error `read` gives.
pub fn read_file(path: &Path, max: u64) -> Result<String, String> {
    crate::read::read_text(path, max).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The head and tail of a session file, for listings: its first line, and metadata an agent
/// writes near the start or appends later, without reading what lies between.
pub struct Edges {
    head: String,
    tail: String,
}

impl Edges {
    const SIZE: u64 = 64 * 1024;

    pub fn read(path: &Path) -> Result<Edges, String> {
        let failed = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        let range = |offset: u64| {
            crate::read::read_range(path, offset, Self::SIZE)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .map_err(failed)
        };
        let size = crate::read::size(path).map_err(failed)?;
        let head = range(0)?;
        let tail = match size.checked_sub(Self::SIZE) {
            Some(start) if start > 0 => range(start)?,
            _ => String::new(),
        };
        Ok(Edges { head, tail })
    }

    /// The first line as JSON (`Null` when it is not).
    pub fn first(&self) -> Value {
        self.head
            .lines()
            .next()
            .and_then(|line| serde_json::from_str(line).ok())
            .unwrap_or(Value::Null)
    }

    /// The last value `pick` finds in a whole line containing `needle`, the tail first.
    pub fn last(&self, needle: &str, pick: impl Fn(&Value) -> Option<String>) -> Option<String> {
        [&self.tail, &self.head].into_iter().find_map(|text| {
            text.lines()
                .filter(|line| line.contains(needle))
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter_map(|line| pick(&line))
                .next_back()
        })
    }
}

/// The JSON objects of a JSONL session. A last line the agent is still writing (no newline
/// yet) is left for a later read; any other line that is not a JSON object is counted.
pub fn json_lines(text: &str, out: &mut Conversation) -> Vec<Value> {
    let complete = match text.rfind('\n') {
        Some(end) if !text.ends_with('\n') => {
            let tail = &text[end + 1..];
            let whole = serde_json::from_str::<Value>(tail).is_ok_and(|v| v.is_object());
            if whole { text } else { &text[..=end] }
        }
        _ => text,
    };
    let mut lines = Vec::new();
    for line in complete.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(value) if value.is_object() => lines.push(value),
            _ => out.drop_one("unreadable lines"),
        }
    }
    lines
}

/// A call in the normalized vocabulary: the agent's shell tool `shell` becomes Claude Code's
/// `Bash` (which every encoder maps back to its target's own), any other tool keeps its name.
/// Arguments are a JSON object; arguments given as JSON text are parsed, anything else is
/// kept under `input`.
pub fn tool_call(name: &str, shell: &str, arguments: &Value) -> (String, Value) {
    let arguments = match arguments {
        Value::Object(_) => arguments.clone(),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(parsed @ Value::Object(_)) => parsed,
            _ => serde_json::json!({ "input": text }),
        },
        Value::Null => serde_json::json!({}),
        other => serde_json::json!({ "input": other }),
    };
    let is_shell = name == shell && arguments.get("command").is_some_and(Value::is_string);
    let name = if is_shell { "Bash" } else { name };
    (name.to_owned(), arguments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation() -> Conversation {
        Conversation::new(NativeSession {
            agent: "test",
            id: "s".into(),
            path: PathBuf::from("/nowhere"),
            cwd: None,
            title: None,
            started_at: None,
            updated_at: None,
            ours: false,
        })
    }

    #[test]
    fn a_half_written_last_line_waits_and_other_bad_lines_are_counted() {
        let mut out = conversation();
        let lines = json_lines("{\"a\":1}\nnot json\n{\"b\":2}\n{\"c\":", &mut out);
        assert_eq!(
            lines,
            vec![serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]
        );
        assert_eq!(out.dropped.get("unreadable lines"), Some(&1));
        let mut out = conversation();
        assert_eq!(json_lines("{\"a\":1}", &mut out).len(), 1);
    }

    #[test]
    fn mirrors_and_retired_mirrors_in_our_state_are_ours() {
        let data_dir = tempfile::tempdir().unwrap();
        let mirror = |id: &str| {
            serde_json::json!({
                "id": id, "path": "/m", "created_at": "", "last_sync": "", "records": 0,
                "lineage": crate::store::state::Lineage::new("x"),
            })
        };
        let mut state: crate::store::state::SessionState =
            serde_json::from_value(serde_json::json!({
                "version": 1, "claude_session_id": "c1", "transcript_path": "/t", "cwd": "/p",
                "project": "/p", "created_at": "", "last_sync": "",
                "progress": { "transcript_offset": 0 },
                "mirrors": { "qwen": mirror("q-now"), "gemini": mirror("g-now") },
                "retired": [{ "target": "qwen", "id": "q-old", "path": "/m", "reason": "continued",
                              "retired_at": "", "successor": "q-now" }],
            }))
            .unwrap();
        let files = crate::store::SessionFiles::new(data_dir.path(), "c1");
        std::fs::create_dir_all(files.state.parent().unwrap()).unwrap();
        crate::store::save_state(&files, &mut state).unwrap();
        let ours = mirrored_in(data_dir.path(), "qwen");
        assert_eq!(
            ours,
            HashSet::from(["q-now".to_owned(), "q-old".to_owned()])
        );
    }

    #[test]
    fn the_shell_tool_becomes_bash_and_arguments_an_object() {
        let args = serde_json::json!({"command": "ls", "description": "list"});
        assert_eq!(
            tool_call("bash", "bash", &args),
            ("Bash".into(), args.clone())
        );
        assert_eq!(tool_call("read", "bash", &args).0, "read");
        assert_eq!(
            tool_call("x", "bash", &Value::String("{\"k\":1}".into())).1,
            serde_json::json!({"k": 1})
        );
        assert_eq!(
            tool_call("x", "bash", &Value::String("raw".into())).1,
            serde_json::json!({"input": "raw"})
        );
    }
}
