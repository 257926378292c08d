//! New records out to every enabled target: the journal, each target's encoder, then the
//! store. Opens a mirror with the full history when a target has none yet, and forks a
//! mirror the user continued in its agent. The hook and `mirror` both come through here.

use crate::config::Config;
use crate::encode::{self, Encoder, SessionFacts};
use crate::model::Record;
use crate::store::{self, Batch, Lineage, Mirror, Retired, SessionFiles, SessionState};
use std::time::Duration;

/// How often a mirror's listing entry is bumped while it grows (it is written at once when
/// the mirror opens). Agents sort "most recent" by it; a minute is precise enough.
const INDEX_REFRESH: Duration = Duration::from_secs(60);

/// Writes `records` (already consumed from the transcript) to the journal and every enabled
/// target; database writes too unless `now_kinds` leaves them for a write-behind process.
/// `diverged` are mirrors already found continued in their agent (to fork). Returns the
/// problems met (the state is saved regardless), or an error when the state itself could
/// not be saved.
pub fn write(
    files: &SessionFiles,
    state: &mut SessionState,
    config: &Config,
    records: &[Record],
    now: chrono::DateTime<chrono::Utc>,
    now_kinds: store::Kinds,
    diverged: Vec<(String, String)>,
) -> Result<Vec<String>, String> {
    let now_text = encode::rfc3339(now);
    let mut problems = Vec::new();
    let journal_before = state.records_bytes;
    state.records_bytes = store::records::append(&files.records, state.records_bytes, records)
        .map_err(|e| format!("cannot append to {}: {e}", files.records.display()))?;

    let encoders = encode::enabled(config, state.excluded_target());
    let mut batches = Vec::new();
    for (target, encoder) in &encoders {
        let batch = match state.mirrors.get_mut(*target) {
            Some(mirror) => {
                let mut lines = Vec::new();
                let count = encoder.encode(records, &mut mirror.cursor, &mut lines);
                count_losses(&mut mirror.losses, encoder.as_ref(), records, config);
                Batch {
                    target: target.to_string(),
                    lines,
                    records: count,
                }
            }
            // A live session opens a new target's mirror at its next new records (an idle
            // hook must not read the whole journal); a hand-off opens it at once.
            None if records.is_empty() && state.source.is_none() => continue,
            None => match open(files, state, target, encoder.as_ref(), config, now, None) {
                Ok(Some(batch)) => batch,
                Ok(None) => continue,
                Err(problem) => {
                    problems.push(problem);
                    continue;
                }
            },
        };
        if !batch.lines.is_empty() {
            batches.push(batch);
        }
    }
    let mut flushed = store::commit(files, state, batches, &now_text, now_kinds)
        .map_err(|e| format!("cannot save state {}: {e}", files.state.display()))?;
    for found in diverged {
        if !flushed.diverged.contains(&found) && state.mirrors.contains_key(&found.0) {
            flushed.diverged.push(found);
        }
    }

    // A mirror the user continued in its agent is never appended to: a fork carries the
    // whole history on, live, and the old one is kept for `status`.
    if !flushed.diverged.is_empty() {
        let mut forks = Vec::new();
        for (target, reason) in std::mem::take(&mut flushed.diverged) {
            let Some((_, encoder)) = encoders.iter().find(|(t, _)| *t == target) else {
                continue;
            };
            let parent = state.mirrors.remove(&target);
            match open(
                files,
                state,
                &target,
                encoder.as_ref(),
                config,
                now,
                parent.as_ref(),
            ) {
                Ok(Some(batch)) => {
                    if let Some(parent) = parent {
                        let successor = state.mirrors[&target].id.clone();
                        state.retired.push(Retired {
                            target: target.clone(),
                            id: parent.id,
                            path: parent.path,
                            reason,
                            retired_at: now_text.clone(),
                            successor,
                            written: Some(store::state::Written {
                                bytes: parent.lineage.bytes,
                                journal_bytes: journal_before,
                            }),
                        });
                    }
                    forks.push(batch);
                }
                Ok(None) => {}
                Err(problem) => {
                    problems.push(problem);
                    if let Some(parent) = parent {
                        state.mirrors.insert(target, parent);
                    }
                }
            }
        }
        flushed = store::commit(files, state, forks, &now_text, now_kinds)
            .map_err(|e| format!("cannot save state {}: {e}", files.state.display()))?;
    }
    let completed = flushed.completed_database;
    problems.extend(flushed.problems);
    problems.extend(
        flushed
            .diverged
            .into_iter()
            .map(|(target, reason)| format!("{target} mirror {reason}; not appending")),
    );
    // Saved again once database writes are done, so that the next hook need not verify them
    // by writing them again (file writes it verifies by their size).
    if refresh_indexes(state, now, &mut problems) || completed {
        store::save_state(files, state)
            .map_err(|e| format!("cannot save state {}: {e}", files.state.display()))?;
    }
    Ok(problems)
}

/// A new mirror for `target` carrying the whole journal. `None` when the history has
/// nothing this target shows.
fn open(
    files: &SessionFiles,
    state: &mut SessionState,
    target: &str,
    encoder: &dyn Encoder,
    config: &Config,
    now: chrono::DateTime<chrono::Utc>,
    parent: Option<&Mirror>,
) -> Result<Option<Batch>, String> {
    let history = store::records::read(&files.records, state.records_bytes)
        .map_err(|e| format!("cannot read {}: {e}", files.records.display()))?;
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
    let opening = match encoder.open(&facts) {
        Ok(opening) => opening,
        // The agent's store is not there yet (OpenCode before its first start): the mirror
        // opens, with the whole history, once it is; `init` and `doctor` say so meanwhile.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot open the {target} mirror: {err}")),
    };
    let mut cursor = opening.cursor;
    let mut lines = Vec::new();
    let count = encoder.encode(&history, &mut cursor, &mut lines);
    if lines.is_empty() {
        return Ok(None);
    }
    store::side::write(&opening.side_files)
        .map_err(|e| format!("cannot register the {target} mirror: {e}"))?;
    lines.splice(0..0, opening.header);
    let mut lineage = Lineage::new(&state.claude_session_id);
    lineage.parent = parent.map(|p| store::ForkPoint {
        id: p.id.clone(),
        lines: p.lineage.lines,
        bytes: p.lineage.bytes,
        chain: p.lineage.chain.clone(),
    });
    let now_text = encode::rfc3339(now);
    let mut losses = Default::default();
    count_losses(&mut losses, encoder, &history, config);
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
            cursor,
            index: opening.index,
            benign: opening.benign,
            indexed_at: None,
            index_stamp: None,
            tail: None,
            losses,
        },
    );
    Ok(Some(Batch {
        target: target.to_owned(),
        lines,
        records: count,
    }))
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
