//! A package into this machine's agents (`../shared/specs/packages.md`): each session is
//! classified against what is here (by its identity chain, never by bytes), then written
//! through the hand-off path as one journaled transaction that `rollback` undoes exactly.

use crate::agents::{self, Conversation, NativeSession, native};
use crate::config::{Config, TargetConfig};
use crate::handoff;
use crate::hash::sha256_hex;
use crate::model::Record;
use crate::package::{Package, PackedSession, paths::Localizer};
use crate::store::{self, Lineage, Mirror, Retired, SessionFiles, SessionState, journal};
use std::path::{Path, PathBuf};

/// How a package session relates to what this machine has, per target agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Nothing of its lineage here: written as a new session.
    New,
    /// Here already, exactly: nothing to do.
    Unchanged,
    /// This machine has more of it: nothing to do.
    LocalAhead,
    /// The package has more: its new records are appended to the same session.
    FastForward { from: u64 },
    /// Both moved on from record `at`: the local session stays as it is, the package's comes
    /// in as a new session beside it.
    Diverged { at: u64 },
    /// A different session has its id here: it comes in under a new id.
    IdCollision,
}

impl Class {
    pub fn name(&self) -> &'static str {
        match self {
            Class::New => "new",
            Class::Unchanged => "unchanged",
            Class::LocalAhead => "local-ahead",
            Class::FastForward { .. } => "fast-forward",
            Class::Diverged { .. } => "diverged",
            Class::IdCollision => "id collision",
        }
    }

    fn writes(&self) -> bool {
        !matches!(self, Class::Unchanged | Class::LocalAhead)
    }
}

/// One package session into one target.
#[derive(Debug, Clone)]
pub struct Step {
    pub target: String,
    pub class: Class,
    /// A native session of this machine the package extends (installed by hand or another
    /// tool, or the session's own origin): appended to, never replaced.
    pub adopted: Option<(String, PathBuf)>,
    /// The session here it is compared with.
    pub local: Option<String>,
}

/// One package session's plan.
pub struct Planned {
    pub session: PackedSession,
    /// Localized records and session.
    pub conversation: Conversation,
    pub key: String,
    pub steps: Vec<Step>,
}

pub struct Plan {
    pub package: Package,
    pub remaps: Vec<String>,
    pub sessions: Vec<Planned>,
}

pub struct Options {
    pub to: Vec<String>,
    pub maps: Vec<(String, String)>,
    pub keep_paths: bool,
}

/// Classifies every session of `package` against this machine; writes nothing.
pub fn plan(package: Package, data_dir: &Path, options: &Options) -> Result<Plan, String> {
    let localizer = Localizer::new(
        &package.manifest.path_roots,
        &options.maps,
        options.keep_paths,
        crate::paths::home_dir().as_deref(),
    );
    let mut sessions = Vec::new();
    for session in &package.sessions {
        let header = &session.header;
        if !crate::pipeline::is_safe_id(&header.source_id) {
            return Err(format!(
                "package session {} has an id session-sync cannot store ({:?})",
                header.key, header.source_id
            ));
        }
        let cwd = header
            .cwd
            .as_deref()
            .map(|c| localizer.path(c).map(PathBuf::from))
            .transpose()?;
        // A session continued elsewhere after an import goes on under its lineage's id.
        let (lineage_agent, lineage_session) = header
            .lineage_id
            .split_once(':')
            .filter(|(_, id)| crate::pipeline::is_safe_id(id))
            .unwrap_or((&header.agent, &header.source_id));
        let agent = agents::reader(lineage_agent).map(|r| r.agent).ok_or_else(|| {
            format!(
                "package session {} is a {} session, which this session-sync does not know; upgrade it",
                header.key, header.agent
            )
        })?;
        let records: Vec<Record> = session
            .records
            .iter()
            .map(|r| localizer.record(r))
            .collect();
        let conversation = Conversation {
            session: NativeSession {
                agent,
                id: lineage_session.to_owned(),
                path: PathBuf::new(),
                cwd,
                title: header.title.clone(),
                started_at: header.first_at.clone(),
                updated_at: header.last_at.clone(),
                ours: false,
            },
            records,
            dropped: Default::default(),
        };
        let key = handoff::package_state_key(agent, &conversation.session.id);
        let mut targets = vec![agent.to_owned()];
        targets.extend(options.to.iter().filter(|t| *t != agent).cloned());
        let state = store::load_state(&SessionFiles::new(data_dir, &key).state)
            .map_err(|e| format!("cannot read session-sync's state for {key}: {e}"))?;
        let steps = targets
            .into_iter()
            .map(|target| {
                classify(
                    &conversation,
                    &header.lineage_id,
                    &target,
                    state.as_ref(),
                    data_dir,
                )
            })
            .collect::<Result<Vec<_>, String>>()?;
        sessions.push(Planned {
            session: session.clone(),
            conversation,
            key,
            steps,
        });
    }
    Ok(Plan {
        remaps: localizer.remaps(),
        package,
        sessions,
    })
}

