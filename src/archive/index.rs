//! `.session-sync-archive.json`: committed with the archive, so that any clone knows which
//! sessions it holds, how far each was archived, and under which names.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FILE: &str = ".session-sync-archive.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Index {
    pub version: u32,
    /// By lineage id (`<agent>:<session id>`).
    pub sessions: BTreeMap<String, Entry>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            version: VERSION,
            sessions: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub agent: String,
    pub id: String,
    pub user: String,
    pub host: String,
    /// `~/work/app`, as people read it.
    pub project: String,
    pub title: String,
    /// RFC 3339: first and last record.
    pub started: String,
    pub last_activity: String,
    /// Records archived and their identity chain: the session moved when either differs.
    pub records: u64,
    pub chain: String,
    /// The Markdown file, relative to the repository; the hidden JSON and subagent files
    /// are named after it.
    pub markdown: String,
    /// Every file written for the session, relative to the repository, with its sha256:
    /// how a later run tells its own uncommitted output from someone else's edits.
    pub files: BTreeMap<String, String>,
}

impl Index {
    /// The index in `repo`; empty when there is none yet.
    pub fn load(repo: &Path) -> Result<Index, String> {
        let path = repo.join(FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{} is not a valid archive index ({e}); restore it with `git -C {} checkout -- {FILE}`",
                path.display(),
                repo.display()
            )
        })?;
        if index.version > VERSION {
            return Err(format!(
                "{} was written by a newer session-sync (index version {}); upgrade session-sync",
                path.display(),
                index.version
            ));
        }
        Ok(index)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("the index serialises");
        text.push('\n');
        text.into_bytes()
    }

    /// Whether `markdown` already names another lineage's session.
    pub fn taken(&self, markdown: &str, lineage: &str) -> bool {
        self.sessions
            .iter()
            .any(|(other, entry)| other != lineage && entry.markdown == markdown)
    }
}
