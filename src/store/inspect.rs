//! Looking at what session-sync wrote, for the maintenance commands: is a mirror file still
//! exactly ours, what its first line says, and whether a store directory takes new files.

use super::{Lineage, Mirror, lock};
use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// What a mirror file holds compared with what session-sync wrote to it.
#[derive(Debug, PartialEq, Eq)]
pub enum MirrorFile {
    /// Nothing at its path any more.
    Missing,
    /// Exactly the lines session-sync wrote, nothing else: safe to delete.
    Ours,
    /// What session-sync wrote, then `appended` bytes by someone else: the user continued the
    /// session in the agent.
    Continued { appended: u64 },
    /// Not (or no longer) what session-sync wrote; the reason says how.
    Changed(String),
    /// In use: the agent has it open, or an append of ours is still pending.
    Busy(String),
}

/// Checks a mirror file against its lineage: the header names the mirror's session (cheap, and
/// rules out another file at that path), then the hash chain over the lines we wrote must match
/// the file's first lines and end where the lineage ends. The chain matters: when the user
/// continued the session and a later hook appended after the agent's lines, the lineage's
/// `bytes` moved to the file's end, so only the chain shows that the file holds lines we did
/// not write.
pub fn mirror(target: &str, mirror: &Mirror) -> io::Result<MirrorFile> {
    if mirror.kind == crate::encode::Kind::OpencodeDb {
        return super::opencode::inspect(mirror);
    }
    let meta = match std::fs::symlink_metadata(&mirror.path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(MirrorFile::Missing),
        Err(err) => return Err(err),
    };
    if !meta.is_file() {
        return Ok(MirrorFile::Changed("not a regular file".into()));
    }
    if mirror
        .writer_lock
        .as_deref()
        .is_some_and(lock::is_held_by_other)
    {
        return Ok(MirrorFile::Busy(format!("{target} has the session open")));
    }
    // The state is saved before its append (and stays so until the next hook): an append
    // that reached the end it names is done.
    if let Some(pending) = &mirror.pending {
        if meta.len() != pending.end() {
            return Ok(MirrorFile::Busy(
                "an append of session-sync's is still pending".into(),
            ));
        }
    }
    let lineage = &mirror.lineage;
    if meta.len() < lineage.bytes {
        return Ok(MirrorFile::Changed(format!(
            "shorter ({} bytes) than what session-sync wrote ({} bytes)",
            meta.len(),
            lineage.bytes
        )));
    }
    let mut reader = BufReader::new(crate::read::open_no_follow(&mirror.path)?);
    let mut line = Vec::new();
    let mut replayed = Lineage::new(&lineage.lineage_id);
    while replayed.lines < lineage.lines {
        line.clear();
        reader.read_until(b'\n', &mut line)?;
        let Some(text) = line
            .strip_suffix(b"\n")
            .and_then(|l| std::str::from_utf8(l).ok())
        else {
            return Ok(MirrorFile::Changed(
                "it holds fewer lines than session-sync wrote".into(),
            ));
        };
        if replayed.lines == 0 && !names_session(target, text, &mirror.id) {
            return Ok(MirrorFile::Changed(format!(
                "its first line is not {target} session {}",
                mirror.id
            )));
        }
        replayed.extend(text);
    }
    if replayed.chain != lineage.chain || replayed.bytes != lineage.bytes {
        return Ok(MirrorFile::Changed(
            "it holds lines session-sync did not write".into(),
        ));
    }
    Ok(match meta.len() - lineage.bytes {
        0 => MirrorFile::Ours,
        appended => MirrorFile::Continued { appended },
    })
}

/// Whether a target's first line belongs to session `id`; never for a target whose first
/// line we do not know (its files are then never taken for ours).
fn names_session(target: &str, first_line: &str, id: &str) -> bool {
    let Ok(header) = serde_json::from_str::<serde_json::Value>(first_line) else {
        return false;
    };
    crate::agents::agent(target).is_some_and(|agent| (agent.names_session)(&header, id))
}

/// Creates and removes a probe file in `dir`: can session-sync write a new file there?
pub fn probe_writable(dir: &Path) -> io::Result<()> {
    let probe = dir.join(format!(".session-sync-probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const HEADER: &str = r#"{"type":"session_meta","payload":{"id":"019a"}}"#;

    /// A mirror whose lineage records `lines` as written to a file in `dir`.
    fn written(dir: &Path, lines: &[&str]) -> Mirror {
        let path = dir.join("rollout.jsonl");
        let mut lineage = Lineage::new("claude-session");
        let mut text = String::new();
        for line in lines {
            lineage.extend(line);
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        Mirror {
            id: "019a".into(),
            path,
            writer_lock: None,
            created_at: String::new(),
            last_sync: String::new(),
            records: 0,
            lineage,
            pending: None,
            kind: Default::default(),
            cursor: serde_json::Value::Null,
            index: None,
            benign: None,
            indexed_at: None,
            index_stamp: None,
            tail: None,
            losses: Default::default(),
        }
    }

    fn append(mirror: &Mirror, text: &str) {
        let mut file = OpenOptions::new().append(true).open(&mirror.path).unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn exactly_ours_or_continued() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = written(dir.path(), &[HEADER, "{\"a\":1}"]);
        assert_eq!(self::mirror("codex", &mirror).unwrap(), MirrorFile::Ours);
        append(&mirror, "{\"codex\":1}\n");
        assert_eq!(
            self::mirror("codex", &mirror).unwrap(),
            MirrorFile::Continued { appended: 12 }
        );
        std::fs::remove_file(&mirror.path).unwrap();
        assert_eq!(self::mirror("codex", &mirror).unwrap(), MirrorFile::Missing);
    }

    #[test]
    fn lines_of_another_writer_among_ours_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = written(dir.path(), &[HEADER, "{\"a\":1}"]);
        // The agent appended, then a hook appended after it and re-based `bytes` on the end.
        append(&mirror, "{\"codex\":1}\n{\"b\":2}\n");
        mirror.lineage.extend("{\"b\":2}");
        mirror.lineage.bytes = std::fs::metadata(&mirror.path).unwrap().len();
        assert!(matches!(
            self::mirror("codex", &mirror).unwrap(),
            MirrorFile::Changed(_)
        ));
    }

    #[test]
    fn another_sessions_file_or_an_unknown_target_is_never_ours() {
        let dir = tempfile::tempdir().unwrap();
        let other = HEADER.replace("019a", "019b");
        let mirror = written(dir.path(), &[&other]);
        assert!(matches!(
            self::mirror("codex", &mirror).unwrap(),
            MirrorFile::Changed(_)
        ));
        let mirror = written(dir.path(), &[HEADER]);
        assert!(matches!(
            self::mirror("gemini", &mirror).unwrap(),
            MirrorFile::Changed(_)
        ));
    }

    #[test]
    fn shorter_files_are_not_ours() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = written(dir.path(), &[HEADER, "{\"a\":1}"]);
        std::fs::write(&mirror.path, format!("{HEADER}\n")).unwrap();
        assert!(matches!(
            self::mirror("codex", &mirror).unwrap(),
            MirrorFile::Changed(_)
        ));
    }
}