fn rids(records: &[Record]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r.rid.as_deref().unwrap_or(""))
        .collect()
}

/// The longest common prefix of two id lists.
fn common_prefix(a: &[&str], b: &[&str]) -> u64 {
    a.iter().zip(b).take_while(|(x, y)| x == y).count() as u64
}

fn by_prefix(ours: u64, theirs: u64, common: u64) -> Class {
    match (common == ours, common == theirs) {
        (true, true) => Class::Unchanged,
        (false, true) => Class::LocalAhead,
        (true, false) => Class::FastForward { from: ours },
        (false, false) if common == 0 => Class::IdCollision,
        (false, false) => Class::Diverged { at: common },
    }
}

/// The session's copy in its own agent, compared with what it holds now (it may have been
/// continued here since it was imported). `None` when there is no such copy.
fn own_copy(
    conversation: &Conversation,
    target: &str,
    state: &SessionState,
    theirs: &[&str],
    data_dir: &Path,
) -> Result<Option<Step>, String> {
    let Some(mirror) = state
        .mirrors
        .get(target)
        .filter(|_| target == conversation.session.agent)
    else {
        return Ok(None);
    };
    let reader = agents::reader(target).ok_or_else(|| format!("cannot read {target} sessions"))?;
    let Some(at_path) = reader.at_path else {
        return Ok(None);
    };
    let Ok(native) = at_path(&mirror.path) else {
        return Ok(None);
    };
    if let Some(busy) = reader.busy(&native) {
        return Err(busy);
    }
    let here = (reader.read)(&native)?;
    let copy = Copy {
        end: mirror.lineage.bytes,
        journal_bytes: state.records_bytes,
    };
    let Some((records, continued)) = local_view(state, copy, &here, data_dir)? else {
        return Ok(None);
    };
    let ours = rids(&records);
    let class = by_prefix(
        ours.len() as u64,
        theirs.len() as u64,
        common_prefix(&ours, theirs),
    );
    Ok(Some(Step {
        target: target.to_owned(),
        adopted: (continued && matches!(class, Class::FastForward { .. }))
            .then(|| (mirror.id.clone(), mirror.path.clone())),
        class,
        local: Some(mirror.id.clone()),
    }))
}

fn classify(
    conversation: &Conversation,
    lineage: &str,
    target: &str,
    state: Option<&SessionState>,
    data_dir: &Path,
) -> Result<Step, String> {
    let theirs = rids(&conversation.records);
    let n_s = theirs.len() as u64;
    // Imported before: compare with what was imported then.
    if let Some(state) = state {
        let source = state.source.as_ref();
        let handed = source.map_or(0, |s| s.records);
        let journal = store::records::read(
            &SessionFiles::new(data_dir, &state.claude_session_id).records,
            state.records_bytes,
        )
        .map_err(|e| {
            format!(
                "cannot read session-sync's records of {}: {e}",
                state.claude_session_id
            )
        })?;
        let ours = rids(&journal);
        let same_lineage = source.is_some_and(|s| {
            native::chain(
                lineage,
                theirs[..(handed as usize).min(theirs.len())]
                    .iter()
                    .copied(),
            ) == s.chain
                || handed > n_s
        });
        let common = common_prefix(&ours, &theirs);
        if let Some(step) = own_copy(conversation, target, state, &theirs, data_dir)? {
            return Ok(step);
        }
        let class = match state.mirrors.get(target) {
            // No copy in this target yet (`--to` added it since): one is made, whatever the
            // package holds compared with the lineage here.
            None => Class::New,
            Some(_) if !same_lineage && common < handed.min(n_s) => Class::Diverged { at: common },
            Some(_) => by_prefix(handed, n_s, common.min(handed)),
        };
        return Ok(Step {
            local: state.mirrors.get(target).map(|m| m.id.clone()),
            target: target.to_owned(),
            class,
            adopted: None,
        });
    }
    let mut step = Step {
        target: target.to_owned(),
        class: Class::New,
        adopted: None,
        local: None,
    };
    if target != conversation.session.agent {
        return Ok(step);
    }
    // The session's own agent: is a session with its id here already?
    let reader = agents::reader(target).ok_or_else(|| format!("cannot read {target} sessions"))?;
    let Some(native) = (reader.list)()?
        .into_iter()
        .find(|s| s.id == conversation.session.id)
    else {
        return Ok(step);
    };
    if let Some(busy) = reader.busy(&native) {
        return Err(busy);
    }
    let here = (reader.read)(&native)?;
    let ours = rids(&here.records);
    step.local = Some(native.id.clone());
    step.class = by_prefix(ours.len() as u64, n_s, common_prefix(&ours, &theirs));
    if matches!(step.class, Class::FastForward { .. }) {
        step.adopted = Some((native.id.clone(), native.path.clone()));
    }
    Ok(step)
}

