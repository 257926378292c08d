//! `session-sync export`: sessions of any agents as a package (`.sspkg`) for another machine,
//! or (`--format openai-chat`) one session as a portable OpenAI-chat JSONL log.

use super::{Error, Result, current_dir, data_dir};
use crate::agents::openai_chat::write::OpenaiChat;
use crate::agents::{self, Conversation, NativeSession};
use crate::encode::{Encoder, Lines, SessionFacts, ToolStyle};
use crate::{config, package, store};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Session ids (as `session-sync sessions` lists them) or session file paths; default:
    /// every session of this directory
    #[arg(value_name = "SESSION")]
    sessions: Vec<String>,
    /// Every session of every directory
    #[arg(long, conflicts_with = "sessions")]
    all: bool,
    /// Only sessions active since this date (`2026-11-30` or RFC 3339)
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only this agent's sessions
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(agents::names(agents::readable())))]
    agent: Option<String>,
    /// Write to this file (a package: required; a chat log: stdout without it)
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Keep secrets as they are (redaction is on by default)
    #[arg(long)]
    no_redact: bool,
    /// `package` (default) or `openai-chat` (one Claude Code session as a chat log)
    #[arg(long, default_value = "package", value_parser = ["package", "openai-chat"])]
    format: String,
}

pub fn run(args: Args) -> Result {
    if args.format == "openai-chat" {
        return openai_chat(&args);
    }
    let output = args.output.clone().ok_or_else(|| {
        Error::usage("a package needs a file: pass -o FILE.sspkg (or --format openai-chat)")
    })?;
    let data_dir = data_dir()?;
    let here = current_dir()?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let states = store::all_sessions(&data_dir);
    let mirrors = super::sessions::mirror_keys(&states);
    // An import's copy in the session's own agent is that session on this machine.
    let imported = crate::import::copies(&states);
    let mut conversations = Vec::new();
    let named = !args.sessions.is_empty();
    // What could not be read: left out (and said) unless it was named.
    let (selected, mut left_out) = selected(&args, &here)?;
    for (reader, session) in selected {
        let key = format!("{}:{}", session.agent, session.id);
        // A mirror is the copy of a session that is exported itself.
        if !named && !imported.contains(&key) && (session.ours || mirrors.contains(&key)) {
            continue;
        }
        if since.as_ref().is_some_and(|since| {
            session
                .updated_at
                .as_deref()
                .is_none_or(|at| at < since.as_str())
        }) {
            continue;
        }
        let conversation: Conversation = match (reader.read)(&session) {
            Ok(conversation) => conversation,
            Err(problem) if !named => {
                left_out.push(problem);
                continue;
            }
            Err(problem) => return Err(Error::new(problem)),
        };
        conversations
            .push(crate::import::as_exported(conversation, &data_dir).map_err(Error::new)?);
    }
    if conversations.is_empty() {
        let scope = if args.all {
            "on this machine".to_owned()
        } else {
            format!("for {}", here.display())
        };
        let hint = match &args.since {
            Some(since) => format!("none was active since {since}; pass an earlier --since"),
            None if args.all => "`session-sync sessions --all` lists them".to_owned(),
            None => "name sessions (`session-sync sessions` lists them) or pass --all".to_owned(),
        };
        return Err(Error::new(format!(
            "no session to export {scope}; {hint}{}",
            not_read(&left_out)
        )));
    }
    let options = package::BuildOptions {
        redact: !args.no_redact,
        home: crate::paths::home_dir(),
        machine_id: store::package::machine_id(&data_dir).map_err(|e| {
            Error::new(format!(
                "cannot keep a machine id in {}: {e}",
                data_dir.display()
            ))
        })?,
    };
    let package = package::build(&conversations, &options);
    let files = package::files(&package);
    store::package::write(&output, &files)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", output.display())))?;

    for session in &package.sessions {
        println!(
            "  {:<9} {}  {} records  \"{}\"",
            session.header.agent,
            session.header.source_id,
            session.header.records,
            session.header.title.as_deref().unwrap_or("")
        );
    }
    let redaction = &package.manifest.redaction;
    let redacted = if !redaction.applied {
        "not redacted (--no-redact)".to_owned()
    } else if redaction.counts.is_empty() {
        "redacted: no secret found".to_owned()
    } else {
        format!("redacted: {}", super::status::counted(&redaction.counts))
    };
    println!(
        "Wrote {} to {} ({redacted}).",
        super::count(package.sessions.len(), "session"),
        output.display()
    );
    for problem in &left_out {
        eprintln!("session-sync: warning: not exported: {problem}");
    }
    if redaction.applied {
        eprintln!(
            "Redaction is a floor, not a guarantee: secrets no rule knows are still in the package."
        );
    }
    Ok(())
}

