//! New records out to every enabled target: the journal, each target's encoder, then the
//! store. Opens a mirror with the full history when a target has none yet, and forks a
//! mirror the user continued in its agent. The hook and `mirror` both come through here.

use crate::config::Config;
use crate::encode::{self, Encoder, Lines, Opening, SessionFacts};
use crate::model::Record;
use crate::store::{self, Ahead, Batch, Lineage, Mirror, Retired, SessionFiles, SessionState};
use std::time::Duration;

/// How often a mirror's listing entry is bumped while it grows (it is written at once when
/// the mirror opens). Agents sort "most recent" by it; a minute is precise enough.
const INDEX_REFRESH: Duration = Duration::from_secs(60);

/// Writes `records` (already consumed from the transcript) to the journal and every enabled
/// target, in one sequence: complete what the last write left and find the mirrors the user
/// continued in their agent; plan every target's lines (an append, a new mirror, or a fork of
/// a continued one); save the state once, then write; record what completed only when a
/// database write or an index entry needs it. Returns the problems met (the state is saved
/// regardless), or an error when the state itself could not be saved. `ahead` says how the
/// writes are saved ahead of themselves (`store::commit`).
pub fn write(
    files: &SessionFiles,
    state: &mut SessionState,
    config: &Config,
    records: &[Record],
    now: chrono::DateTime<chrono::Utc>,
    ahead: Ahead,
) -> Result<Vec<String>, String> {
    let now_text = encode::rfc3339(now);
    let save_error =
        |e: std::io::Error| format!("cannot save state {}: {e}", files.state.display());

    // What the last write left, and what moved on since (of the targets written now). The
    // last catch-up step's database write, if it still runs beside, is completed once this
    // step's lines are encoded.
    let encoders = encode::enabled(config, state.excluded_target());
    let finished = store::flush_pending(state);
    let mut problems = finished.problems;
    let mut diverged = finished.diverged;
    diverged.extend(store::moved_on(state, |target| {
        encoders.iter().any(|(t, _)| *t == target)
    }));

    // The plan.
    let journal_before = state.records_bytes;
    state.records_bytes = store::records::append(&files.records, state.records_bytes, records)
        .map_err(|e| format!("cannot append to {}: {e}", files.records.display()))?;
    let mut history = History {
        files,
        before: journal_before,
        new: records,
        whole: None,
    };
    let mut batches = Vec::new();
    let mut appends = Vec::new();
    let mut openings = Vec::new();
    for (target, encoder) in &encoders {
        let continued = diverged.iter().position(|(t, _)| t == target);
        let begun = match (state.mirrors.get(*target), continued) {
            // A mirror the user continued in its agent is never appended to: a fork carries
            // the whole history on, live, and the old one is kept for `status`.
            (Some(_), Some(at)) => {
                let (_, reason) = diverged.remove(at);
                let parent = state.mirrors.remove(*target).map(|p| (p, reason));
                begin_open(state, target, encoder.as_ref(), now, parent)
            }
            // Encoded below, side by side in a catch-up step.
            (Some(_), None) => {
                appends.push((*target, encoder.as_ref()));
                Ok(None)
            }
            // A live session opens a new target's mirror at its next new records (an idle
            // hook must not read the whole journal); a hand-off opens it at once.
            (None, _) if records.is_empty() && state.source.is_none() => Ok(None),
            (None, _) => begin_open(state, target, encoder.as_ref(), now, None),
        };
        match begun {
            Ok(Some(opening)) => openings.push(opening),
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
    }
    let history: &[Record] = if openings.is_empty() {
        &[]
    } else {
        match history.records() {
            Ok(history) => history,
            Err(problem) => {
                problems.push(problem);
                for opening in openings.drain(..) {
                    opening.give_back(state);
                }
                &[]
            }
        }
    };
    let catching_up = ahead == Ahead::Length;
    let opened = crate::parallel::map(openings, catching_up, |mut opening| {
        let mut lines: Lines = opening.opening.header.iter().collect();
        let cursor = &mut opening.opening.cursor;
        let count = opening.encoder.encode(history, cursor, &mut lines);
        // Nothing this target shows: no mirror yet.
        let shows = lines.len() > opening.opening.header.len();
        let batch = shows.then(|| Batch::new(opening.target, lines, count, &opening.lineage));
        (opening, batch)
    });
    let shared = Shared {
        history,
        config,
        now,
        journal_bytes: journal_before,
    };
    for (opening, batch) in opened {
        match finish_open(state, opening, batch, &shared) {
            Ok(Some(batch)) => batches.push(batch),
            Ok(None) => {}
            Err(problem) => problems.push(problem),
        }
    }
    let appended = encode_appends(state, &appends, records, config, catching_up);
    batches.extend(appended.into_iter().filter(|b| !b.lines.is_empty()));
    // A database write found cut short only now: its mirror takes nothing more, and forks at
    // the next write (the lines planned for it are dropped; the fork carries the history).
    let late = store::flush_beside(state);
    problems.extend(late.problems);
    for (target, _) in &late.diverged {
        batches.retain(|batch| batch.target != *target);
    }
    // Saved once, then written. A mirror found continued only now keeps its lines pending;
    // the next write forks it.
    let flushed = store::commit(files, state, batches, &now_text, ahead).map_err(save_error)?;
    problems.extend(flushed.problems);

    // What completed, when it matters: database rows (else the next write would apply them
    // again to verify them; file appends it verifies by their size), and index entries.
    if refresh_indexes(state, now, &mut problems) || flushed.completed_database {
        store::save_state(files, state).map_err(save_error)?;
    }
    Ok(problems)
}

/// The lines of `records` for each live mirror in `appends` (target and encoder); side by
/// side when `catching_up` (megabytes per target).
fn encode_appends(
    state: &mut SessionState,
    appends: &[(&str, &dyn Encoder)],
    records: &[Record],
    config: &Config,
    catching_up: bool,
) -> Vec<Batch> {
    let jobs: Vec<(&str, &dyn Encoder, &mut Mirror)> = state
        .mirrors
        .iter_mut()
        .filter_map(|(target, mirror)| {
            let (target, encoder) = appends.iter().find(|(t, _)| t == target)?;
            Some((*target, *encoder, mirror))
        })
        .collect();
    crate::parallel::map(jobs, catching_up, |(target, encoder, mirror)| {
        let mut lines = Lines::default();
        let count = encoder.encode(records, &mut mirror.cursor, &mut lines);
        count_losses(&mut mirror.losses, encoder, records, config);
        Batch::new(target, lines, count, &mirror.lineage)
    })
}

/// The whole journal, for the mirrors opening in one write: read once (up to where this
/// write's records begin, which are at hand) whatever the number of mirrors opening.
struct History<'a> {
    files: &'a SessionFiles,
    before: u64,
    new: &'a [Record],
    whole: Option<Vec<Record>>,
}

