//! What every agent's reader gives: the sessions in its own store, and one session read whole
//! into normalized records.

use crate::model::{Item, Record};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The identity chain over record ids (`../shared/specs/packages.md`): `c0 = sha256(lineage)`,
/// `cn = sha256(cn-1 || rid_n)`.
pub fn chain<'a>(lineage: &str, rids: impl IntoIterator<Item = &'a str>) -> String {
    let mut chain: Vec<u8> = Sha256::digest(lineage.as_bytes()).to_vec();
    for rid in rids {
        let mut hasher = Sha256::new();
        hasher.update(&chain);
        hasher.update(rid.as_bytes());
        chain = hasher.finalize().to_vec();
    }
    chain.iter().map(|b| format!("{b:02x}")).collect()
}

/// File modification time as RFC 3339.
pub fn modified(path: &std::path::Path) -> Option<String> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(crate::encode::rfc3339(
        chrono::DateTime::<chrono::Utc>::from(modified),
    ))
}
