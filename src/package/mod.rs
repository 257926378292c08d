//! Offline session packages (`../shared/specs/packages.md`): a gzip tar of sessions of any
//! agent as normalized records with their identity chains, a manifest and checksums. Built and
//! read here; `store::package` writes the file.

pub mod archive;
pub mod paths;

use crate::agents::{Conversation, native};
use crate::hash::sha256_hex;
use crate::model::Record;
use crate::redact;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "session-sync-package";
pub const FORMAT_VERSION: u64 = 1;
/// What a package never carries.
pub const EXCLUDED: &[&str] = &[
    "credentials and auth files",
    "agent configuration",
    "skills",
    "encrypted reasoning",
    "agent database rows (sessions are carried as records)",
];
/// Container limits: a package past them is refused, not partly read.
const MAX_ENTRIES: usize = 10_000;
const MAX_UNPACKED: u64 = 4 << 30;
const MAX_NAME: usize = 255;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u64,
    pub package_id: String,
    pub created_at: String,
    pub created_by: Value,
    pub source: Value,
    pub path_roots: Vec<paths::Root>,
    pub redaction: Redaction,
    pub excluded: Vec<String>,
    pub sessions: Vec<SessionHeader>,
    pub checksums_sha256: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Redaction {
    pub applied: bool,
    pub ruleset: String,
    pub counts: BTreeMap<String, u64>,
}

/// One session of a package (`sessions/<key>/session.json`, and its manifest entry).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionHeader {
    pub key: String,
    pub agent: String,
    pub source_id: String,
    pub lineage_id: String,
    pub records: u64,
    pub chain_head: String,
    pub first_at: Option<String>,
    pub last_at: Option<String>,
    /// Tokenized (`{{HOME}}/project`).
    pub cwd: Option<String>,
    pub title: Option<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A package session with its records.
#[derive(Debug, Clone)]
pub struct PackedSession {
    pub header: SessionHeader,
    pub records: Vec<Record>,
}

/// A package, built or read.
#[derive(Debug, Clone)]
pub struct Package {
    pub manifest: Manifest,
    pub sessions: Vec<PackedSession>,
}

pub struct BuildOptions {
    pub redact: bool,
    pub home: Option<PathBuf>,
    pub machine_id: String,
}

/// A package of `conversations`, each with its lineage id, paths tokenized and secrets
/// redacted.
pub fn build(conversations: &[(String, Conversation)], options: &BuildOptions) -> Package {
    let mut roots = paths::Roots::new(options.home.as_deref());
    let mut counts = redact::Counts::new();
    let mut sessions = Vec::new();
    for (n, (lineage_id, conversation)) in conversations.iter().enumerate() {
        let session = &conversation.session;
        let lineage_id = lineage_id.clone();
        // The session's directory first: it decides the roots its records are tokenized by.
        let cwd = session.cwd.as_deref().map(|c| roots.tokenize(c));
        let records: Vec<Record> = conversation
            .records
            .iter()
            .map(|record| {
                let record = roots.tokenize_record(record);
                if options.redact {
                    redact::record(&record, &mut counts)
                } else {
                    record
                }
            })
            .collect();
        let chain_head = native::chain(
            &lineage_id,
            records.iter().map(|r| r.rid.as_deref().unwrap_or("")),
        );
        let title = session.title.as_ref().map(|t| {
            if options.redact {
                redact::text(t, &mut counts)
            } else {
                t.clone()
            }
        });
        sessions.push(PackedSession {
            header: SessionHeader {
                key: format!("s{:04}-{}", n + 1, session.agent),
                agent: session.agent.to_owned(),
                source_id: session.id.clone(),
                lineage_id,
                records: records.len() as u64,
                chain_head,
                first_at: records.iter().find_map(|r| r.timestamp.clone()),
                last_at: records.iter().rev().find_map(|r| r.timestamp.clone()),
                cwd,
                title,
                files: Vec::new(),
            },
            records,
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        package_id: uuid::Uuid::now_v7().to_string(),
        created_at: crate::encode::rfc3339(chrono::Utc::now()),
        created_by: serde_json::json!({ "tool": "session-sync", "version": env!("CARGO_PKG_VERSION") }),
        source: serde_json::json!({
            "machine_id": options.machine_id,
            "user": std::env::var("USER").unwrap_or_default(),
            "os": std::env::consts::OS,
        }),
        path_roots: roots.used(),
        redaction: Redaction {
            applied: options.redact,
            ruleset: redact::RULESET.into(),
            counts,
        },
        excluded: EXCLUDED.iter().map(|e| (*e).to_owned()).collect(),
        sessions: Vec::new(),
        checksums_sha256: String::new(),
    };
    Package { manifest, sessions }
}

/// The package's files, in the sorted order they are archived, the manifest completed with
/// the session entries and checksums.
pub fn files(package: &Package) -> Vec<(String, Vec<u8>)> {
    let mut payload: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest = package.manifest.clone();
    for session in &package.sessions {
        let mut records = String::new();
        for record in &session.records {
            records.push_str(&record.to_json().to_string());
            records.push('\n');
        }
        let records_path = format!("sessions/{}/records.jsonl", session.header.key);
        let mut header = session.header.clone();
        header.files = vec![FileEntry {
            path: records_path.clone(),
            bytes: records.len() as u64,
            sha256: sha256_hex(records.as_bytes()),
        }];
        let header_json = serde_json::to_vec_pretty(&header).unwrap_or_default();
        payload.push((format!("sessions/{}/session.json", header.key), header_json));
        payload.push((records_path, records.into_bytes()));
        manifest.sessions.push(header);
    }
    payload.sort_by(|a, b| a.0.cmp(&b.0));
    let checksums: String = payload
        .iter()
        .map(|(path, bytes)| format!("{}  {path}\n", sha256_hex(bytes)))
        .collect();
    manifest.checksums_sha256 = sha256_hex(checksums.as_bytes());
    let mut files = vec![
        ("checksums.sha256".to_owned(), checksums.into_bytes()),
        (
            "manifest.json".to_owned(),
            serde_json::to_vec_pretty(&manifest).unwrap_or_default(),
        ),
    ];
    files.extend(payload);
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Reads and verifies a package: a `.sspkg` file, a folder with the same layout, or a history
/// archive (`session-sync archive`).
pub fn read(path: &Path) -> Result<Package, String> {
    if path.is_dir() && archive::is_archive(path) {
        return archive::read(path);
    }
    let files = if path.is_dir() {
        read_dir(path)?
    } else {
        read_tar(path)?
    };
    verify(files, path)
}

fn read_tar(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let file =
        crate::read::open_read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    let broken = |e: std::io::Error| {
        format!(
            "{} is not a session-sync package (not a gzip tar: {e})",
            path.display()
        )
    };
    for entry in archive.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        let name = entry.path().map_err(broken)?.to_string_lossy().into_owned();
        if !entry.header().entry_type().is_file() {
            return Err(format!(
                "{}: {name} is not a regular file; a package holds regular files only",
                path.display()
            ));
        }
        check_name(&name).map_err(|e| format!("{}: {e}", path.display()))?;
        total += entry.header().size().unwrap_or(u64::MAX);
        if files.len() >= MAX_ENTRIES || total > MAX_UNPACKED {
            return Err(format!(
                "{} is larger than a package may be ({MAX_ENTRIES} entries, 4 GiB)",
                path.display()
            ));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(broken)?;
        files.insert(name, bytes);
    }
    Ok(files)
}

fn read_dir(root: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if kind.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if !kind.is_file() {
                return Err(format!(
                    "{}: {name} is not a regular file; a package holds regular files only",
                    root.display()
                ));
            }
            check_name(&name).map_err(|e| format!("{}: {e}", root.display()))?;
            if files.len() >= MAX_ENTRIES {
                return Err(format!(
                    "{} has more than {MAX_ENTRIES} files",
                    root.display()
                ));
            }
            let bytes = crate::read::read_regular(&path, MAX_UNPACKED)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            files.insert(name, bytes);
        }
    }
    Ok(files)
}

fn check_name(name: &str) -> Result<(), String> {
    let path = Path::new(name);
    if name.len() > MAX_NAME
        || path.is_absolute()
        || path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "refusing entry {name:?}: absolute, `..` or overlong names are not allowed"
        ));
    }
    Ok(())
}

