//! `session-sync export`: one Claude Code session as a portable OpenAI-chat JSONL log, on
//! stdout or into a file, read afresh from its transcript (nothing else is written).

use super::mirror::find_session;
use super::{Error, Result, current_dir};
use crate::encode::{Encoder, SessionFacts, ToolStyle, openai_chat::OpenaiChat};
use crate::sync::{Event, Progress, Sync};
use crate::{claude, config, store};
use serde_json::Value;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A Claude Code session id, or the path of its transcript; default: the newest here
    #[arg(value_name = "SESSION")]
    session: Option<String>,
    /// Write to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> Result {
    let here = current_dir()?;
    let found = find_session(args.session.as_deref(), &here)?;
    let text = std::fs::read_to_string(&found.transcript)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", found.transcript.display())))?;
    let read_subagent = |agent: &str| {
        claude::subagent_file(&found.transcript, &found.id, agent, "jsonl")
            .and_then(|path| std::fs::read_to_string(path).ok())
            .map(|text| claude::read_lines(&text, Some(agent)))
            .unwrap_or_default()
    };
    let mut progress = Progress::default();
    let mut engine = Sync::new(&mut progress, &read_subagent, String::new());
    for entry in claude::read_lines(&text, None) {
        engine.consume(entry);
    }
    engine.apply(Event::CatchUp);
    let records = engine.records();

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
        claude_session_id: &found.id,
        cwd: &found.cwd,
        title: "",
        now: chrono::Utc::now(),
    };
    let opening = encoder
        .open(&facts)
        .map_err(|e| Error::new(e.to_string()))?;
    let mut lines = opening.header;
    encoder.encode(&records, &mut Value::Null, &mut lines);
    let mut out = lines.join("\n");
    out.push('\n');
    match args.output {
        Some(path) => {
            store::fs::write_atomic(&path, out.as_bytes())
                .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("Wrote {} messages to {}.", lines.len(), path.display());
        }
        None => print!("{out}"),
    }
    Ok(())
}