/// What an import did.
pub struct Applied {
    /// `None` when there was nothing to write (no transaction).
    pub txid: Option<String>,
    pub lines: Vec<String>,
    pub problems: Vec<String>,
}

/// Applies `plan` as one transaction of the journal. `recover` comes before the plan: a
/// half-applied import must not count as what is here.
pub fn apply(
    plan: &Plan,
    package_path: &Path,
    data_dir: &Path,
    config: &Config,
) -> Result<Applied, String> {
    let journal = journal::Journal::new(data_dir);
    if !plan
        .sessions
        .iter()
        .any(|p| p.steps.iter().any(|s| s.class.writes()))
    {
        return Ok(Applied {
            txid: None,
            lines: Vec::new(),
            problems: Vec::new(),
        });
    }
    let package_bytes = crate::read::read_regular(package_path, 8 << 30).unwrap_or_default();
    let mut tx = journal::Tx {
        txid: uuid::Uuid::now_v7().to_string(),
        package_id: plan.package.manifest.package_id.clone(),
        package_sha256: sha256_hex(&package_bytes),
        package_path: package_path.to_owned(),
        started_at: crate::encode::rfc3339(chrono::Utc::now()),
        status: journal::Status::Applying,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        machine_id: store::package::machine_id(data_dir).unwrap_or_default(),
        plan: describe(plan),
        results: Vec::new(),
    };
    let fail = |e: std::io::Error| {
        format!(
            "cannot write the import journal in {}: {e}",
            data_dir.display()
        )
    };
    journal.begin(&tx).map_err(fail)?;
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for planned in &plan.sessions {
        let writing: Vec<&Step> = planned.steps.iter().filter(|s| s.class.writes()).collect();
        if writing.is_empty() {
            continue;
        }
        match apply_session(planned, &writing, data_dir, config, &journal, &tx) {
            Ok((outcome, mut said)) => {
                lines.append(&mut said);
                problems.extend(outcome.problems);
            }
            Err(problem) => {
                tx.status = journal::Status::Failed;
                let ops = journal.ops(&tx.txid).unwrap_or_default();
                let (undone, _) = journal::undo(data_dir, &ops);
                tx.results = undone;
                let _ = journal.save(&tx);
                return Err(format!("{problem}; nothing of this import was kept"));
            }
        }
    }
    tx.status = journal::Status::Committed;
    journal.save(&tx).map_err(fail)?;
    Ok(Applied {
        txid: Some(tx.txid),
        lines,
        problems,
    })
}

