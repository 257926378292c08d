//! What session-sync remembers per Claude session (documented in docs/state.md).

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
    /// Mirror per target name (`codex`, …).
    #[serde(default)]
    pub mirrors: BTreeMap<String, Mirror>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mirror {
    /// The session id in the target agent (what its resume command takes).
    pub id: String,
    pub path: PathBuf,
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
}

impl Lineage {
    pub fn new(lineage_id: &str) -> Self {
        Lineage {
            lineage_id: lineage_id.to_owned(),
            lines: 0,
            bytes: 0,
            chain: hex(&Sha256::digest(lineage_id.as_bytes())),
        }
    }

    pub fn extend(&mut self, line: &str) {
        let mut hasher = Sha256::new();
        hasher.update(self.chain.as_bytes());
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
        self.chain = hex(&hasher.finalize());
        self.lines += 1;
        self.bytes += line.len() as u64 + 1;
    }
}

/// Bytes to be at `offset` of the mirror file once appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAppend {
    pub offset: u64,
    pub data: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
