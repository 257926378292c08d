//! `session-sync status`: this project's sessions and how to continue each in every agent.

use super::{Error, Result, current_dir, data_dir, print_json, resume_command, session_json, when};
use crate::config;
use crate::store::{self, SessionState};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    let cwd = current_dir()?;
    let located = config::locate(&cwd, Some(&data_dir))?.ok_or_else(|| {
        Error::new(format!(
            "session-sync is not set up for {}; run `session-sync init` here",
            cwd.display()
        ))
    })?;
    let root = located.project.clone().unwrap_or_else(|| cwd.clone());
    let sessions: Vec<SessionState> = store::all_sessions(&data_dir)
        .into_iter()
        .filter(|s| match &located.project {
            Some(project) => &s.project == project,
            None => s.cwd.starts_with(&cwd),
        })
        .collect();

    let amp = crate::agents::find(&crate::agents::AMP).map(|_| super::AMP_NOTE);
    if args.json {
        print_json(&json!({
            "amp": amp,
            "project": root,
            "config": located.path,
            "paused": located.paused(),
            "targets": located.config.enabled_targets(),
            "sessions": sessions.iter().map(session_json).collect::<Vec<_>>(),
        }));
        return Ok(());
    }

    let targets = located.config.enabled_targets();
    println!(
        "{}: mirroring to {}",
        root.display(),
        if targets.is_empty() {
            "nothing (no target enabled)".to_owned()
        } else {
            targets.join(", ")
        }
    );
    if located.paused() {
        let how = if located.config.paused {
            "session-sync resume"
        } else {
            "session-sync resume --global"
        };
        println!("PAUSED: nothing is mirrored; run `{how}` to catch up and continue.");
    }
    if let Some(note) = amp {
        println!("amp: {note}");
    }
    if sessions.is_empty() {
        println!(
            "No session mirrored yet: start Claude Code here; the first prompt creates the mirror."
        );
        return Ok(());
    }
    for state in &sessions {
        println!();
        print_session(state);
    }
    Ok(())
}

pub fn print_session(state: &SessionState) {
    println!(
        "{}  {}",
        state.claude_session_id,
        state
            .title
            .as_deref()
            .map(|t| format!("\"{t}\""))
            .unwrap_or_default()
    );
    println!("  last sync {}", when(&state.last_sync));
    for (target, mirror) in &state.mirrors {
        println!(
            "  {target:<11} {:<52} {} records",
            resume_command(target, &mirror.id, &mirror.path),
            mirror.records
        );
    }
    for old in &state.retired {
        let next = match state.live_successor(old) {
            Some(live) => format!("the live mirror is {live}"),
            None => format!("replaced by {}", old.successor),
        };
        println!(
            "  {:<11} {:<52} {}; {next}",
            old.target,
            resume_command(&old.target, &old.id, &old.path),
            old.reason,
        );
    }
    println!(
        "  {:<11} claude --resume {}",
        "claude", state.claude_session_id
    );
}
