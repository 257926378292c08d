//! User commands. Each prints one-line errors that say what to do (exit 1); clap handles
//! usage errors (exit 2). Commands read freely but write only through `store`.

mod archive;
mod clean;
mod doctor;
mod export;
mod import;
mod init;
mod journal;
mod list;
mod mirror;
mod pause;
mod resume;
mod rollback;
mod sessions;
mod status;
mod uninstall;

use crate::config::{self, Located};
use crate::paths;
use crate::store::{self, listing::Listed};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "session-sync",
    version,
    about = "Move coding-agent sessions between agents and machines: Claude Code mirrored live into every other agent, any agent's session handed to any other, packages and a git archive to carry them.",
    after_help = "Claude Code runs `session-sync hook` itself once `session-sync init` registered it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register the hook in this project's .claude/settings.json and pick the target agents
    Init(init::Args),
    /// Show this project's mirrored sessions and the command that continues each in every agent
    Status(status::Args),
    /// List the most recently synced sessions of every project (--all: every one)
    List(list::Args),
    /// Stop mirroring (the hook stays registered and does nothing)
    Pause(pause::Args),
    /// Mirror again after `pause`
    Resume(resume::Args),
    /// Mirror an existing session of any agent into others (backfill); safe to run again
    Mirror(mirror::Args),
    /// Keep every agent's sessions as Markdown in a git repository (history archive)
    Archive(archive::Args),
    /// List every installed agent's own sessions for this directory
    Sessions(sessions::Args),
    /// Pack sessions of any agents into a package for another machine
    Export(export::Args),
    /// Show what importing a package would do; writes nothing
    Inspect(import::PackageArgs),
    /// Bring a package's sessions into this machine's agents
    Import(import::Args),
    /// Undo an import exactly
    Rollback(rollback::Args),
    /// List the imports of this machine
    Journal(journal::Args),
    /// Remove mirrors not synced for a while, and their state
    Clean(clean::Args),
    /// Check the installation: hook, configuration, target stores, agent versions, hook log
    Doctor(doctor::Args),
    /// Take the hook out of the Claude Code settings and remove the configuration
    Uninstall(uninstall::Args),
}

/// A command failure: printed as one line, exit status 1 (2 for a usage error).
#[derive(Debug)]
pub struct Error {
    message: String,
    usage: bool,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            usage: false,
        }
    }

    /// Arguments that contradict each other, as clap's own usage errors.
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            usage: true,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<crate::config::ConfigError> for Error {
    fn from(err: crate::config::ConfigError) -> Self {
        Error::new(format!("{err}; fix or delete that file"))
    }
}

pub type Result<T = ()> = std::result::Result<T, Error>;

pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(args) => init::run(args),
        Command::Status(args) => status::run(args),
        Command::List(args) => list::run(args),
        Command::Pause(args) => pause::run(args),
        Command::Resume(args) => resume::run(args),
        Command::Mirror(args) => mirror::run(args),
        Command::Archive(args) => archive::run(args),
        Command::Sessions(args) => sessions::run(args),
        Command::Export(args) => export::run(args),
        Command::Inspect(args) => import::inspect(args),
        Command::Import(args) => import::run(args),
        Command::Rollback(args) => rollback::run(args),
        Command::Journal(args) => journal::run(args),
        Command::Clean(args) => clean::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Uninstall(args) => uninstall::run(args),
    };
    match result {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("session-sync: {err}");
            if err.usage { 2 } else { 1 }
        }
    }
}

fn data_dir() -> Result<std::path::PathBuf> {
    crate::paths::data_dir().ok_or_else(|| {
        Error::new("cannot find a home directory; set HOME or SESSION_SYNC_DATA_DIR")
    })
}

fn current_dir() -> Result<std::path::PathBuf> {
    std::env::current_dir()
        .map_err(|e| Error::new(format!("cannot read the current directory: {e}")))
}

/// The directory `init` was run in: the nearest one at or above `dir` holding a project
/// configuration, else `dir` itself. An error if a file there we use is a symbolic link.
fn project_root(dir: &Path) -> Result<PathBuf> {
    let root = config::project_of(dir)?.unwrap_or_else(|| dir.to_owned());
    config::refuse_links(&root)?;
    Ok(root)
}

/// A Claude Code settings file `init` registers the hook in, and the flag that chooses it.
struct SettingsFile {
    path: PathBuf,
    flag: &'static str,
}

