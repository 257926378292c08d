//! Another agent's native session into the mirrors (`mirror --from`): read whole, journal what
//! is new since the last hand-off (by the identity chain of its record ids), and fan it out
//! through the same path as the live hook, so that appends, forks of continued mirrors and
//! the loss report behave the same.

use crate::agents::{Conversation, native};
use crate::config::Config;
use crate::fanout;
use crate::model::Record;
use crate::store::{self, Ahead, LockGuard, Retired, SessionFiles, SessionState, Source};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Text a hand-off step writes to each target, about: what a catch-up step's 4 MiB of
/// transcript holds.
const STEP_BYTES: usize = 2 << 20;

/// How long to wait for a concurrent hand-off of the same session.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// What a hand-off did.
pub struct Outcome {
    /// The state before, when the session was handed over earlier.
    pub before: Option<SessionState>,
    pub after: SessionState,
    /// Records read past what was handed over before.
    pub new_records: usize,
    /// Set when the source no longer starts with what was handed over before (rewritten by
    /// its agent): every target got a new mirror with the whole session.
    pub rewritten: bool,
    pub problems: Vec<String>,
}

/// The key of a handed-over session's state under the data directory.
pub fn state_key(agent: &str, id: &str) -> String {
    format!("{agent}-{id}")
}

/// The key of an imported session's state: one per lineage, whatever the targets.
pub fn package_state_key(agent: &str, id: &str) -> String {
    format!("pkg-{agent}-{id}")
}

/// Mirrors a session of this machine into the targets `config` enables.
pub fn mirror(
    conversation: &Conversation,
    data_dir: &Path,
    config: &Config,
    project: PathBuf,
) -> Result<Outcome, String> {
    let key = state_key(conversation.session.agent, &conversation.session.id);
    apply(&key, conversation, data_dir, config, project, &mut |_| {})
}