impl History<'_> {
    fn records(&mut self) -> Result<&[Record], String> {
        if self.whole.is_none() {
            let mut whole = store::records::read(&self.files.records, self.before)
                .map_err(|e| format!("cannot read {}: {e}", self.files.records.display()))?;
            whole.extend_from_slice(self.new);
            self.whole = Some(whole);
        }
        Ok(self.whole.as_deref().unwrap_or_default())
    }
}

/// A mirror being opened for `target`: named by its encoder, its history encoded next (side
/// by side with the others), then registered. For a fork, the mirror it succeeds.
struct Begun<'e> {
    target: &'static str,
    encoder: &'e dyn Encoder,
    opening: Opening,
    parent: Option<(Mirror, String)>,
    /// The new mirror's lineage before its first line.
    lineage: Lineage,
}

impl Begun<'_> {
    /// Puts a fork's parent back: the successor did not open.
    fn give_back(self, state: &mut SessionState) {
        give_back(state, self.target, self.parent);
    }
}

fn give_back(state: &mut SessionState, target: &str, parent: Option<(Mirror, String)>) {
    if let Some((parent, _)) = parent {
        state.mirrors.insert(target.to_owned(), parent);
    }
}

/// Names a new mirror for `target` (for a fork, succeeding `parent`, continued in its agent
/// for the reason given). `None` when the agent's store is not there yet.
fn begin_open<'e>(
    state: &mut SessionState,
    target: &'static str,
    encoder: &'e dyn Encoder,
    now: chrono::DateTime<chrono::Utc>,
    parent: Option<(Mirror, String)>,
) -> Result<Option<Begun<'e>>, String> {
    let keep_id = state
        .source
        .as_ref()
        .filter(|s| s.keep_id && s.agent == target && parent.is_none())
        .map(|s| s.id.as_str());
    let facts = SessionFacts {
        preferred_id: keep_id,
        claude_session_id: &state.claude_session_id,
        cwd: &state.cwd,
        title: &state.listed_title(),
        now,
    };
    let opened = encoder.open(&facts);
    let opening = match opened {
        Ok(opening) => opening,
        Err(err) => {
            give_back(state, target, parent);
            // The agent's store is not there yet (OpenCode before its first start): the
            // mirror opens, with the whole history, once it is; `init` and `doctor` say so.
            if err.kind() == std::io::ErrorKind::NotFound {
                return Ok(None);
            }
            return Err(format!("cannot open the {target} mirror: {err}"));
        }
    };
    let mut lineage = Lineage::new(&state.claude_session_id);
    lineage.parent = parent.as_ref().map(|(p, _)| store::ForkPoint {
        id: p.id.clone(),
        lines: p.lineage.lines,
        bytes: p.lineage.bytes,
        chain: p.lineage.chain.clone(),
    });
    Ok(Some(Begun {
        target,
        encoder,
        opening,
        parent,
        lineage,
    }))
}