fn verify(mut files: BTreeMap<String, Vec<u8>>, path: &Path) -> Result<Package, String> {
    let not_ours = || {
        format!(
            "{} is not a session-sync package (no manifest.json)",
            path.display()
        )
    };
    let manifest_bytes = files.remove("manifest.json").ok_or_else(not_ours)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
        format!(
            "{}: manifest.json is not a package manifest ({e})",
            path.display()
        )
    })?;
    if manifest.format != FORMAT {
        return Err(not_ours());
    }
    if manifest.format_version > FORMAT_VERSION {
        return Err(format!(
            "{} is a version {} package; this session-sync reads version {FORMAT_VERSION}: upgrade session-sync",
            path.display(),
            manifest.format_version
        ));
    }
    let checksums = files.remove("checksums.sha256").unwrap_or_default();
    if sha256_hex(&checksums) != manifest.checksums_sha256 {
        return Err(format!(
            "{}: checksums.sha256 does not match the manifest; the package is damaged",
            path.display()
        ));
    }
    let mut listed = BTreeMap::new();
    for line in String::from_utf8_lossy(&checksums).lines() {
        if let Some((sum, name)) = line.split_once("  ") {
            listed.insert(name.to_owned(), sum.to_owned());
        }
    }
    for (name, bytes) in &files {
        match listed.get(name) {
            Some(sum) if *sum == sha256_hex(bytes) => {}
            Some(_) => {
                return Err(format!(
                    "{}: {name} does not match its checksum; the package is damaged",
                    path.display()
                ));
            }
            None => {
                return Err(format!(
                    "{}: {name} is not listed in checksums.sha256",
                    path.display()
                ));
            }
        }
    }
    if let Some(missing) = listed.keys().find(|name| !files.contains_key(*name)) {
        return Err(format!(
            "{}: {missing} is missing; the package is incomplete",
            path.display()
        ));
    }
    let mut sessions = Vec::new();
    for header in &manifest.sessions {
        let records_path = format!("sessions/{}/records.jsonl", header.key);
        let bytes = files
            .get(&records_path)
            .ok_or_else(|| format!("{}: {records_path} is missing", path.display()))?;
        let records: Vec<Record> = String::from_utf8_lossy(bytes)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter_map(|value| Record::from_json(&value))
            .collect();
        let chain = native::chain(
            &header.lineage_id,
            records.iter().map(|r| r.rid.as_deref().unwrap_or("")),
        );
        if records.len() as u64 != header.records || chain != header.chain_head {
            return Err(format!(
                "{}: session {} does not match its identity chain; the package is damaged",
                path.display(),
                header.key
            ));
        }
        sessions.push(PackedSession {
            header: header.clone(),
            records,
        });
    }
    Ok(Package { manifest, sessions })
}
