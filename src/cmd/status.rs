//! `session-sync status`: this project's sessions and how to continue each in every agent.

use super::{Error, Result, current_dir, data_dir, print_json, resume_command, session_json, when};
use crate::config;
use crate::store::listing::{self, Filter, Listed};
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
    let Some(located) = config::locate(&cwd, Some(&data_dir))? else {
        return handed_over_only(&data_dir, &cwd, args.json);
    };
    let root = located.project.clone().unwrap_or_else(|| cwd.clone());
    let filter = match &located.project {
        Some(project) => Filter::Project(project),
        None => Filter::Under(&cwd),
    };
    let sessions = listing::sessions(&data_dir, filter);

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
    let mut text = String::new();
    for state in &sessions {
        text.push('\n');
        write_session(&mut text, state);
    }
    print!("{text}");
    Ok(())
}

/// Where live mirroring is not set up: the sessions handed over (`mirror --from`, `import`)
/// for this directory, if any.
fn handed_over_only(data_dir: &std::path::Path, cwd: &std::path::Path, as_json: bool) -> Result {
    let sessions: Vec<Listed> = listing::sessions(data_dir, Filter::Under(cwd))
        .into_iter()
        .filter(|s| s.source.is_some())
        .collect();
    if sessions.is_empty() {
        return Err(Error::new(format!(
            "session-sync is not set up for {}; run `session-sync init` here",
            cwd.display()
        )));
    }
    if as_json {
        print_json(&json!({
            "project": cwd,
            "config": null,
            "paused": false,
            "targets": [],
            "sessions": sessions.iter().map(session_json).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!(
        "{}: no live mirroring (`session-sync init` sets it up); sessions handed over here:",
        cwd.display()
    );
    let mut text = String::new();
    for state in &sessions {
        text.push('\n');
        write_session(&mut text, state);
    }
    print!("{text}");
    Ok(())
}

/// A session's lines, into `out`: the listings print thousands of them in a few writes.
pub fn write_session(out: &mut String, state: &Listed) {
    use std::fmt::Write;
    // The session's key, or the other agent's session a hand-off comes from.
    let _ = match &state.source {
        Some(source) => write!(out, "{} {}  ", source.agent, source.id),
        None => write!(out, "{}  ", state.key),
    };
    if let Some(title) = &state.title {
        let _ = write!(out, "\"{title}\"");
    }
    out.push('\n');
    let _ = writeln!(out, "  last sync {}", when(&state.last_sync));
    if let Some(source) = state.source.as_ref().filter(|s| !s.dropped.is_empty()) {
        let _ = writeln!(
            out,
            "  {:<11} read without {}",
            "",
            counted(&source.dropped)
        );
    }
    for (target, mirror) in &state.mirrors {
        let _ = writeln!(
            out,
            "  {target:<11} {:<52} {}",
            resume_command(target, &mirror.id, &mirror.path),
            super::count(mirror.records as usize, "record")
        );
        if !mirror.losses.is_empty() {
            let _ = writeln!(out, "  {:<11} lost: {}", "", counted(&mirror.losses));
        }
    }
    for old in &state.retired {
        let next = match state.live_successor(old) {
            Some(live) => format!("the live mirror is {live}"),
            None => format!("replaced by {}", old.successor),
        };
        let _ = writeln!(
            out,
            "  {:<11} {:<52} {}; {next}",
            old.target,
            resume_command(&old.target, &old.id, &old.path),
            old.reason,
        );
    }
    // An imported session's source is on another machine: its copies are listed above.
    if state.source.as_ref().is_none_or(|s| !s.imported) {
        let (agent, id) = state.source();
        let _ = writeln!(
            out,
            "  {agent:<11} {}",
            resume_command(agent, id, &state.transcript)
        );
    }
}

/// `12 Bash descriptions dropped (…), 3 thinking blocks not carried`
pub fn counted(counts: &std::collections::BTreeMap<String, u64>) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    for (what, n) in counts {
        if !text.is_empty() {
            text.push_str(", ");
        }
        let _ = write!(text, "{n} {what}");
    }
    text
}