/// The sessions the arguments name, with their readers; and why an agent's sessions could
/// not be listed, when that matters (they are not all named and found).
type Selected = (Vec<(&'static agents::Reader, NativeSession)>, Vec<String>);

fn selected(args: &Args, here: &Path) -> Result<Selected> {
    let readers: Vec<&'static agents::Reader> = agents::readers()
        .filter(|r| args.agent.as_deref().is_none_or(|a| a == r.agent))
        .collect();
    // One agent's store that cannot be read (a schema of a newer version) keeps no other
    // agent's sessions from going.
    let mut listed = Vec::new();
    let mut unlisted = Vec::new();
    for reader in &readers {
        match (reader.list)() {
            Ok(sessions) => listed.extend(sessions.into_iter().map(|s| (*reader, s))),
            Err(problem) => unlisted.push(problem),
        }
    }
    if args.sessions.is_empty() {
        let here_or_all = listed.into_iter().filter(|(_, s)| {
            args.all
                || s.cwd
                    .as_deref()
                    .is_some_and(|c| super::mirror::same_dir(c, here))
        });
        return Ok((here_or_all.collect(), unlisted));
    }
    let mut chosen = Vec::new();
    for arg in &args.sessions {
        let path = here.join(arg);
        let found = if arg.contains('/') && path.is_file() {
            let canonical = path.canonicalize().unwrap_or(path);
            listed
                .iter()
                .find(|(_, s)| s.path.canonicalize().is_ok_and(|p| p == canonical))
        } else {
            listed.iter().find(|(_, s)| s.id == *arg)
        };
        let found = found.cloned().ok_or_else(|| {
            Error::new(format!(
                "no session {arg}; `session-sync sessions --all` lists them{}",
                not_read(&unlisted)
            ))
        })?;
        chosen.push(found);
    }
    Ok((chosen, Vec::new()))
}

/// What could not be read, for an error that may come of it.
fn not_read(problems: &[String]) -> String {
    if problems.is_empty() {
        String::new()
    } else {
        format!(" (not read: {})", problems.join("; "))
    }
}

/// `2026-11-30` (midnight UTC) or an RFC 3339 time, as a comparable RFC 3339 string.
fn parse_since(text: &str) -> Result<String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(crate::encode::rfc3339(time.with_timezone(&chrono::Utc)));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|date| format!("{date}T00:00:00.000Z"))
        .map_err(|_| Error::usage(format!("--since {text}: give a date as 2026-11-30")))
}

/// One Claude Code session as an OpenAI-chat log, read afresh from its transcript.
fn openai_chat(args: &Args) -> Result {
    let here = current_dir()?;
    if args.sessions.len() > 1 {
        return Err(Error::usage("--format openai-chat exports one session"));
    }
    let found = super::mirror::find_session(args.sessions.first().map(String::as_str), &here)?;
    let session = super::mirror::claude_session(&found.transcript).map_err(Error::new)?;
    let records = (agents::claude::read::READER.read)(&session)
        .map_err(Error::new)?
        .records;
    let max_output_bytes = config::locate(&found.cwd, None)
        .ok()
        .flatten()
        .map_or(config::DEFAULT_MAX_OUTPUT_BYTES, |l| {
            l.config.max_output_bytes
        });
    let encoder = OpenaiChat {
        dir: PathBuf::new(),
        style: ToolStyle::Structured,
        max_output_bytes,
    };
    let facts = SessionFacts {
        preferred_id: None,
        claude_session_id: &found.id,
        cwd: &found.cwd,
        title: "",
        now: chrono::Utc::now(),
    };
    let opening = encoder
        .open(&facts)
        .map_err(|e| Error::new(e.to_string()))?;
    let mut lines: Lines = opening.header.iter().collect();
    encoder.encode(&records, &mut Value::Null, &mut lines);
    let messages = lines.len();
    let out = lines.into_text();
    match &args.output {
        Some(path) => {
            store::fs::write_atomic(path, out.as_bytes())
                .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "Wrote {} to {}.",
                super::count(messages, "message"),
                path.display()
            );
        }
        None => print!("{out}"),
    }
    Ok(())
}
