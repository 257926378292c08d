//! What session-sync remembers per Claude session (documented in docs/state.md).

use crate::encode::{Benign, Index, Kind};
use crate::hash::{push_hex, sha256_hex};
use crate::sync::Progress;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionState {
    pub version: u32,
    pub claude_session_id: String,
    pub transcript_path: PathBuf,
    pub cwd: PathBuf,
    /// The directory whose configuration governs this session (project root, or the cwd when
    /// the global configuration applies).
    pub project: PathBuf,
    pub created_at: String,
    pub last_sync: String,
    /// The first prompt, shortened, to recognise the session in listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub progress: Progress,
    /// Consecutive hooks that found no transcript file (then stop waiting for it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub transcript_misses: u32,
    /// Bytes of `records.jsonl` (every record mirrored so far) this state accounts for.
    #[serde(default)]
    pub records_bytes: u64,
    /// The live mirror per target name (`codex`, …).
    #[serde(default)]
    pub mirrors: BTreeMap<String, Mirror>,
    /// Mirrors left behind by a fork (the user continued them in the agent), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<Retired>,
    /// The other agent's session this one is handed over from (`mirror --from`); `None` for
    /// a Claude Code session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// What the listings index holds for this state, as loaded or last saved: a save appends
    /// a line to it only when this changes. Not saved.
    #[serde(skip)]
    pub listed: Option<super::listing::Listed>,
}

/// A native session of another agent, mirrored from its own store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub agent: String,
    pub id: String,
    pub path: PathBuf,
    /// Records of the session read and mirrored so far, and the identity chain over their ids
    /// (`../shared/specs/packages.md`): the next read appends only past a matching prefix.
    pub records: u64,
    pub chain: String,
    /// What the reader left out (reasoning, injected context), counted by what it was.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, u64>,
    /// The package it was imported from last, when it came from another machine; then its own
    /// agent is a target too (the session is written there as well).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Its own agent's copy takes the session's id (free on this machine when imported).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_id: bool,
}

impl SessionState {
    /// A session nothing was mirrored of yet, under the state key `key`.
    pub fn new(key: &str, transcript: PathBuf, cwd: PathBuf, project: PathBuf, now: &str) -> Self {
        SessionState {
            version: STATE_VERSION,
            claude_session_id: key.to_owned(),
            transcript_path: transcript,
            cwd,
            project,
            created_at: now.to_owned(),
            last_sync: now.to_owned(),
            title: None,
            progress: Default::default(),
            transcript_misses: 0,
            records_bytes: 0,
            mirrors: Default::default(),
            retired: Vec::new(),
            source: None,
            listed: None,
        }
    }

    /// The title agents list the mirror under: the first prompt, else the session's id (an
    /// empty title shows as a blank entry).
    pub fn listed_title(&self) -> String {
        self.title.clone().unwrap_or_else(|| {
            let (agent, id) = match &self.source {
                Some(source) => (source.agent.as_str(), source.id.as_str()),
                None => ("Claude Code", self.claude_session_id.as_str()),
            };
            let id: String = id.chars().take(8).collect();
            format!("{agent} session {id}")
        })
    }

    /// The sessions session-sync wrote as mirrors of this one, live or left behind, by agent
    /// and id. Not an import's copy in the session's own agent (that is the session itself, on
    /// this machine), nor this machine's own session kept beside a diverged import (no path:
    /// session-sync never wrote it).
    pub fn mirror_sessions(&self) -> impl Iterator<Item = (&str, &str)> {
        let own = self
            .source
            .as_ref()
            .filter(|s| s.package.is_some())
            .map(|s| s.agent.as_str());
        let live = self
            .mirrors
            .iter()
            .map(|(t, m)| (t.as_str(), m.id.as_str()));
        let left = self
            .retired
            .iter()
            .filter(|r| !r.path.as_os_str().is_empty())
            .map(|r| (r.target.as_str(), r.id.as_str()));
        live.chain(left)
            .filter(move |(target, _)| Some(*target) != own)
    }

    /// The agent the session comes from: `claude` unless handed over from another.
    pub fn source_agent(&self) -> &str {
        self.source_session().0
    }

