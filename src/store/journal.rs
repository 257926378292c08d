//! Import transactions (`journal/<txid>/`): `tx.json` says where the import stands and
//! `ops.jsonl` lists what it changes, each op written (and synced) before it is carried out,
//! so that `rollback` undoes exactly the import's own writes, even after a crash.

use super::fs;
use super::{Mirror, SessionFiles, SessionState};
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Applying,
    Committed,
    RolledBack,
    Failed,
}

/// `tx.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tx {
    pub txid: String,
    pub package_id: String,
    pub package_sha256: String,
    pub package_path: PathBuf,
    pub started_at: String,
    pub status: Status,
    pub tool_version: String,
    pub machine_id: String,
    /// One line per planned session and target.
    pub plan: Vec<String>,
    /// After a rollback: one line per op, kept or undone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<String>,
}

/// One journal op.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Written before a session's writes: its state before them, and the native files of
    /// this machine it will append to (never delete those).
    Session {
        key: String,
        before: Option<Box<SessionState>>,
        adopted: Vec<Adopted>,
    },
    /// Written after them: exactly what was written, for an exact undo.
    Written { key: String, files: Vec<Written> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Adopted {
    pub path: PathBuf,
    pub size_before: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Written {
    pub target: String,
    pub path: PathBuf,
    /// Created by the import (else appended to).
    pub created: bool,
    pub offset_before: u64,
    pub size_after: u64,
    /// Of the bytes the import wrote (`offset_before..size_after`).
    pub sha256: String,
    /// A created mirror, to remove with what lists it (an index row, database rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Box<Mirror>>,
}

pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    pub fn new(data_dir: &Path) -> Self {
        Journal {
            dir: data_dir.join("journal"),
        }
    }

    fn tx_dir(&self, txid: &str) -> PathBuf {
        self.dir.join(txid)
    }

    pub fn begin(&self, tx: &Tx) -> io::Result<()> {
        self.save(tx)
    }

    pub fn save(&self, tx: &Tx) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(tx).map_err(io::Error::other)?;
        fs::write_atomic(&self.tx_dir(&tx.txid).join("tx.json"), &json)
    }

    /// Appends `op` and syncs it to disk before the caller carries it out.
    pub fn log(&self, txid: &str, op: &Op) -> io::Result<()> {
        let mut line = serde_json::to_vec(op).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut file = fs::open_append(&self.tx_dir(txid).join("ops.jsonl"))?;
        file.write_all(&line)?;
        file.sync_data()
    }

    pub fn ops(&self, txid: &str) -> io::Result<Vec<Op>> {
        let path = self.tx_dir(txid).join("ops.jsonl");
        let text = match crate::read::read_text(&path, 1 << 30) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        // A line torn by a crash was never carried out.
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect())
    }

    /// Every transaction, oldest first (txids are UUIDv7, ordered by time).
    pub fn list(&self) -> Vec<Tx> {
        let mut txs: Vec<Tx> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let text = crate::read::read_text(&entry.path().join("tx.json"), 16 << 20).ok()?;
                serde_json::from_str(&text).ok()
            })
            .collect();
        txs.sort_by(|a, b| a.txid.cmp(&b.txid));
        txs
    }

    pub fn get(&self, txid: &str) -> Option<Tx> {
        let text = crate::read::read_text(&self.tx_dir(txid).join("tx.json"), 16 << 20).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// Undoes `ops` in reverse, keeping whatever changed since; returns one line per op, and
/// whether every op was undone.
pub fn undo(data_dir: &Path, ops: &[Op]) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut complete = true;
    let mut written: std::collections::HashMap<&str, &Vec<Written>> = Default::default();
    for op in ops {
        if let Op::Written { key, files } = op {
            written.insert(key.as_str(), files);
        }
    }
    for op in ops.iter().rev() {
        let Op::Session {
            key,
            before,
            adopted,
        } = op
        else {
            continue;
        };
        let files = SessionFiles::new(data_dir, key);
        let lock = match super::LockGuard::acquire(&files.lock, std::time::Duration::from_secs(10))
        {
            Ok(lock) => lock,
            Err(e) => {
                lines.push(format!("kept {key}: cannot lock its state ({e})"));
                complete = false;
                continue;
            }
        };
        let current = super::load_state(&files.state).ok().flatten();
        let undone_files = match written.get(key.as_str()) {
            Some(files) => files.iter().map(undo_written).collect::<Vec<_>>(),
            // Crashed before it could say what it wrote: the state tells.
            None => current
                .as_ref()
                .map(|current| writes(before.as_deref(), current, adopted))
                .unwrap_or_default()
                .iter()
                .map(undo_written)
                .collect(),
        };
        for (line, done) in undone_files {
            complete &= done;
            lines.push(line);
        }
        let restored = match before {
            Some(state) => super::save_state(&files, &mut state.clone()),
            None => super::remove::session(data_dir, key, &lock).map(|_| ()),
        };
        match restored {
            Ok(()) => lines.push(format!("undone: session-sync's record of {key}")),
            Err(e) => {
                complete = false;
                lines.push(format!("kept session-sync's record of {key}: {e}"));
            }
        }
    }
    (lines, complete)
}

