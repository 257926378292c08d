//! The history archive: every agent's sessions as Markdown (and their records as hidden JSON)
//! in a git repository the user owns, arranged by user, agent, machine, project and date.
//! Incremental by identity chain; a run with nothing new changes no byte.
//! Design: `docs/archive.md`.

pub mod git;
pub mod html;
pub mod index;
pub mod naming;
pub mod render;
pub mod subagents;

use crate::agents::{self, Conversation, NativeSession, native};
use crate::hash::sha256_hex;
use crate::model::{Item, Record};
use index::{Entry, Index};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A session containing this text anywhere is not archived.
pub const SKIP_MARKER: &str = "SESSION_SYNC_NO_ARCHIVE";
/// What replaces a line holding a configured keyword.
const SANITIZED: &str = "[SANITIZED]";
/// The hidden JSON's format name and version.
const FORMAT: &str = "session-sync-archive";
const FORMAT_VERSION: u32 = 1;
/// Another run on the same repository (two sessions ending together) is waited for.
const LOCK_WAIT: Duration = Duration::from_secs(300);

/// The `archive` object of the global configuration.
#[derive(Debug, Default)]
pub struct Settings {
    pub repo: Option<PathBuf>,
    pub keywords: Vec<String>,
    /// Set by `init --archive`: the hook archives in the background at SessionEnd.
    pub on_session_end: bool,
    /// The hook's run also pushes.
    pub push: bool,
}