/// What the mirrors opening in one write share: the history they carry, and when.
struct Shared<'a> {
    history: &'a [Record],
    config: &'a Config,
    now: chrono::DateTime<chrono::Utc>,
    /// The journal's length before this write's records.
    journal_bytes: u64,
}

/// Registers a mirror whose header and history are encoded (`batch`), retiring the mirror it
/// succeeds. `None` when the history has nothing this target shows.
fn finish_open(
    state: &mut SessionState,
    begun: Begun,
    batch: Option<Batch>,
    shared: &Shared,
) -> Result<Option<Batch>, String> {
    let Shared {
        history,
        config,
        now,
        journal_bytes,
    } = *shared;
    let Some(batch) = batch else {
        begun.give_back(state);
        return Ok(None);
    };
    if let Err(e) = store::side::write(&begun.opening.side_files) {
        let target = begun.target;
        begun.give_back(state);
        return Err(format!("cannot register the {target} mirror: {e}"));
    }
    let Begun {
        target,
        encoder,
        opening,
        parent,
        lineage,
    } = begun;
    let now_text = encode::rfc3339(now);
    let mut losses = Default::default();
    count_losses(&mut losses, encoder, history, config);
    let successor = opening.id.clone();
    state.mirrors.insert(
        target.to_owned(),
        Mirror {
            id: opening.id,
            path: opening.path,
            kind: opening.kind,
            writer_lock: opening.writer_lock,
            created_at: now_text.clone(),
            last_sync: now_text,
            records: 0,
            lineage,
            pending: None,
            cursor: opening.cursor,
            index: opening.index,
            benign: opening.benign,
            indexed_at: None,
            index_stamp: None,
            tail: None,
            losses,
        },
    );
    if let Some((parent, reason)) = parent {
        state.retired.push(Retired {
            target: target.to_owned(),
            id: parent.id,
            path: parent.path,
            reason,
            retired_at: encode::rfc3339(now),
            successor,
            written: Some(store::state::Written {
                bytes: parent.lineage.bytes,
                journal_bytes,
            }),
        });
    }
    Ok(Some(batch))
}

fn count_losses(
    losses: &mut std::collections::BTreeMap<String, u64>,
    encoder: &dyn Encoder,
    records: &[Record],
    config: &Config,
) {
    for lost in encode::losses(encoder, records, config.max_output_bytes) {
        *losses.entry(lost.to_owned()).or_default() += 1;
    }
}

/// Lists new mirrors in their agent's index at once, and bumps growing ones now and then, or
/// as soon as another session of the project is listed as more recent. Returns whether the
/// state changed.
fn refresh_indexes(
    state: &mut SessionState,
    now: chrono::DateTime<chrono::Utc>,
    problems: &mut Vec<String>,
) -> bool {
    let mut changed = false;
    let title = state.listed_title();
    for (target, mirror) in &mut state.mirrors {
        let Some(index) = &mirror.index else {
            continue;
        };
        let grown = mirror
            .indexed_at
            .as_deref()
            .is_none_or(|at| mirror.last_sync.as_str() > at);
        if !grown || mirror.pending.is_some() {
            continue;
        }
        let entry = store::index::Entry {
            id: &mirror.id,
            path: &mirror.path,
            cwd: &state.cwd,
            title: &title,
            created_at: parse_time(&mirror.created_at).unwrap_or(now),
            now,
        };
        let periodic = mirror.indexed_at.as_deref().is_none_or(|at| {
            parse_time(at).is_none_or(|at| (now - at).to_std().unwrap_or_default() >= INDEX_REFRESH)
        });
        // Between refreshes the user may have worked in the agent itself: its session then
        // lists as the most recent although the mirror is newer. Unless the index's files
        // changed since we last looked (two `stat`s), no other session can have moved.
        let due = periodic || {
            let moved = store::index::stamp(index)
                .is_some_and(|stamp| mirror.index_stamp.as_ref() != Some(&stamp));
            moved && {
                changed = true;
                let outranked = store::index::outranked(index, &entry).unwrap_or_else(|err| {
                    problems.push(format!("{target} index: {err}"));
                    false
                });
                // Taken after our own connection closed, which may have checkpointed the log.
                mirror.index_stamp = store::index::stamp(index);
                outranked
            }
        };
        if !due {
            continue;
        }
        match store::index::refresh(index, &entry) {
            Ok(_) => {
                mirror.indexed_at = Some(encode::rfc3339(now));
                mirror.index_stamp = store::index::stamp(index);
                changed = true;
            }
            Err(err) => problems.push(format!("{target} index: {err}")),
        }
    }
    changed
}

fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}