fn apply_session(
    planned: &Planned,
    writing: &[&Step],
    data_dir: &Path,
    config: &Config,
    journal: &journal::Journal,
    tx: &journal::Tx,
) -> Result<(handoff::Outcome, Vec<String>), String> {
    let txid = tx.txid.as_str();
    let mut config = config.clone();
    for target in config.targets.values_mut() {
        target.enabled = false;
    }
    for step in writing {
        config
            .targets
            .entry(step.target.clone())
            .or_insert_with(|| TargetConfig::new(true))
            .enabled = true;
    }
    let files = SessionFiles::new(data_dir, &planned.key);
    let before = store::load_state(&files.state).ok().flatten();
    let agent = planned.conversation.session.agent;
    let own = writing.iter().find(|s| s.target == agent);
    let adopted: Vec<journal::Adopted> = own
        .and_then(|s| s.adopted.as_ref())
        .map(|(_, path)| journal::Adopted {
            path: path.clone(),
            size_before: crate::read::size(path).unwrap_or(0),
        })
        .into_iter()
        .collect();
    journal
        .log(
            txid,
            &journal::Op::Session {
                key: planned.key.clone(),
                before: before.clone().map(Box::new),
                adopted: adopted.clone(),
            },
        )
        .map_err(|e| format!("cannot write the import journal: {e}"))?;

    let lineage = planned.session.header.lineage_id.clone();
    let theirs = rids(&planned.conversation.records);
    let adopt_mirror = match own.and_then(|s| Some((s.adopted.as_ref()?, &s.class))) {
        Some(((id, path), Class::FastForward { from })) => {
            Some((adopted_mirror(agent, id, path, &lineage, &config)?, *from))
        }
        _ => None,
    };
    // A different session under the same id, or one that went its own way here: the
    // package's comes in beside it, under a new id.
    let branch_of = own
        .filter(|s| {
            matches!(s.class, Class::IdCollision | Class::Diverged { .. }) && before.is_none()
        })
        .and_then(|s| Some((s.local.clone()?, s.class.clone())));
    let keep_id = own.is_some_and(|s| s.class == Class::New);
    let package_id = tx.package_id.clone();
    let project = planned
        .conversation
        .session
        .cwd
        .clone()
        .unwrap_or_else(|| PathBuf::from("/"));
    let outcome = handoff::apply(
        &planned.key,
        &planned.conversation,
        data_dir,
        &config,
        project,
        &mut |state| {
            let source = state.source.get_or_insert_with(|| store::Source {
                agent: agent.to_owned(),
                id: planned.conversation.session.id.clone(),
                path: PathBuf::new(),
                records: 0,
                chain: native::chain(&lineage, []),
                dropped: Default::default(),
                package: None,
                keep_id: false,
            });
            source.package = Some(package_id.clone());
            source.keep_id = keep_id;
            if let Some((mirror, held)) = &adopt_mirror {
                // The native session holds the package's first records already.
                source.records = *held;
                source.chain = native::chain(&lineage, theirs[..*held as usize].iter().copied());
                state.mirrors.insert(agent.to_owned(), mirror.clone());
            }
        },
    )?;
    // A write that did not happen (its target failed, or has the session open) fails the
    // import: it is undone whole rather than committed half-applied.
    let unwritten: Vec<String> = outcome
        .after
        .mirrors
        .iter()
        .filter(|(_, mirror)| mirror.pending.is_some())
        .map(|(target, mirror)| {
            let place = format!("{target} mirror {}:", mirror.path.display());
            outcome
                .problems
                .iter()
                .find(|p| p.starts_with(&place))
                .cloned()
                .unwrap_or_else(|| {
                    format!(
                        "{target} has session {} open; close it there and import again",
                        mirror.id
                    )
                })
        })
        .collect();
    if !unwritten.is_empty() {
        return Err(unwritten.join("; "));
    }
    let mut after = outcome.after.clone();
    if let Some((local_id, class)) = branch_of {
        if let Some(new) = after.mirrors.get(agent) {
            after.retired.push(Retired {
                target: agent.to_owned(),
                id: local_id,
                path: PathBuf::new(),
                reason: match class {
                    Class::Diverged { at } => format!("this machine's own session, diverged from the package at record {at}; kept as it is"),
                    _ => "a different session with the same id; kept as it is".to_owned(),
                },
                retired_at: after.last_sync.clone(),
                successor: new.id.clone(),
                written: None,
            });
            let _lock = store::LockGuard::acquire(&files.lock, std::time::Duration::from_secs(10))
                .map_err(|e| format!("cannot lock {}: {e}", files.lock.display()))?;
            store::save_state(&files, &mut after)
                .map_err(|e| format!("cannot save state {}: {e}", files.state.display()))?;
        }
    }
    let written = journal::writes(before.as_ref(), &after, &adopted);
    journal
        .log(
            txid,
            &journal::Op::Written {
                key: planned.key.clone(),
                files: written.clone(),
            },
        )
        .map_err(|e| format!("cannot write the import journal: {e}"))?;
    let said = written
        .iter()
        .map(|w| {
            let id = after.mirrors.get(&w.target).map_or("", |m| m.id.as_str());
            format!(
                "  {:<9} {} {}",
                w.target,
                if w.created { "created" } else { "appended to" },
                crate::cmd::resume_command(&w.target, id, &w.path)
            )
        })
        .collect();
    Ok((outcome, said))
}

