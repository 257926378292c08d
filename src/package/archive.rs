//! A history archive (`session-sync archive`) read as a package: its committed index lists the
//! sessions, and each session's hidden JSON holds its records with their ids, so that a clone
//! of the archive on another machine imports them like a package.

use super::paths::Roots;
use super::{FORMAT, FORMAT_VERSION, Manifest, Package, PackedSession, Redaction, SessionHeader};
use crate::agents::native;
use crate::model::Record;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The archive's committed index (`crate::archive::index::FILE`).
pub const INDEX: &str = ".session-sync-archive.json";
/// A hidden JSON larger than this is refused rather than read into memory.
const MAX_SESSION: u64 = 1 << 30;

/// Whether `dir` is the root of a history archive.
pub fn is_archive(dir: &Path) -> bool {
    dir.join(INDEX).is_file()
}

pub fn read(repo: &Path) -> Result<Package, String> {
    let index_path = repo.join(INDEX);
    let index: Value = serde_json::from_slice(
        &crate::read::read_regular(&index_path, 256 << 20)
            .map_err(|e| format!("cannot read {}: {e}", index_path.display()))?,
    )
    .map_err(|e| format!("{} is not an archive index ({e})", index_path.display()))?;
    let entries = index["sessions"]
        .as_object()
        .ok_or_else(|| format!("{} lists no sessions", index_path.display()))?;
    let mut read = Vec::new();
    for (lineage, entry) in entries {
        let markdown = entry["markdown"].as_str().unwrap_or("");
        let hidden = hidden_path(repo, markdown)
            .ok_or_else(|| format!("{}: session {lineage} names no file", index_path.display()))?;
        let json: Value = serde_json::from_slice(
            &crate::read::read_regular(&hidden, MAX_SESSION)
                .map_err(|e| format!("cannot read {}: {e}", hidden.display()))?,
        )
        .map_err(|e| format!("{} is damaged ({e})", hidden.display()))?;
        read.push((lineage.clone(), json));
    }
    // The archive names each project relative to the home it came from (`~/work/app`): that
    // home is what `{{HOME}}` stands for; a project outside it becomes a root to `--map`.
    let home = read.iter().find_map(|(_, json)| {
        source_home(
            json["cwd"].as_str().map(Path::new),
            json["project"].as_str(),
        )
    });
    let mut roots = Roots::new(home.as_deref());
    let mut sessions = Vec::new();
    for (n, (lineage, json)) in read.into_iter().enumerate() {
        let agent = json["agent"].as_str().unwrap_or_default().to_owned();
        let id = json["session_id"].as_str().unwrap_or_default().to_owned();
        let cwd = json["cwd"].as_str().map(|c| roots.tokenize(Path::new(c)));
        let records: Vec<Record> = json["records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Record::from_json)
            .map(|r| roots.tokenize_record(&r))
            .collect();
        let chain_head = native::chain(
            &lineage,
            records.iter().map(|r| r.rid.as_deref().unwrap_or("")),
        );
        sessions.push(PackedSession {
            header: SessionHeader {
                key: format!("a{:04}-{agent}", n + 1),
                agent,
                source_id: id,
                lineage_id: lineage,
                records: records.len() as u64,
                chain_head,
                first_at: json["started"].as_str().map(str::to_owned),
                last_at: json["last_activity"].as_str().map(str::to_owned),
                cwd,
                title: json["title"].as_str().map(str::to_owned),
                files: Vec::new(),
            },
            records,
        });
    }
    Ok(Package {
        manifest: Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            package_id: format!("archive:{}", repo.display()),
            created_at: crate::encode::rfc3339(chrono::Utc::now()),
            created_by: serde_json::json!({ "tool": "session-sync archive" }),
            source: serde_json::json!({ "archive": repo }),
            path_roots: roots.used(),
            // The archive redacted what it wrote; its counts are in each session's file.
            redaction: Redaction::default(),
            excluded: Vec::new(),
            sessions: Vec::new(),
            checksums_sha256: String::new(),
        },
        sessions,
    })
}

/// `dir/name.md` → `dir/.name.json`, inside `repo`.
fn hidden_path(repo: &Path, markdown: &str) -> Option<PathBuf> {
    let (dir, name) = markdown.rsplit_once('/').unwrap_or(("", markdown));
    let base = name.strip_suffix(".md")?;
    let relative = Path::new(dir).join(format!(".{base}.json"));
    relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
        .then(|| repo.join(relative))
}

/// The home a session's cwd was under, from the archive's home-relative project label.
fn source_home(cwd: Option<&Path>, project: Option<&str>) -> Option<PathBuf> {
    let cwd = cwd?.to_string_lossy().into_owned();
    let relative = project?.strip_prefix('~')?;
    let home = cwd.strip_suffix(relative)?;
    (!home.is_empty()).then(|| PathBuf::from(home))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_comes_from_the_project_label() {
        let home = |cwd: &str, project: &str| source_home(Some(Path::new(cwd)), Some(project));
        assert_eq!(
            home("/home/a/work/app", "~/work/app"),
            Some(PathBuf::from("/home/a"))
        );
        assert_eq!(home("/home/a", "~"), Some(PathBuf::from("/home/a")));
        assert_eq!(home("/srv/x", "/srv/x"), None);
        assert_eq!(
            hidden_path(Path::new("/r"), "history/u/codex/h/p/2026-01-01-1000-x.md"),
            Some(PathBuf::from(
                "/r/history/u/codex/h/p/.2026-01-01-1000-x.json"
            ))
        );
        assert_eq!(hidden_path(Path::new("/r"), "../x.md"), None);
    }
}