/// Mirrors `conversation` under the state `key`; `prepare` adjusts the state (an import
/// names its package, adopts a native session and the records it holds already) before
/// anything is compared or written.
pub fn apply(
    key: &str,
    conversation: &Conversation,
    data_dir: &Path,
    config: &Config,
    project: PathBuf,
    prepare: &mut dyn FnMut(&mut SessionState),
) -> Result<Outcome, String> {
    let session = &conversation.session;
    if !crate::pipeline::is_safe_id(&session.id) {
        return Err(format!(
            "{:?} cannot name a session: its id has characters session-sync does not store",
            session.id
        ));
    }
    let files = SessionFiles::new(data_dir, key);
    let _lock = LockGuard::acquire(&files.lock, LOCK_WAIT).map_err(|e| {
        format!(
            "cannot lock {}: {e} (is another `session-sync mirror` running?)",
            files.lock.display()
        )
    })?;
    let before = store::load_state(&files.state)
        .map_err(|e| format!("cannot read {}: {e}", files.state.display()))?;
    let now = chrono::Utc::now();
    let now_text = crate::encode::rfc3339(now);
    let lineage = format!("{}:{}", session.agent, session.id);
    let rids: Vec<&str> = conversation
        .records
        .iter()
        .map(|r| r.rid.as_deref().unwrap_or(""))
        .collect();

    let mut state = before.clone().unwrap_or_else(|| {
        let cwd = session.cwd.clone().unwrap_or_else(|| project.clone());
        SessionState::new(key, session.path.clone(), cwd, project, &now_text)
    });
    let journaled = state.source.as_ref().map_or(0, |s| s.records as usize);
    prepare(&mut state);
    let handed = state.source.as_ref().map_or(0, |s| s.records as usize);
    // The chain over what was handed over, carried on from there by each step.
    let mut chain = native::Chain::new(&lineage);
    if let Some(handed_rids) = rids.get(..handed) {
        chain.extend(handed_rids.iter().copied());
    }
    let prefix_holds = state
        .source
        .as_ref()
        .is_none_or(|source| handed <= rids.len() && chain.hex() == source.chain);
    let mut replaced = Vec::new();
    let start = if prefix_holds {
        handed
    } else {
        chain = native::Chain::new(&lineage);
        // The agent rewrote the session (compaction into a new file, a format migration):
        // what we handed over is no longer its beginning. The old mirrors stay as they are
        // and new ones carry the session whole.
        replaced = std::mem::take(&mut state.mirrors).into_iter().collect();
        state.records_bytes = 0;
        0
    };
    if prefix_holds && start > journaled {
        // The targets hold more than the journal (an import adopting a native session, or
        // a copy continued here): the journal still needs it, for mirrors opened later.
        state.records_bytes = store::records::append(
            &files.records,
            state.records_bytes,
            &conversation.records[journaled..start],
        )
        .map_err(|e| format!("cannot append to {}: {e}", files.records.display()))?;
    }
    state.title = session.title.clone().or(state.title);
    state.transcript_path = session.path.clone();
    let (package, keep_id) = state
        .source
        .as_ref()
        .map_or((None, false), |s| (s.package.clone(), s.keep_id));
    state.source = Some(Source {
        agent: session.agent.to_owned(),
        id: session.id.clone(),
        path: session.path.clone(),
        records: start as u64,
        chain: chain.hex(),
        dropped: conversation.dropped.clone(),
        package,
        keep_id,
    });
    state.last_sync = now_text.clone();
    // Written as a catch-up is, a few megabytes at a time: side by side, large writes saved
    // ahead by their length alone. Each step records how far the source is handed over, so
    // a run cut short goes on from there. It stops at the first problem, as a catch-up does.
    let mut problems = Vec::new();
    let mut handed = start;
    for step in steps(&conversation.records[start..]) {
        chain.extend(rids[handed..handed + step.len()].iter().copied());
        handed += step.len();
        if let Some(source) = &mut state.source {
            source.records = handed as u64;
            source.chain = chain.hex();
        }
        problems = fanout::write(&files, &mut state, config, step, now, Ahead::Length)?;
        if !problems.is_empty() {
            break;
        }
    }
    // Its database write may still run beside: completed, and recorded so, before reporting.
    let late = store::flush_beside(&mut state);
    problems.extend(late.problems);
    problems.extend(late.diverged.into_iter().map(|(target, reason)| {
        format!("{target}: {reason}; the next run of the same command forks it")
    }));
    for (target, old) in replaced {
        let successor = state
            .mirrors
            .get(&target)
            .map(|m| m.id.clone())
            .unwrap_or_default();
        state.retired.push(Retired {
            target,
            id: old.id,
            path: old.path,
            reason: format!("left behind: the {} session was rewritten", session.agent),
            retired_at: now_text.clone(),
            successor,
            written: None,
        });
    }
    if late.completed_database || !prefix_holds {
        store::save_state(&files, &mut state)
            .map_err(|e| format!("cannot save state {}: {e}", files.state.display()))?;
    }
    problems.extend(pending_problems(&state));
    Ok(Outcome {
        before,
        after: state,
        new_records: handed - start,
        rewritten: !prefix_holds,
        problems,
    })
}

/// `records` in steps of about `STEP_BYTES` of text; one step (maybe empty) at least, which
/// opens the mirrors of targets enabled since.
fn steps(records: &[Record]) -> Vec<&[Record]> {
    let mut steps = Vec::new();
    let (mut from, mut bytes) = (0, 0);
    for (at, record) in records.iter().enumerate() {
        bytes += record.weight();
        if bytes >= STEP_BYTES {
            steps.push(&records[from..=at]);
            (from, bytes) = (at + 1, 0);
        }
    }
    if from < records.len() || steps.is_empty() {
        steps.push(&records[from..]);
    }
    steps
}

/// Writes still waiting because the target agent has the session open.
fn pending_problems(state: &SessionState) -> Vec<String> {
    state
        .mirrors
        .iter()
        // A write cut short is reported where it was found.
        .filter(|(_, mirror)| mirror.pending.as_ref().is_some_and(|p| !p.is_lost()))
        .map(|(target, mirror)| {
            format!(
                "{target} has session {} open: the new records wait until it is closed; run the same command again then",
                mirror.id
            )
        })
        .collect()
}