/// A native session of this machine taken on as the mirror an import appends to.
fn adopted_mirror(
    agent: &str,
    id: &str,
    path: &Path,
    lineage_id: &str,
    config: &Config,
) -> Result<Mirror, String> {
    let encoder = crate::encode::encoder(agent, config)
        .ok_or_else(|| format!("cannot write {agent} sessions here"))?;
    let text = crate::read::read_text(path, 1 << 30)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let cursor = encoder
        .adopt(&text)
        .ok_or_else(|| format!("cannot append to the {agent} session {id}"))?;
    let mut lineage = Lineage::new(lineage_id);
    for line in text.lines() {
        lineage.extend(line);
    }
    // Bytes after the last newline (a torn line) stay where they are; appends go after.
    lineage.bytes = text.len() as u64;
    let now = crate::encode::rfc3339(chrono::Utc::now());
    Ok(Mirror {
        id: id.to_owned(),
        path: path.to_owned(),
        kind: Default::default(),
        writer_lock: None,
        created_at: now.clone(),
        last_sync: now,
        records: 0,
        lineage,
        pending: None,
        cursor,
        index: None,
        benign: None,
        indexed_at: None,
        tail: None,
        losses: Default::default(),
        index_stamp: None,
    })
}

/// One line per session and target, for `inspect` and the journal.
pub fn describe(plan: &Plan) -> Vec<String> {
    let mut lines = Vec::new();
    for planned in &plan.sessions {
        let header = &planned.session.header;
        for step in &planned.steps {
            let detail = match &step.class {
                Class::New => format!("{} records", header.records),
                Class::FastForward { from } => {
                    format!("+{} records", header.records.saturating_sub(*from))
                }
                Class::Diverged { at } => {
                    format!("common up to record {at}; a new session beside the local one")
                }
                Class::IdCollision => "a new id".to_owned(),
                Class::Unchanged | Class::LocalAhead => "nothing to write".to_owned(),
            };
            let adopt = if step.adopted.is_some() {
                "adopt, then "
            } else {
                ""
            };
            let local = step
                .local
                .as_deref()
                .map(|l| format!(" (here: {l})"))
                .unwrap_or_default();
            lines.push(format!(
                "{:<9} {} → {:<9} {adopt}{}: {detail}{local}",
                header.agent,
                header.source_id,
                step.target,
                step.class.name()
            ));
        }
    }
    lines
}

/// Held by the one import that may run at a time (and by `doctor` while it recovers).
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("import.lock")
}

/// Rolls back transactions a crash left half-applied.
pub fn recover(data_dir: &Path) -> Vec<String> {
    let journal = journal::Journal::new(data_dir);
    let mut lines = Vec::new();
    for mut tx in journal.list() {
        if tx.status != journal::Status::Applying {
            continue;
        }
        let ops = journal.ops(&tx.txid).unwrap_or_default();
        let (undone, _) = journal::undo(data_dir, &ops);
        lines.push(format!("rolled back the interrupted import {}", tx.txid));
        tx.status = journal::Status::RolledBack;
        tx.results = undone;
        let _ = journal.save(&tx);
    }
    lines
}

/// How a session of this machine goes into a package: as itself, or, when an import wrote it
/// (the package session's copy in its own agent), as the lineage it came in with: the
/// records it was imported with, their ids unchanged, then what was said here since.
pub fn as_exported(
    conversation: Conversation,
    data_dir: &Path,
) -> Result<(String, Conversation), String> {
    let session = &conversation.session;
    let own_lineage = format!("{}:{}", session.agent, session.id);
    let Some((state, copy)) = import_of(data_dir, session.agent, &session.id) else {
        return Ok((own_lineage, conversation));
    };
    let Some(source) = &state.source else {
        return Ok((own_lineage, conversation));
    };
    match local_view(&state, copy, &conversation, data_dir)? {
        Some((records, _)) => Ok((
            format!("{}:{}", source.agent, source.id),
            Conversation {
                records,
                ..conversation
            },
        )),
        None => Ok((own_lineage, conversation)),
    }
}