    /// The agent and id the session comes from: `claude` and the key unless handed over.
    pub fn source_session(&self) -> (&str, &str) {
        match &self.source {
            Some(source) => (source.agent.as_str(), source.id.as_str()),
            None => ("claude", self.claude_session_id.as_str()),
        }
    }

    /// The agent never mirrored into: the one the session is read from on this machine (an
    /// imported session is written into its own agent too).
    pub fn excluded_target(&self) -> Option<&str> {
        match &self.source {
            Some(source) if source.package.is_some() => None,
            _ => Some(self.source_agent()),
        }
    }

    /// The id of the mirror that carries a retired mirror's session on now: after several
    /// forks the latest, not the one that replaced it. `None` when its target has none.
    pub fn live_successor(&self, retired: &Retired) -> Option<&str> {
        self.mirrors.get(&retired.target).map(|m| m.id.as_str())
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mirror {
    /// The session id in the target agent (what its resume command takes).
    pub id: String,
    pub path: PathBuf,
    #[serde(default)]
    pub kind: Kind,
    /// A file the target agent `flock`s while it has the session open; we do not append then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer_lock: Option<PathBuf>,
    pub created_at: String,
    pub last_sync: String,
    /// Conversation records (prompts, texts, calls, outputs) written to this mirror.
    pub records: u64,
    pub lineage: Lineage,
    /// Lines committed to the lineage but not yet known to be in the file (see docs/state.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingAppend>,
    /// The encoder's memory of this mirror (open turns, chains).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub cursor: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<Index>,
    /// Lines the agent may append without the user continuing the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benign: Option<Benign>,
    /// When `index` was last brought up to date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indexed_at: Option<String>,
    /// How the index's files looked after our last look into it (`store::index::stamp`):
    /// while unchanged, no other session can have been listed as more recent than ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_stamp: Option<String>,
    /// For database mirrors: the id of the last row we wrote that the agent orders by, to
    /// notice rows the agent added after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail: Option<String>,
    /// What this target could not carry, counted by what it was (the loss report).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub losses: BTreeMap<String, u64>,
}

/// A mirror replaced by a fork, kept so `status` can still offer it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Retired {
    pub target: String,
    pub id: String,
    pub path: PathBuf,
    /// Why it was left: the user continued it in the agent, it was rewritten or deleted.
    pub reason: String,
    pub retired_at: String,
    /// The id of the fork that replaced it (itself retired if the user continued that one
    /// too: `SessionState::live_successor` gives the live mirror).
    pub successor: String,
    /// Where session-sync's writes to it ended, and how much of the records journal they
    /// carried: an import's copy the user went on with is exported as that much of its
    /// lineage, then what was said in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<Written>,
}

/// How far session-sync wrote a mirror that was then left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    pub bytes: u64,
    pub journal_bytes: u64,
}

/// Identity and integrity of the lines session-sync wrote to one mirror file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The Claude session this mirror descends from.
    pub lineage_id: String,
    /// Lines written, header included.
    pub lines: u64,
    /// Where our last line ends in the file.
    pub bytes: u64,
    /// sha256 hash chain over every line written: `chain = sha256(previous_chain_hex || line || "\n")`,
    /// starting from `sha256(lineage_id)`.
    pub chain: String,
    /// The mirror this one was forked from, and where it stood then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ForkPoint>,
}

/// Where a fork left its parent mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkPoint {
    pub id: String,
    pub lines: u64,
    pub bytes: u64,
    pub chain: String,
}

impl Lineage {
    pub fn new(lineage_id: &str) -> Self {
        Lineage {
            lineage_id: lineage_id.to_owned(),
            lines: 0,
            bytes: 0,
            chain: sha256_hex(lineage_id.as_bytes()),
            parent: None,
        }
    }

    pub fn extend(&mut self, line: &str) {
        self.extend_lines([line]);
    }

