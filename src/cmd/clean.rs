//! `session-sync clean --older-than <N>d`: removes mirrors not synced for a while, and their
//! state. Only files our state records, only while they hold exactly what we wrote: a session
//! the user continued in the agent, or a file someone else changed, is kept and said so.

use super::{Result, data_dir, when};
use crate::store::inspect::{self, MirrorFile};
use crate::store::{self, LockGuard, Mirror, SessionFiles, SessionState};
use chrono::{DateTime, TimeDelta, Utc};
use std::path::Path;
use std::time::Duration;

/// A hook holds a session's lock for milliseconds; longer means it is busy, try later.
const LOCK_WAIT: Duration = Duration::from_secs(2);

#[derive(clap::Args)]
pub struct Args {
    /// Remove mirrors last synced longer ago than this: days (30d) or hours (12h)
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    older_than: TimeDelta,
    /// List what would be removed; remove nothing
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    let now = Utc::now();
    // An age beyond the calendar's start: nothing is that old.
    let cutoff = now
        .checked_sub_signed(args.older_than)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let sweep = Sweep {
        cutoff: Some(cutoff),
        dry_run: args.dry_run,
        remove_state: true,
    };
    let (mut sessions, mut removed, mut kept) = (0, 0, 0);
    for state in store::all_sessions(&data_dir) {
        if !sweep.is_due(&state) {
            continue;
        }
        let title = state
            .title
            .as_deref()
            .map(|t| format!("  \"{t}\""))
            .unwrap_or_default();
        let Some(swept) = sweep.session(&data_dir, &state.claude_session_id) else {
            continue;
        };
        sessions += 1;
        println!(
            "{}{title}  last sync {}",
            state.claude_session_id,
            when(&state.last_sync)
        );
        for (target, mirror, outcome) in &swept.mirrors {
            let path = mirror.path.display();
            match outcome {
                Outcome::Removed if args.dry_run => {
                    println!("  would remove {target} mirror {path}")
                }
                Outcome::Removed => println!("  removed {target} mirror {path}"),
                Outcome::Gone => println!("  {target} mirror {path} was already gone"),
                Outcome::Kept(why) => println!("  kept {target} mirror {path}: {why}"),
            }
            match outcome {
                Outcome::Removed => removed += 1,
                Outcome::Kept(_) => kept += 1,
                Outcome::Gone => {}
            }
        }
        println!(
            "  {}",
            match (swept.state_removed, args.dry_run) {
                (Err(why), _) => format!("kept its state: {why}"),
                (Ok(()), true) => "would remove its state".into(),
                (Ok(()), false) => "removed its state".into(),
            }
        );
    }
    let age = describe_age(args.older_than);
    match (sessions, args.dry_run) {
        (0, _) => println!("No session last synced more than {age} ago."),
        (_, true) => println!(
            "Would remove {removed} mirror(s), keep {kept}; nothing was changed (--dry-run)."
        ),
        (_, false) => println!("Removed {removed} mirror(s); kept {kept}."),
    }
    Ok(())
}

/// What became of one mirror file.
pub(super) enum Outcome {
    /// Removed (or, in a dry run, would be).
    Removed,
    /// Nothing was at its path any more.
    Gone,
    /// Kept, for this reason.
    Kept(String),
}

/// One session's mirrors after a sweep, and whether its state went (or why not).
pub(super) struct Swept {
    pub mirrors: Vec<(String, Mirror, Outcome)>,
    pub state_removed: std::result::Result<(), String>,
}

/// Removing sessions' mirror files, under each session's lock.
pub(super) struct Sweep {
    /// Only sessions last synced before this; every session when `None`.
    pub cutoff: Option<DateTime<Utc>>,
    pub dry_run: bool,
    /// Also remove a session's state once none of its mirrors is left.
    pub remove_state: bool,
}

impl Sweep {
    fn is_due(&self, state: &SessionState) -> bool {
        // A session's last sync is that of its most recently synced mirror, or later.
        self.cutoff.is_none_or(|cutoff| {
            DateTime::parse_from_rfc3339(&state.last_sync)
                .is_ok_and(|time| time.with_timezone(&Utc) < cutoff)
        })
    }

