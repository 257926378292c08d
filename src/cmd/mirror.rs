//! `session-sync mirror`: backfills an existing Claude Code session into the target agents,
//! through the hook's own catch-up. Running it again adds nothing; the hook continues the
//! same mirrors later.

use super::{Error, Result, current_dir, data_dir, resume_command};
use crate::config::{self, Config, Located, TargetConfig};
use crate::{agents, claude, encode, hook, paths, store};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// A Claude Code session id, or the path of its transcript (`.jsonl`)
    #[arg(value_name = "SESSION")]
    session: Option<String>,
    /// The most recent Claude Code session of this directory (the default)
    #[arg(long, conflicts_with = "session")]
    last: bool,
    /// Mirror into these targets only, e.g. `--to codex,gemini`
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(encode::TARGETS))]
    to: Vec<String>,
}

/// A Claude Code session on disk.
pub struct Found {
    pub id: String,
    pub transcript: PathBuf,
    pub cwd: PathBuf,
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    let here = current_dir()?;
    let found = find_session(args.session.as_deref(), &here)?;
    let mut located = located_for(&found.cwd, &data_dir)?;
    if !args.to.is_empty() {
        let config = &mut located.config;
        for (name, target) in config.targets.iter_mut() {
            target.enabled = args.to.contains(name);
        }
        for name in &args.to {
            config
                .targets
                .entry(name.clone())
                .or_insert_with(|| TargetConfig::new(true));
        }
    }
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
    let problems = hook::backfill(
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
    for (target, mirror) in &after.mirrors {
        let old = before
            .as_ref()
            .and_then(|b| b.mirrors.get(target))
            .filter(|m| m.id == mirror.id)
            .map_or(0, |m| m.records);
        let added = mirror.records.saturating_sub(old);
        let news = if added == 0 {
            "up to date".to_owned()
        } else {
            format!("{added} records added")
        };
        println!(
            "  {target:<11} {:<52} {news}",
            resume_command(target, &mirror.id, &mirror.path)
        );
    }
    for warning in warnings {
        println!("  note: {warning}");
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::new(problems.join("; ")))
    }
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
            if !hook::is_safe_id(id) {
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
    let (id, cwd) = session_facts(&transcript).ok_or_else(|| {
        Error::new(format!(
            "{} is not a Claude Code transcript (no sessionId and cwd)",
            transcript.display()
        ))
    })?;
    Ok(Found {
        id,
        transcript,
        cwd,
    })
}

/// The newest transcript in `folder` of a session that ran in `cwd`, with its time.
fn newest_transcript(folder: &Path, cwd: &Path) -> Option<(std::time::SystemTime, PathBuf)> {
    std::fs::read_dir(folder)
        .ok()?
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "jsonl"))
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .filter(|(_, path)| session_facts(path).is_some_and(|(_, c)| c == cwd))
        .max()
}

/// The session id and working directory a transcript records (in its first lines).
fn session_facts(transcript: &Path) -> Option<(String, PathBuf)> {
    let head = store::fs::read_range(transcript, 0, 256 * 1024).ok()?;
    String::from_utf8_lossy(&head).lines().find_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let id = value["sessionId"].as_str()?;
        let cwd = value["cwd"].as_str()?;
        Some((id.to_owned(), PathBuf::from(cwd)))
    })
}

/// The configuration the hook would use for `cwd`; without one, the agents found here.
fn located_for(cwd: &Path, data_dir: &Path) -> Result<Located> {
    if let Some(located) = config::locate(cwd, Some(data_dir))? {
        return Ok(located);
    }
    let found: Vec<&str> = agents::AGENTS
        .iter()
        .filter(|a| agents::find(a).is_some())
        .map(|a| a.target)
        .collect();
    Ok(Located {
        config: Config::new(encode::TARGETS, &found),
        path: paths::global_config(data_dir),
        project: None,
        globally_paused: false,
    })
}