    /// `extend` for each of `lines`, the chain kept in one buffer between them.
    pub fn extend_lines<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
        let mut chain = std::mem::take(&mut self.chain);
        for line in lines {
            let mut hasher = Sha256::new();
            hasher.update(chain.as_bytes());
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
            chain.clear();
            push_hex(&mut chain, &hasher.finalize());
            self.lines += 1;
            self.bytes += line.len() as u64 + 1;
        }
        self.chain = chain;
    }
}

/// Lines committed to a mirror's lineage, to be at `offset` of its file once appended (for a
/// database mirror, row upserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAppend {
    pub offset: u64,
    /// The lines; empty in a state loaded after a write saved by its length alone.
    pub data: String,
    /// Bytes the lines take.
    pub len: u64,
    pub ahead: Ahead,
    /// For a database write saved by its length: the last message it adds, by which a
    /// completed write is told from a lost one.
    pub last_row: Option<String>,
}

/// How a pending write is saved with the state, ahead of the write itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ahead {
    /// With its lines: whoever finds it pending completes it.
    Lines,
    /// By its length alone, so that its bytes are written once: whoever finds it pending can
    /// only tell whether it completed, and forks the mirror of one that did not.
    Length,
}

impl PendingAppend {
    pub fn new(offset: u64, data: String) -> Self {
        PendingAppend {
            offset,
            len: data.len() as u64,
            data,
            ahead: Ahead::Lines,
            last_row: None,
        }
    }

    pub fn end(&self) -> u64 {
        self.offset + self.len
    }

    /// Saved by its length and loaded again: its lines went with the process that planned it.
    pub fn is_lost(&self) -> bool {
        self.data.is_empty() && self.len > 0
    }

    pub fn push(&mut self, data: &str) {
        self.data.push_str(data);
        self.len += data.len() as u64;
    }
}

#[derive(Serialize, Deserialize)]
struct PendingWire<'a> {
    offset: u64,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    data: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    len: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_row: Option<std::borrow::Cow<'a, str>>,
}

impl Serialize for PendingAppend {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let by_length = self.ahead == Ahead::Length;
        PendingWire {
            offset: self.offset,
            data: (!by_length).then_some(self.data.as_str().into()),
            len: by_length.then_some(self.len),
            last_row: self.last_row.as_deref().map(Into::into),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PendingAppend {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = PendingWire::deserialize(deserializer)?;
        let data = wire.data.map(|d| d.into_owned());
        Ok(PendingAppend {
            offset: wire.offset,
            len: data
                .as_ref()
                .map_or(wire.len.unwrap_or(0), |d| d.len() as u64),
            ahead: if data.is_some() {
                Ahead::Lines
            } else {
                Ahead::Length
            },
            data: data.unwrap_or_default(),
            last_row: wire.last_row.map(|r| r.into_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_write_is_saved_with_its_lines_or_by_its_length() {
        let mut pending = PendingAppend::new(10, "{}\n".into());
        let saved = serde_json::to_value(&pending).unwrap();
        assert_eq!(saved, serde_json::json!({"offset": 10, "data": "{}\n"}));
        assert_eq!(
            serde_json::from_value::<PendingAppend>(saved).unwrap(),
            pending
        );

        pending.ahead = Ahead::Length;
        pending.last_row = Some("msg_1".into());
        let saved = serde_json::to_value(&pending).unwrap();
        assert_eq!(
            saved,
            serde_json::json!({"offset": 10, "len": 3, "last_row": "msg_1"})
        );
        let loaded = serde_json::from_value::<PendingAppend>(saved).unwrap();
        assert!(loaded.is_lost());
        assert_eq!((loaded.end(), loaded.ahead), (13, Ahead::Length));
        // Saved again as it was loaded: still by its length.
        assert_eq!(
            serde_json::to_value(&loaded).unwrap()["len"],
            serde_json::json!(3)
        );
    }

    #[test]
    fn chain_depends_on_every_line_and_its_order() {
        let mut a = Lineage::new("s");
        a.extend("one");
        a.extend("two");
        let mut b = Lineage::new("s");
        b.extend("two");
        b.extend("one");
        assert_ne!(a.chain, b.chain);
        assert_eq!((a.lines, a.bytes), (2, 8));
    }
}