/// The settings files `init` writes to for `project`: `.claude/settings.json`,
/// `.claude/settings.local.json` (`--local`), and the user's (`--global`) when there is a home.
fn settings_files(project: &Path) -> Vec<SettingsFile> {
    let claude = project.join(".claude");
    let mut files = vec![
        SettingsFile {
            path: claude.join("settings.json"),
            flag: "",
        },
        SettingsFile {
            path: claude.join("settings.local.json"),
            flag: " --local",
        },
    ];
    if let Some(dir) = paths::claude_config_dir() {
        files.push(SettingsFile {
            path: dir.join("settings.json"),
            flag: " --global",
        });
    }
    files
}

/// A settings file's text and JSON (an empty file reads as `{}`); `None` when there is no
/// file. The error says what is wrong with it.
fn read_settings(path: &Path) -> std::result::Result<Option<(String, Value)>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if text.trim().is_empty() {
        return Ok(Some((text, json!({}))));
    }
    match serde_json::from_str(&text) {
        Ok(value) => Ok(Some((text, value))),
        Err(e) => Err(format!("{} is not valid JSON ({e})", path.display())),
    }
}

/// Sets `paused` in the configuration that applies here (or the global one), keeping every
/// other key as the user wrote it. Returns the file changed.
fn set_paused(global: bool, paused: bool) -> Result<PathBuf> {
    let data_dir = data_dir()?;
    let path = if global {
        paths::global_config(&data_dir)
    } else {
        match config::locate(&current_dir()?, Some(&data_dir))? {
            Some(Located {
                project: Some(project),
                path,
                ..
            }) => {
                config::refuse_links(&project)?;
                path
            }
            Some(located) => located.path,
            None => {
                return Err(Error::new(
                    "session-sync is not set up here; run `session-sync init` first",
                ));
            }
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && global => "{}".to_owned(),
        Err(e) => return Err(Error::new(format!("cannot read {}: {e}", path.display()))),
    };
    let mut value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::new(format!(
            "{} is not valid JSON ({e}); fix or delete it",
            path.display()
        ))
    })?;
    let object = value.as_object_mut().ok_or_else(|| {
        Error::new(format!(
            "{} is not a JSON object; fix or delete it",
            path.display()
        ))
    })?;
    object.insert("paused".into(), serde_json::Value::Bool(paused));
    store::write_json(&path, &value, None)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// `1 thing`, `2 things`.
fn count(n: usize, thing: &str) -> String {
    match n {
        1 => format!("1 {thing}"),
        n => format!("{n} {thing}s"),
    }
}

/// How to continue a mirror in its agent (from the session's project directory).
pub fn resume_command(target: &str, id: &str, path: &std::path::Path) -> String {
    crate::agents::resume_command(target, id, path)
}

/// What `init` and `status` say when Amp is installed.
pub const AMP_NOTE: &str = "Amp keeps threads on its servers, so no local mirror can be resumed there; hand a session over with `amp threads import claude <session-id>`";

/// A session as `status --json` and `list --json` show it.
fn session_json(state: &Listed) -> Value {
    let mirrors: Vec<Value> = state
        .mirrors
        .iter()
        .map(|(target, mirror)| {
            json!({
                "target": target,
                "id": mirror.id,
                "path": mirror.path,
                "records": mirror.records,
                "last_sync": mirror.last_sync,
                "resume": resume_command(target, &mirror.id, &mirror.path),
                "losses": mirror.losses,
            })
        })
        .collect();
    let retired: Vec<Value> = state
        .retired
        .iter()
        .map(|old| {
            json!({
                "target": old.target,
                "id": old.id,
                "path": old.path,
                "reason": old.reason,
                "retired_at": old.retired_at,
                "successor": old.successor,
                "live": state.live_successor(old),
                "resume": resume_command(&old.target, &old.id, &old.path),
            })
        })
        .collect();
    let (source_agent, source_id) = state.source();
    json!({
        "source": {
            "agent": source_agent,
            "id": source_id,
            "resume": resume_command(source_agent, source_id, &state.transcript),
            "dropped": state.source.as_ref().map(|s| &s.dropped),
        },
        "claude_session_id": state.source.is_none().then_some(&state.key),
        "first_prompt": state.title,
        "project": state.project,
        "cwd": state.cwd,
        "created_at": state.created_at,
        "last_sync": state.last_sync,
        "claude_resume": state
            .source
            .is_none()
            .then(|| format!("claude --resume {}", state.key)),
        "mirrors": mirrors,
        "continued_elsewhere": retired,
    })
}

/// `2026-11-21 10:55` (local time) and how long ago.
fn when(rfc3339: &str) -> String {
    let Ok(time) = chrono::DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let local = time.with_timezone(&chrono::Local);
    let seconds = (chrono::Utc::now() - time.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    let ago = match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86400),
    };
    format!("{} ({ago})", local.format("%Y-%m-%d %H:%M"))
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