/// `agent:id` of every session an import wrote into the session's own agent: that session
/// on this machine, to export and archive as such (not as a mirror).
pub fn copies(states: &[SessionState]) -> std::collections::HashSet<String> {
    let mut copies = std::collections::HashSet::new();
    for state in states {
        let Some(source) = state.source.as_ref().filter(|s| s.package.is_some()) else {
            continue;
        };
        for (id, _) in copy_ids(state, &source.agent) {
            copies.insert(format!("{}:{id}", source.agent));
        }
    }
    copies
}

/// How far session-sync wrote the copies of an import in `agent`: the live one, and those the
/// user went on with (left behind when the next import forked).
fn copy_ids<'a>(state: &'a SessionState, agent: &str) -> Vec<(&'a str, Copy)> {
    let live = state.mirrors.get(agent).map(|m| {
        let copy = Copy {
            end: m.lineage.bytes,
            journal_bytes: state.records_bytes,
        };
        (m.id.as_str(), copy)
    });
    let left = state
        .retired
        .iter()
        .filter(|r| r.target == agent)
        .filter_map(|r| {
            let written = r.written?;
            let copy = Copy {
                end: written.bytes,
                journal_bytes: written.journal_bytes,
            };
            Some((r.id.as_str(), copy))
        });
    live.into_iter().chain(left).collect()
}

/// What session-sync wrote to an import's copy: up to `end` in its file, carrying the records
/// journal's first `journal_bytes`.
#[derive(Debug, Clone, Copy)]
struct Copy {
    end: u64,
    journal_bytes: u64,
}

/// The state of the import whose copy in `agent` is the session `id`, and that copy.
fn import_of(data_dir: &Path, agent: &str, id: &str) -> Option<(SessionState, Copy)> {
    store::all_sessions(data_dir).into_iter().find_map(|state| {
        state
            .source
            .as_ref()
            .filter(|s| s.package.is_some() && s.agent == agent)?;
        let copy = copy_ids(&state, agent)
            .into_iter()
            .find(|(copy_id, _)| *copy_id == id)?
            .1;
        Some((state, copy))
    })
}

/// The records an import's copy holds, as its lineage names them: what the import wrote
/// (from session-sync's journal), then what was said in the copy since (read from the bytes
/// after ours), and whether there is any. `None` when the copy no longer starts with what was
/// written.
fn local_view(
    state: &SessionState,
    copy: Copy,
    native: &Conversation,
    data_dir: &Path,
) -> Result<Option<(Vec<Record>, bool)>, String> {
    let agent = native.session.agent;
    let reader = agents::reader(agent).ok_or_else(|| format!("cannot read {agent} sessions"))?;
    let journal = store::records::read(
        &SessionFiles::new(data_dir, &state.claude_session_id).records,
        copy.journal_bytes,
    )
    .map_err(|e| {
        format!(
            "cannot read session-sync's records of {}: {e}",
            state.claude_session_id
        )
    })?;
    // What the import wrote reads back as the copy's first records; the rest is new here.
    let path = &native.session.path;
    let prefix = crate::read::read_range(path, 0, copy.end)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Beside the data dir's own files, so that once removed it leaves nothing behind
    // (`inspect` writes nothing).
    let scratch = data_dir.join(format!(
        ".scratch.{}.{}",
        std::process::id(),
        path.file_name()
            .map_or("session".into(), |n| n.to_string_lossy())
    ));
    store::fs::write_atomic(&scratch, &prefix)
        .map_err(|e| format!("cannot write {}: {e}", scratch.display()))?;
    let written = (reader.read)(&NativeSession {
        path: scratch.clone(),
        ..native.session.clone()
    });
    let _ = store::remove::file(&scratch);
    let written = written?;
    let mine = rids(&written.records);
    let here = rids(&native.records);
    if common_prefix(&mine, &here) < mine.len() as u64 {
        return Ok(None);
    }
    // An import that fast-forwarded only other targets with what was said here journaled it
    // already: the journal ends with the first records said here since.
    let since = &native.records[mine.len()..];
    let (journaled, said) = (rids(&journal), rids(since));
    let overlap = (0..=journaled.len().min(said.len()))
        .rev()
        .find(|&n| journaled[journaled.len() - n..] == said[..n])
        .unwrap_or(0);
    let mut records = journal;
    records.extend(since[overlap..].iter().cloned());
    Ok(Some((records, !since.is_empty())))
}