/// The archive settings in the global configuration (none when it does not exist).
pub fn settings(data_dir: &Path) -> Result<Settings, crate::config::ConfigError> {
    let Some(config) = crate::config::read(&crate::paths::global_config(data_dir))? else {
        return Ok(Settings::default());
    };
    let archive = config.other.get("archive").cloned().unwrap_or(Value::Null);
    let home = crate::paths::home_dir();
    Ok(Settings {
        // `~/…` as people write it in JSON by hand.
        repo: archive["repo"]
            .as_str()
            .map(|repo| match (repo.strip_prefix("~/"), &home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => PathBuf::from(repo),
            }),
        keywords: archive["keywords"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|k| !k.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        on_session_end: archive["on_session_end"].as_bool() == Some(true),
        push: archive["push"].as_bool() == Some(true),
    })
}

pub struct Options {
    pub repo: PathBuf,
    pub agent: Option<String>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub commit: bool,
    pub push: bool,
    pub thinking: bool,
    pub redact: bool,
    /// Lines containing one of these (case-insensitive) become `[SANITIZED]`.
    pub keywords: Vec<String>,
    pub data_dir: PathBuf,
    pub home: Option<PathBuf>,
    pub user: String,
    pub host: String,
}

#[derive(Debug, Default)]
pub struct Report {
    /// `<agent> <project> <file name>` per session.
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: usize,
    /// Sessions left out for their skip marker.
    pub skipped: usize,
    /// Sessions that could not be read, one line each.
    pub warnings: Vec<String>,
    pub committed: bool,
    /// The remote pushed to.
    pub pushed: Option<String>,
}

pub fn run(options: &Options) -> Result<Report, String> {
    let repo = prepare(&options.repo)?;
    let key = repo_key(&repo);
    let lock_path = options.data_dir.join("archive").join(format!("{key}.lock"));
    let _lock = crate::store::LockGuard::acquire(&lock_path, LOCK_WAIT).map_err(|e| {
        format!(
            "cannot lock {}: {e} (is another `session-sync archive` running?)",
            lock_path.display()
        )
    })?;
    let mut index = Index::load(&repo)?;
    check_clean(&repo, &index)?;
    let seen_path = options
        .data_dir
        .join("archive")
        .join(format!("{key}.seen.json"));
    let mut seen = load_seen(&seen_path);
    let seen_before = seen.clone();
    let mirrors = mirror_ids(&options.data_dir);
    // An import's copy in the session's own agent is that session on this machine.
    let imported = crate::import::copies(&crate::store::all_sessions(&options.data_dir));
    let mut report = Report::default();

    let mut candidates: Vec<(&agents::Reader, NativeSession)> = Vec::new();
    for reader in agents::readers() {
        if options.agent.as_deref().is_some_and(|a| a != reader.agent) {
            continue;
        }
        match (reader.list)() {
            Ok(sessions) => candidates.extend(
                sessions
                    .into_iter()
                    .filter(|s| {
                        imported.contains(&format!("{}:{}", s.agent, s.id))
                            || !s.ours && !mirrors.contains(&(s.agent.to_owned(), s.id.clone()))
                    })
                    .filter(|s| options.since.is_none_or(|since| active_since(s, since)))
                    .map(|s| (reader, s)),
            ),
            Err(e) => report.warnings.push(format!("{}: {e}", reader.agent)),
        }
    }
    // A stable order, so that same-minute collisions name the same session first everywhere.
    candidates.sort_by(|(_, a), (_, b)| {
        (&a.started_at, a.agent, &a.id).cmp(&(&b.started_at, b.agent, &b.id))
    });

    let mut failure = None;
    for (reader, session) in candidates {
        let lineage = format!("{}:{}", session.agent, session.id);
        let stamp = stamp(&session);
        let known = index.sessions.contains_key(&lineage);
        // Only for archived sessions: an index reset by git must not hide a session.
        if known && stamp.is_some() && seen.get(&lineage) == stamp.as_ref() {
            report.unchanged += 1;
            continue;
        }
        // A session an import wrote goes under the lineage it came in with, as in a package.
        let read =
            (reader.read)(&session).and_then(|c| crate::import::as_exported(c, &options.data_dir));
        let (lineage, conversation) = match read {
            Ok(read) => read,
            Err(e) => {
                report.warnings.push(format!("{lineage} not archived: {e}"));
                continue;
            }
        };
        let chain = native::chain(
            &lineage,
            conversation
                .records
                .iter()
                .map(|r| r.rid.as_deref().unwrap_or("")),
        );
        let count = conversation.records.len() as u64;
        let moved = index
            .sessions
            .get(&lineage)
            .is_none_or(|e| e.records != count || e.chain != chain);
        if !moved {
            report.unchanged += 1;
        } else if conversation.records.is_empty() {
            // Nothing said yet: archived once it has a prompt.
        } else if mentions_marker(&conversation) {
            report.skipped += 1;
        } else {
            match archive_one(
                &repo,
                &mut index,
                options,
                &conversation,
                &lineage,
                count,
                chain,
            ) {
                Ok(markdown) => {
                    let project = &index.sessions[&lineage].project;
                    let name = markdown.rsplit('/').next().unwrap_or(&markdown);
                    let line = format!("{} {project} {name}", session.agent);
                    if known {
                        report.updated.push(line);
                    } else {
                        report.added.push(line);
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(stamp) = stamp {
            seen.insert(lineage, stamp);
        }
    }
    // The index always describes the files on disk, even after a failure part-way.
    let written = [
        (html::PAGE_FILE, html::PAGE.as_bytes().to_vec()),
        (html::LIST_FILE, html::list_script(&index).into_bytes()),
        (index::FILE, index.to_bytes()),
    ]
    .iter()
    .try_for_each(|(file, bytes)| {
        crate::store::archive::write(&repo, file, bytes)
            .map(drop)
            .map_err(|e| format!("cannot write {}: {e}", repo.join(file).display()))
    });
    if let Some(failure) = failure {
        return Err(failure);
    }
    written?;
    if seen != seen_before {
        // Only a cache: losing it costs one full read next time.
        let _ = crate::store::archive::save_seen(&seen_path, &json!(seen));
    }
    if options.commit || options.push {
        let message = commit_message(&report);
        let paths: Vec<&str> = ["history", index::FILE, html::PAGE_FILE, html::LIST_FILE]
            .into_iter()
            .filter(|p| repo.join(p).exists())
            .collect();
        report.committed = git::commit(&repo, &paths, &message)?;
    }
    if options.push {
        report.pushed = Some(git::push(&repo)?);
    }
    Ok(report)
}

/// The repository, created on a first run; an existing directory must be a repository's top.
fn prepare(repo: &Path) -> Result<PathBuf, String> {
    let exists = repo.exists();
    if !exists {
        crate::store::archive::create_repo_dir(repo)
            .map_err(|e| format!("cannot create {}: {e}", repo.display()))?;
    }
    let repo = repo
        .canonicalize()
        .map_err(|e| format!("cannot open {}: {e}", repo.display()))?;
    if !repo.is_dir() {
        return Err(format!(
            "{} is not a directory; pass a directory for the archive",
            repo.display()
        ));
    }
    if git::toplevel(&repo)?.is_some_and(|top| top.canonicalize().ok() == Some(repo.clone())) {
        return Ok(repo);
    }
    let empty = std::fs::read_dir(&repo)
        .map_err(|e| format!("cannot read {}: {e}", repo.display()))?
        .next()
        .is_none();
    if !empty {
        return Err(format!(
            "{} is not a git repository; pass a new or empty directory, or run `git init` there first",
            repo.display()
        ));
    }
    git::init(&repo)?;
    Ok(repo)
}

/// Uncommitted changes under `history/` are refused unless this tool made them (a run
/// without `--commit`): committing or overwriting someone's edits would lose them.
fn check_clean(repo: &Path, index: &Index) -> Result<(), String> {
    let changed = git::changed(repo, &["history"])?;
    if changed.is_empty() {
        return Ok(());
    }
    let ours: HashMap<&str, &str> = index
        .sessions
        .values()
        .flat_map(|e| e.files.iter().map(|(f, h)| (f.as_str(), h.as_str())))
        .collect();
    for path in changed {
        let is_ours = ours.get(path.as_str()).is_some_and(|hash| {
            std::fs::read(repo.join(&path)).is_ok_and(|bytes| sha256_hex(&bytes) == *hash)
        });
        if !is_ours {
            return Err(format!(
                "{} has uncommitted changes in history/ that session-sync did not make ({path}); commit or discard them, then run again",
                repo.display()
            ));
        }
    }
    Ok(())
}

/// `(agent, id)` of every session session-sync wrote as a mirror of another.
fn mirror_ids(data_dir: &Path) -> HashSet<(String, String)> {
    crate::store::all_sessions(data_dir)
        .iter()
        .flat_map(|state| state.mirror_sessions())
        .map(|(target, id)| (target.to_owned(), id.to_owned()))
        .collect()
}

fn active_since(session: &NativeSession, since: chrono::DateTime<chrono::Utc>) -> bool {
    let last = session
        .updated_at
        .as_deref()
        .or(session.started_at.as_deref());
    match last.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
        Some(time) => time >= since,
        None => true,
    }
}

/// What tells, without reading it, that a session did not change since the last run.
fn stamp(session: &NativeSession) -> Option<String> {
    let size = std::fs::metadata(&session.path).ok()?.len();
    Some(format!("{}|{size}", session.updated_at.as_deref()?))
}

fn load_seen(path: &Path) -> BTreeMap<String, String> {
    crate::read::read_regular(path, 256 << 20)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn repo_key(repo: &Path) -> String {
    sha256_hex(repo.as_os_str().as_encoded_bytes())[..16].to_owned()
}

fn mentions_marker(conversation: &Conversation) -> bool {
    let mut found = false;
    for record in &conversation.records {
        record.map_text(&mut |text| {
            found |= text.contains(SKIP_MARKER);
            text.to_owned()
        });
        if found {
            return true;
        }
    }
    false
}

/// Each line holding a keyword (case-insensitive) replaced whole.
fn sanitize(text: &str, keywords: &[String], count: &mut u64) -> String {
    if keywords.is_empty() {
        return text.to_owned();
    }
    let lower = text.to_lowercase();
    if !keywords.iter().any(|k| lower.contains(k.as_str())) {
        return text.to_owned();
    }
    text.split('\n')
        .map(|line| {
            let l = line.to_lowercase();
            if keywords.iter().any(|k| l.contains(k.as_str())) {
                *count += 1;
                SANITIZED
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The subagents an agent keeps beside a session (Claude Code's own files); other agents'
/// readers put subagent records, if any, into the conversation itself.
fn side_subagents(session: &NativeSession) -> Vec<subagents::Subagent> {
    if session.agent == "claude" {
        subagents::read(session)
    } else {
        Vec::new()
    }
}

/// Subagent records placed where the normalized model has them: just before the result of
/// the call that started them (at the end when that call is unknown). They replace what the
/// reader already gave of the same subagents (their calls only).
fn splice(main: &[Record], subagents: &[subagents::Subagent]) -> Vec<Record> {
    let mut out = Vec::with_capacity(main.len());
    let mut placed = vec![false; subagents.len()];
    let whole = |record: &Record| {
        record
            .agent
            .as_deref()
            .is_some_and(|a| subagents.iter().any(|s| s.agent == a))
    };
    for record in main.iter().filter(|r| !whole(r)) {
        if let (None, Item::ToolResult { id, .. }) = (&record.agent, &record.item) {
            for (i, sub) in subagents.iter().enumerate() {
                if !placed[i] && sub.call.as_deref() == Some(id.as_str()) {
                    out.extend(sub.records.iter().cloned());
                    placed[i] = true;
                }
            }
        }
        out.push(record.clone());
    }
    for (i, sub) in subagents.iter().enumerate() {
        if !placed[i] {
            out.extend(sub.records.iter().cloned());
        }
    }
    out
}

/// Renders and writes one session; returns its Markdown path.
fn archive_one(
    repo: &Path,
    index: &mut Index,
    options: &Options,
    conversation: &Conversation,
    lineage: &str,
    count: u64,
    chain: String,
) -> Result<String, String> {
    let session = &conversation.session;
    let mut redactions = crate::redact::Counts::new();
    let mut sanitized = 0;
    let keywords: Vec<String> = options.keywords.iter().map(|k| k.to_lowercase()).collect();
    let mut clean = |records: &[Record]| -> Vec<Record> {
        records
            .iter()
            .map(|record| {
                let record = if options.redact {
                    crate::redact::record(record, &mut redactions)
                } else {
                    record.clone()
                };
                record.map_text(&mut |t| sanitize(t, &keywords, &mut sanitized))
            })
            .collect()
    };
    let main = clean(&conversation.records);
    let subagents: Vec<subagents::Subagent> = side_subagents(session)
        .into_iter()
        .map(|sub| subagents::Subagent {
            records: clean(&sub.records),
            ..sub
        })
        .collect();
    let cleaned = splice(&main, &subagents);
    let mut title = title(conversation, &cleaned);
    // The agent's own title is outside the records: it gets the same treatment (uncounted).
    if options.redact {
        title = crate::redact::text(&title, &mut crate::redact::Counts::new());
    }
    let title = sanitize(&title, &keywords, &mut 0);
    let started = first_time(&cleaned, session.started_at.as_deref());
    let last_activity = cleaned
        .iter()
        .rev()
        .find_map(|r| r.timestamp.clone())
        .or_else(|| session.updated_at.clone())
        .unwrap_or_else(|| started.clone());
    let project = naming::project_label(session.cwd.as_deref(), options.home.as_deref());

    let previous = index.sessions.get(lineage).cloned();
    let markdown = match &previous {
        Some(entry) => entry.markdown.clone(),
        None => new_name(index, options, session, lineage, &title, &started),
    };
    let (dir, file) = markdown.rsplit_once('/').unwrap_or(("", &markdown));
    let base = file.strip_suffix(".md").unwrap_or(file);
    let spawned_by: HashMap<String, String> = subagents
        .iter()
        .filter_map(|s| Some((s.agent.clone(), s.call.clone()?)))
        .collect();
    let facts = render::Facts {
        agent: session.agent,
        id: &session.id,
        title: &title,
        user: &options.user,
        host: &options.host,
        project: &project,
        started: &started,
        last_activity: &last_activity,
        records: conversation.records.len(),
        redactions: &redactions,
        sanitized_lines: sanitized,
        dropped: &conversation.dropped,
    };
    let rendered = render::session(
        &facts,
        &cleaned,
        &render::Options {
            thinking: options.thinking,
            cwd: session.cwd.as_deref(),
            base,
            spawned_by: &spawned_by,
        },
    );
    let hidden = hidden_json(HiddenJson {
        facts: &facts,
        lineage,
        session,
        chain: &chain,
        count,
        redacted: options.redact,
        records: &main,
        subagents: &subagents,
    });
    let mut files = vec![
        (markdown.clone(), rendered.markdown.into_bytes()),
        (format!("{dir}/.{base}.json"), hidden.into_bytes()),
    ];
    files.push((
        html::script_path(&markdown),
        html::session_script(lineage, &cleaned, options.thinking, session.cwd.as_deref())
            .into_bytes(),
    ));
    for (name, text) in rendered.subagents {
        files.push((format!("{dir}/{name}"), text.into_bytes()));
    }
    let (old_records, old_chain) = previous
        .as_ref()
        .map_or((0, String::new()), |e| (e.records, e.chain.clone()));
    let mut entry = Entry {
        agent: session.agent.to_owned(),
        id: session.id.clone(),
        user: options.user.clone(),
        host: options.host.clone(),
        project,
        title,
        started,
        last_activity,
        // What was archived before, until every file is written.
        records: old_records,
        chain: old_chain,
        markdown: markdown.clone(),
        files: previous.map(|e| e.files).unwrap_or_default(),
    };
    let mut failure = None;
    for (rel, bytes) in &files {
        if let Err(e) = crate::store::archive::write(repo, rel, bytes) {
            failure = Some(format!("cannot write {}: {e}", repo.join(rel).display()));
            break;
        }
        entry.files.insert(rel.clone(), sha256_hex(bytes));
    }
    if failure.is_none() {
        entry.records = count;
        entry.chain = chain;
    }
    // Files written before a failure are listed as ours, with the old count and chain so
    // that the next run renders the session again.
    if !entry.files.is_empty() {
        index.sessions.insert(lineage.to_owned(), entry);
    }
    match failure {
        Some(failure) => Err(failure),
        None => Ok(markdown),
    }
}

/// The session's own title, else its first real prompt, without injected context; the
/// session id when neither says anything.
fn title(conversation: &Conversation, cleaned: &[Record]) -> String {
    let own = conversation
        .session
        .title
        .as_deref()
        .map(|t| naming::split_prompt(t).words)
        .filter(|t| !t.trim().is_empty());
    let prompt = || {
        cleaned.iter().find_map(|r| match (&r.agent, &r.item) {
            (None, Item::Prompt { parts }) => {
                let p = naming::split_prompt(&crate::model::joined_text(parts));
                let words = p.words.trim().to_owned();
                if !words.is_empty() {
                    Some(words)
                } else {
                    p.command()
                }
            }
            _ => None,
        })
    };
    let text = own
        .or_else(prompt)
        .unwrap_or_else(|| conversation.session.id.clone());
    // A title is one line: a long first prompt names the session by its first line.
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let line = first.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(120).collect()
}

fn first_time(records: &[Record], started_at: Option<&str>) -> String {
    started_at
        .map(str::to_owned)
        .or_else(|| records.iter().find_map(|r| r.timestamp.clone()))
        .unwrap_or_default()
}

/// A new session's Markdown path: `history/<user>/<agent>/<host>/<project>/` and
/// `YYYY-MM-DD-HHMM-<slug>.md` in local time, with the id's first 8 characters on a clash.
fn new_name(
    index: &Index,
    options: &Options,
    session: &NativeSession,
    lineage: &str,
    title: &str,
    started: &str,
) -> String {
    let dir = format!(
        "history/{}/{}/{}/{}",
        naming::name_segment(&options.user),
        naming::name_segment(session.agent),
        naming::name_segment(&options.host),
        naming::project_dir(session.cwd.as_deref(), options.home.as_deref())
    );
    let time = chrono::DateTime::parse_from_rfc3339(started)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d-%H%M")
                .to_string()
        })
        .unwrap_or_else(|_| "0000-00-00-0000".to_owned());
    let id8: String = naming::name_segment(&session.id).chars().take(8).collect();
    let slug = Some(naming::slug(title))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| id8.clone());
    let plain = format!("{dir}/{time}-{slug}.md");
    if !index.taken(&plain, lineage) {
        return plain;
    }
    format!("{dir}/{time}-{slug}-{id8}.md")
}

struct HiddenJson<'a> {
    facts: &'a render::Facts<'a>,
    lineage: &'a str,
    session: &'a NativeSession,
    chain: &'a str,
    count: u64,
    redacted: bool,
    records: &'a [Record],
    subagents: &'a [subagents::Subagent],
}

/// The session's records and facts, self-contained so that an import can restore it: one
/// record per line, so that a session that grew shows as lines added.
fn hidden_json(h: HiddenJson) -> String {
    let header = json!({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lineage": h.lineage,
        "agent": h.session.agent,
        "session_id": h.session.id,
        "cwd": h.session.cwd,
        "title": h.facts.title,
        "user": h.facts.user,
        "host": h.facts.host,
        "project": h.facts.project,
        "started": h.facts.started,
        "last_activity": h.facts.last_activity,
        "record_count": h.count,
        "chain": h.chain,
        "dropped_by_reader": h.facts.dropped,
        "redaction": {
            "applied": h.redacted,
            "ruleset": crate::redact::RULESET,
            "counts": h.facts.redactions,
        },
        "sanitized_lines": h.facts.sanitized_lines,
    });
    let pretty = serde_json::to_string_pretty(&header).expect("json serialises");
    // The header's fields, then the records one per line, in one object.
    let mut out = pretty
        .trim_end()
        .trim_end_matches('}')
        .trim_end()
        .to_owned();
    out.push_str(",\n  \"records\": [");
    lines(&mut out, h.records.iter());
    out.push_str("],\n  \"subagents\": [");
    for (i, sub) in h.subagents.iter().enumerate() {
        let own = sub.records.iter();
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&format!(
            "{{\"agent\": {}, \"call\": {}, \"records\": [",
            json!(sub.agent),
            json!(sub.call)
        ));
        lines(&mut out, own);
        out.push_str("]}");
    }
    if !h.subagents.is_empty() {
        out.push_str("\n  ");
    }
    out.push_str("]\n}\n");
    out
}

fn lines<'a>(out: &mut String, records: impl Iterator<Item = &'a Record>) {
    let mut any = false;
    for (i, record) in records.enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        out.push_str(&record.to_json().to_string());
        any = true;
    }
    if any {
        out.push_str("\n  ");
    }
}

/// One commit per run: what was added and updated.
fn commit_message(report: &Report) -> String {
    let mut message = format!(
        "archive: {} added, {} updated\n",
        report.added.len(),
        report.updated.len()
    );
    if !report.added.is_empty() || !report.updated.is_empty() {
        message.push('\n');
    }
    for line in &report.added {
        message.push_str(&format!("added {line}\n"));
    }
    for line in &report.updated {
        message.push_str(&format!("updated {line}\n"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subagents_go_before_their_calls_result_replacing_what_the_reader_gave() {
        let record = |agent: Option<&str>, item: Item| Record {
            agent: agent.map(str::to_owned),
            ..Record::new(item)
        };
        let call = |agent: Option<&str>, id: &str| {
            record(
                agent,
                Item::ToolCall {
                    id: id.into(),
                    name: "Agent".into(),
                    input: Value::Null,
                },
            )
        };
        let result = |agent: Option<&str>, id: &str| {
            record(
                agent,
                Item::ToolResult {
                    id: id.into(),
                    parts: Vec::new(),
                    is_error: false,
                },
            )
        };
        // What a reader gives when it splices a subagent's calls itself (as the live mirror).
        let main = vec![
            call(None, "a"),
            call(Some("s"), "x"),
            result(Some("s"), "x"),
            result(None, "a"),
        ];
        let sub = subagents::Subagent {
            agent: "s".into(),
            call: Some("a".into()),
            records: vec![
                record(Some("s"), Item::Text { text: "go".into() }),
                call(Some("s"), "x"),
                result(Some("s"), "x"),
            ],
        };
        let spliced = splice(&main, &[sub]);
        assert_eq!(spliced.len(), 5);
        assert_eq!(spliced[0], main[0]);
        assert!(matches!(&spliced[1].item, Item::Text { text } if text == "go"));
        assert_eq!(spliced[4], main[3]);
    }

    #[test]
    fn keyword_lines_are_replaced_whole() {
        let mut n = 0;
        let out = sanitize("a\nthe ACME plan\nb", &["acme".to_owned()], &mut n);
        assert_eq!(out, "a\n[SANITIZED]\nb");
        assert_eq!(n, 1);
    }
}
