//! `session-sync mirror`: backfills an existing Claude Code session into the target agents,
//! through the hook's own catch-up, or (`--from`) hands another agent's session to any
//! others. Running it again adds only what is new; the hook continues Claude's mirrors later.

use super::{Error, Result, current_dir, data_dir, resume_command};
use crate::agents::{self, claude};
use crate::config::{self, Config, Located, TargetConfig};
use crate::{paths, pipeline, store};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// A session id (as `session-sync sessions` lists it), or the path of its file
    #[arg(value_name = "SESSION")]
    session: Option<String>,
    /// The most recent session of the `--from` agent in this directory (the default)
    #[arg(long, conflicts_with = "session")]
    last: bool,
    /// The agent the session comes from
    #[arg(long, default_value = "claude", value_parser = clap::builder::PossibleValuesParser::new(agents::names(agents::readable())))]
    from: String,
    /// Mirror into these agents only, e.g. `--to codex,gemini` (from another agent than
    /// Claude Code, the default is `claude`)
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(agents::names(agents::writable())))]
    to: Vec<String>,
}

/// A Claude Code session on disk.
pub struct Found {
    pub id: String,
    pub transcript: PathBuf,
    pub cwd: PathBuf,
}

pub fn run(args: Args) -> Result {
    if args.from != "claude" {
        return hand_off(args);
    }
    if args.to.iter().any(|t| t == "claude") {
        return Err(Error::usage(
            "a Claude Code session is Claude's already: pick other agents with --to",
        ));
    }
    let data_dir = data_dir()?;
    let here = current_dir()?;
    let found = find_session(args.session.as_deref(), &here)?;
    let mut located = located_for(&found.cwd, &data_dir)?;
    only_targets(&mut located.config, &args.to);
    if located.config.enabled_targets().is_empty() {
        return Err(Error::new(format!(
            "no target enabled in {}; pass --to codex,gemini,… or enable one there",
            located.path.display()
        )));
    }

    let files = store::SessionFiles::new(&data_dir, &found.id);
    let before = store::load_state(&files.state).ok().flatten();
    let bar = std::io::stdout().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut warnings = Vec::new();
    let problems = pipeline::backfill(
        &found.id,
        &found.transcript,
        &found.cwd,
        &data_dir,
        located,
        &mut |read, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(read);
            }
        },
        &mut warnings,
    )
    .map_err(Error::new)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    let after = store::load_state(&files.state)
        .ok()
        .flatten()
        .ok_or_else(|| Error::new(problems.join("; ")))?;
    println!("{} {}", after.claude_session_id, found.transcript.display());
    print_mirrors(before.as_ref(), &after);
    for warning in warnings {
        println!("  note: {warning}");
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::new(problems.join("; ")))
    }
}

/// Each mirror's resume command, what this run added to it, and what it could not carry.
fn print_mirrors(before: Option<&store::SessionState>, after: &store::SessionState) {
    for (target, mirror) in &after.mirrors {
        let old = before
            .and_then(|b| b.mirrors.get(target))
            .filter(|m| m.id == mirror.id)
            .map_or(0, |m| m.records);
        let added = mirror.records.saturating_sub(old);
        let news = if added == 0 {
            "up to date".to_owned()
        } else {
            format!("{} added", super::count(added as usize, "record"))
        };
        println!(
            "  {target:<11} {:<52} {news}",
            resume_command(target, &mirror.id, &mirror.path)
        );
        if !mirror.losses.is_empty() {
            println!(
                "  {:<11} lost: {}",
                "",
                super::status::counted(&mirror.losses)
            );
        }
    }
}

/// Enables exactly `to`, when given.
fn only_targets(config: &mut Config, to: &[String]) {
    if to.is_empty() {
        return;
    }
    for (name, target) in config.targets.iter_mut() {
        target.enabled = to.contains(name);
    }
    for name in to {
        config
            .targets
            .entry(name.clone())
            .or_insert_with(|| TargetConfig::new(true));
    }
}

/// `mirror --from <agent>`: another agent's session, read whole, into the `--to` agents.
fn hand_off(args: Args) -> Result {
    let data_dir = data_dir()?;
    let here = current_dir()?;
    let reader = agents::reader(&args.from)
        .ok_or_else(|| Error::usage(format!("session-sync cannot read {} sessions", args.from)))?;
    let session = find_native(reader, args.session.as_deref(), &here)?;
    if let Some(open) = reader.busy(&session) {
        return Err(Error::new(open));
    }
    let conversation = (reader.read)(&session).map_err(Error::new)?;
    let cwd = session.cwd.clone().unwrap_or_else(|| here.clone());
    let mut located = located_for(&cwd, &data_dir)?;
    let to = if args.to.is_empty() {
        vec!["claude".to_owned()]
    } else {
        args.to.clone()
    };
    if to.contains(&args.from) {
        return Err(Error::usage(format!(
            "the session is a {} session already: pick other agents with --to",
            args.from
        )));
    }
    only_targets(&mut located.config, &to);
    let project = located.project.clone().unwrap_or_else(|| cwd.clone());
    let outcome = crate::handoff::mirror(&conversation, &data_dir, &located.config, project)
        .map_err(Error::new)?;

    println!(
        "{} {} {}",
        session.agent,
        session.id,
        session.path.display()
    );
    if outcome.rewritten {
        println!(
            "  the {} session no longer starts as it did when last mirrored: new mirrors hold it whole (`session-sync status` lists the old ones)",
            session.agent
        );
    }
    if !conversation.dropped.is_empty() {
        println!(
            "  {:<11} read without {}",
            "",
            super::status::counted(&conversation.dropped)
        );
    }
    print_mirrors(outcome.before.as_ref(), &outcome.after);
    // Claude Code, Gemini CLI, Qwen Code and Copilot CLI list sessions by directory.
    println!("  (run the resume commands from {})", cwd.display());
    if outcome.problems.is_empty() {
        Ok(())
    } else {
        Err(Error::new(outcome.problems.join("; ")))
    }
}