/// What a session's writes were, from its state before and after them: each mirror created
/// or appended to, with the hash of the bytes written (an import records it once done; a
/// rollback after a crash works it out from the state the crash left).
pub fn writes(
    before: Option<&SessionState>,
    after: &SessionState,
    adopted: &[Adopted],
) -> Vec<Written> {
    after
        .mirrors
        .iter()
        .filter_map(|(target, mirror)| {
            let old = before
                .and_then(|b| b.mirrors.get(target))
                .filter(|m| m.id == mirror.id);
            let native = adopted.iter().find(|a| a.path == mirror.path);
            let (created, offset_before) = match (old, native) {
                (Some(old), _) => (false, old.lineage.bytes),
                (None, Some(native)) => (false, native.size_before),
                (None, None) => (true, 0),
            };
            let size_after = mirror.lineage.bytes;
            let database = mirror.kind == crate::encode::Kind::OpencodeDb;
            if size_after <= offset_before && !(created && database) {
                return None;
            }
            let sha256 = if database {
                String::new()
            } else {
                crate::read::read_range(&mirror.path, offset_before, size_after - offset_before)
                    .map(|b| crate::hash::sha256_hex(&b))
                    .unwrap_or_default()
            };
            Some(Written {
                target: target.clone(),
                path: mirror.path.clone(),
                created,
                offset_before,
                size_after,
                sha256,
                mirror: created.then(|| Box::new(mirror.clone())),
            })
        })
        .collect()
}

/// Deletes a created mirror or truncates an append, only if nothing changed it since.
fn undo_written(w: &Written) -> (String, bool) {
    let place = format!("{} ({})", w.path.display(), w.target);
    if let Some(mirror) = w
        .mirror
        .as_deref()
        .filter(|m| m.kind == crate::encode::Kind::OpencodeDb)
    {
        return match super::remove::mirror(mirror) {
            Ok(_) => (
                format!("undone: {place} session {} removed", mirror.id),
                true,
            ),
            Err(e) => (format!("kept {place} session {}: {e}", mirror.id), false),
        };
    }
    let size = std::fs::symlink_metadata(&w.path).ok().map(|m| m.len());
    match size {
        None => return (format!("nothing to undo: {place} is gone"), true),
        Some(size) if size != w.size_after => {
            return (
                format!("kept {place}: it was continued after the import"),
                false,
            );
        }
        Some(_) => {}
    }
    if !w.sha256.is_empty() {
        let tail =
            crate::read::read_range(&w.path, w.offset_before, w.size_after - w.offset_before);
        if tail.map(|t| crate::hash::sha256_hex(&t)).ok().as_deref() != Some(w.sha256.as_str()) {
            return (
                format!("kept {place}: its content changed since the import"),
                false,
            );
        }
    }
    let result = match (&w.mirror, w.created) {
        (Some(mirror), true) => super::remove::mirror(mirror).map(|_| "deleted"),
        (None, true) => super::remove::file(&w.path).map(|_| "deleted"),
        (_, false) => {
            fs::truncate(&w.path, w.offset_before).map(|_| "truncated to its size before")
        }
    };
    match result {
        Ok(done) => (format!("undone: {place} {done}"), true),
        Err(e) => (format!("kept {place}: {e}"), false),
    }
}
