//! `session-sync archive [REPO]`: every agent's sessions into a git repository as Markdown.

use super::{Error, Result, current_dir, data_dir};
use crate::archive::{self, Options};
use crate::{agents, paths};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The archive repository (created on the first run); default: `archive.repo` in the
    /// global configuration
    repo: Option<PathBuf>,
    /// Only this agent's sessions
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(agents::names(agents::readable())))]
    agent: Option<String>,
    /// Only sessions active since this date (YYYY-MM-DD, or an RFC 3339 time)
    #[arg(long, value_parser = parse_since)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Commit what this run wrote (one commit listing the sessions added and updated)
    #[arg(long)]
    commit: bool,
    /// Commit, then push to the repository's remote
    #[arg(long)]
    push: bool,
    /// Show the model's thinking (folded)
    #[arg(long)]
    thinking: bool,
    /// Keep secrets as they are (redaction is on by default)
    #[arg(long)]
    no_redact: bool,
}

fn parse_since(text: &str) -> std::result::Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        .map_err(|_| "expected a date (2026-01-31) or an RFC 3339 time".to_owned())
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    let global = paths::global_config(&data_dir);
    let settings = archive::settings(&data_dir)?;
    let repo = match args.repo.or(settings.repo) {
        Some(repo) if repo.is_absolute() => repo,
        Some(repo) => current_dir()?.join(repo),
        None => {
            return Err(Error::new(format!(
                "no archive repository: pass REPO, or set \"archive\": {{\"repo\": PATH}} in {}",
                global.display()
            )));
        }
    };
    let home = paths::home_dir();
    let options = Options {
        repo,
        agent: args.agent,
        since: args.since,
        commit: args.commit,
        push: args.push,
        thinking: args.thinking,
        redact: !args.no_redact,
        keywords: settings.keywords,
        data_dir,
        user: user(home.as_deref()),
        host: host(),
        home,
    };
    let report = archive::run(&options).map_err(Error::new)?;
    for warning in &report.warnings {
        eprintln!("session-sync: warning: {warning}");
    }
    let mut line = format!(
        "Archived into {}: {} added, {} updated, {} unchanged",
        options.repo.display(),
        report.added.len(),
        report.updated.len(),
        report.unchanged
    );
    if report.skipped > 0 {
        line.push_str(&format!(
            ", {} skipped ({})",
            report.skipped,
            archive::SKIP_MARKER
        ));
    }
    if report.committed {
        line.push_str("; committed");
    }
    if let Some(remote) = &report.pushed {
        line.push_str(&format!("; pushed to {remote}"));
    }
    println!("{line}.");
    Ok(())
}

/// The user the archive files sessions under: `$USER`, else the home folder's name.
fn user(home: Option<&std::path::Path>) -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| home?.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "user".to_owned())
}

/// This machine's name without its domain (`laptop.local` is `laptop`).
fn host() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname(2) writes at most `len` bytes into the buffer we own.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let name = if ok {
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    } else {
        String::new()
    };
    let short = name.split('.').next().unwrap_or("").trim().to_owned();
    if short.is_empty() {
        "localhost".to_owned()
    } else {
        short
    }
}