/// The session `arg` names (an id or a file path), else the newest one of `here`.
fn find_native(
    reader: &agents::Reader,
    arg: Option<&str>,
    here: &Path,
) -> Result<agents::NativeSession> {
    let agent = reader.agent;
    if let Some(arg) =
        arg.filter(|a| a.contains('/') || a.ends_with(".jsonl") || a.ends_with(".json"))
    {
        let at_path = reader.at_path.ok_or_else(|| {
            Error::new(format!("{agent} sessions are not files: pass a session id (`session-sync sessions --agent {agent}`)"))
        })?;
        let path = here.join(arg);
        if !path.is_file() {
            return Err(Error::new(format!(
                "no {agent} session file at {}",
                path.display()
            )));
        }
        return at_path(&path).map_err(Error::new);
    }
    let sessions = (reader.list)().map_err(Error::new)?;
    match arg {
        Some(id) => sessions.into_iter().find(|s| s.id == id).ok_or_else(|| {
            Error::new(format!(
                "no {agent} session {id}; `session-sync sessions --agent {agent} --all` lists them"
            ))
        }),
        None => sessions
            .into_iter()
            .filter(|s| s.cwd.as_deref().is_some_and(|c| same_dir(c, here)))
            .max_by(|a, b| a.updated_at.cmp(&b.updated_at))
            .ok_or_else(|| {
                Error::new(format!(
                    "no {agent} session for {}; pass a session id (`session-sync sessions --agent {agent} --all` lists them)",
                    here.display()
                ))
            }),
    }
}

/// Equal paths, or the same directory reached through a symlink.
pub fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// The session `arg` names (an id or a transcript path), else the newest one of `here`.
pub fn find_session(arg: Option<&str>, here: &Path) -> Result<Found> {
    let projects = paths::claude_config_dir()
        .ok_or_else(|| Error::new("no home directory: cannot find Claude Code's sessions"))?
        .join("projects");
    let transcript = match arg {
        Some(arg) if arg.ends_with(".jsonl") || arg.contains('/') => {
            let path = here.join(arg);
            if !path.is_file() {
                return Err(Error::new(format!("no transcript at {}", path.display())));
            }
            path
        }
        Some(id) => {
            if !pipeline::is_safe_id(id) {
                return Err(Error::new(format!(
                    "{id:?} is neither a session id nor a transcript path"
                )));
            }
            std::fs::read_dir(&projects)
                .into_iter()
                .flatten()
                .flatten()
                .map(|dir| dir.path().join(format!("{id}.jsonl")))
                .find(|path| path.is_file())
                .ok_or_else(|| {
                    Error::new(format!(
                        "no Claude Code session {id} under {}; pass its transcript path instead",
                        projects.display()
                    ))
                })?
        }
        None => {
            let folder = projects.join(claude::project_folder_name(&here.to_string_lossy()));
            newest_transcript(&folder, here)
                .or_else(|| {
                    // The folder name is derived from the path Claude Code saw, which may be
                    // spelled differently (symlinks): look for the cwd in every project.
                    std::fs::read_dir(&projects)
                        .ok()?
                        .flatten()
                        .filter_map(|dir| newest_transcript(&dir.path(), here))
                        .max()
                })
                .map(|(_, path)| path)
                .ok_or_else(|| {
                Error::new(format!(
                    "no Claude Code session for {} (looked in {}); pass a session id or transcript path",
                    here.display(),
                    folder.display()
                ))
            })?
        }
    };
    let session = claude_session(&transcript).map_err(Error::new)?;
    Ok(Found {
        id: session.id,
        cwd: session.cwd.unwrap_or_default(),
        transcript,
    })
}

/// The newest transcript in `folder` of a session that ran in `cwd`, with its time.
fn newest_transcript(folder: &Path, cwd: &Path) -> Option<(std::time::SystemTime, PathBuf)> {
    std::fs::read_dir(folder)
        .ok()?
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "jsonl"))
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .filter(|(_, path)| claude_session(path).is_ok_and(|s| s.cwd.as_deref() == Some(cwd)))
        .max()
}

/// The Claude Code session a transcript records (its id and cwd are on its first lines).
pub fn claude_session(transcript: &Path) -> std::result::Result<agents::NativeSession, String> {
    let at_path = agents::claude::read::READER
        .at_path
        .expect("Claude Code sessions are files");
    at_path(transcript)
}

/// The configuration the hook would use for `cwd`; without one, the agents found here.
fn located_for(cwd: &Path, data_dir: &Path) -> Result<Located> {
    if let Some(located) = config::locate(cwd, Some(data_dir))? {
        return Ok(located);
    }
    Ok(Located {
        config: Config::new(&agents::names(agents::live_targets()), &agents::found()),
        path: paths::global_config(data_dir),
        project: None,
        globally_paused: false,
    })
}