    /// Sweeps one session: `None` when it is not due (any more), or gone.
    pub fn session(&self, data_dir: &Path, session_id: &str) -> Option<Swept> {
        // The id becomes a path: only the plain ids the hook itself creates.
        if !crate::pipeline::is_safe_id(session_id) {
            return None;
        }
        let files = SessionFiles::new(data_dir, session_id);
        if !files.state.exists() {
            return None;
        }
        // A hook of this session may be running: wait for it, then decide on the state it
        // left. A dry run changes nothing, so it does not need the lock.
        let lock = if self.dry_run {
            None
        } else {
            match lock_session(&files) {
                Ok(lock) => Some(lock),
                Err(why) => {
                    return Some(Swept {
                        mirrors: Vec::new(),
                        state_removed: Err(why),
                    });
                }
            }
        };
        let state = store::load_state(&files.state).ok().flatten()?;
        if !self.is_due(&state) {
            return None;
        }
        let mirrors: Vec<(String, Mirror, Outcome)> = state
            .mirrors
            .into_iter()
            .map(|(target, mirror)| {
                let outcome = sweep_mirror(&target, &mirror, self.dry_run);
                (target, mirror, outcome)
            })
            .collect();
        let state_removed = if mirrors
            .iter()
            .any(|(_, _, o)| matches!(o, Outcome::Kept(_)))
        {
            Err("a mirror was kept".into())
        } else if let Some(lock) = lock.as_ref().filter(|_| self.remove_state) {
            store::remove::session(data_dir, session_id, lock)
                .map(|_| ())
                .map_err(|e| format!("cannot remove it: {e}"))
        } else {
            Ok(())
        };
        Some(Swept {
            mirrors,
            state_removed,
        })
    }
}

/// Waits for a session's hook to finish, then keeps the next ones out; why not, if it cannot.
pub(super) fn lock_session(files: &SessionFiles) -> std::result::Result<LockGuard, String> {
    LockGuard::acquire(&files.lock, LOCK_WAIT)
        .map_err(|err| format!("cannot lock it ({err}); try again later"))
}

/// Removes one mirror file if it holds exactly what session-sync wrote.
pub(super) fn sweep_mirror(target: &str, mirror: &Mirror, dry_run: bool) -> Outcome {
    match inspect::mirror(target, mirror) {
        Ok(MirrorFile::Missing) => Outcome::Gone,
        Ok(MirrorFile::Ours) if dry_run => Outcome::Removed,
        Ok(MirrorFile::Ours) => match store::remove::mirror(mirror) {
            Ok(_) => Outcome::Removed,
            Err(err) => Outcome::Kept(format!("cannot remove it: {err}")),
        },
        Ok(MirrorFile::Continued { appended }) => {
            let (unit, last) = match mirror.kind {
                crate::encode::Kind::OpencodeDb => ("messages", "message"),
                crate::encode::Kind::Jsonl => ("bytes", "line"),
            };
            Outcome::Kept(format!(
                "continued in {target} ({appended} {unit} after session-sync's last {last})"
            ))
        }
        Ok(MirrorFile::Changed(why)) => Outcome::Kept(why),
        Ok(MirrorFile::Busy(why)) => Outcome::Kept(format!("{why}; try again later")),
        Err(err) => Outcome::Kept(format!("cannot read it: {err}")),
    }
}

/// `<N>d` (days) or `<N>h` (hours), N a whole number from 1: exactly that, nothing around it.
fn parse_age(text: &str) -> std::result::Result<TimeDelta, String> {
    const EXPECTED: &str = "expected a whole number of days or hours, like 30d or 12h";
    let (digits, hours_each) = if let Some(days) = text.strip_suffix('d') {
        (days, 24)
    } else if let Some(hours) = text.strip_suffix('h') {
        (hours, 1)
    } else {
        return Err(EXPECTED.into());
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EXPECTED.into());
    }
    let number: i64 = digits.parse().map_err(|_| "too large".to_owned())?;
    if number == 0 {
        return Err("must be at least 1 (0 would remove sessions in use)".into());
    }
    number
        .checked_mul(hours_each)
        .and_then(TimeDelta::try_hours)
        .ok_or_else(|| "too large".to_owned())
}

fn describe_age(age: TimeDelta) -> String {
    match age.num_hours() {
        hours if hours % 24 == 0 => format!("{} day(s)", hours / 24),
        hours => format!("{hours} hour(s)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_parsed_strictly() {
        assert_eq!(parse_age("30d"), Ok(TimeDelta::days(30)));
        assert_eq!(parse_age("12h"), Ok(TimeDelta::hours(12)));
        assert_eq!(parse_age("007d"), Ok(TimeDelta::days(7)));
        for bad in [
            "",
            "30",
            "d",
            "0d",
            "-1d",
            "+1d",
            "1.5d",
            " 3d",
            "3d ",
            "3D",
            "3dd",
            "3w",
            "٣d",
            "99999999999999999999d",
        ] {
            assert!(parse_age(bad).is_err(), "{bad:?}");
        }
    }
}
