//! `session-sync list`: the most recently synced sessions of every project (`--all`: every
//! one).

use super::{Result, data_dir, print_json, session_json};
use crate::store::listing::{self, Filter, Listed};
use serde_json::json;
use std::fmt::Write;

/// Sessions shown without `--all`: the most recently synced, enough to find the one in hand
/// at a glance, and a listing as quick with thousands of sessions as with twenty.
const SHOWN: usize = 20;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON (every session)
    #[arg(long)]
    json: bool,
    /// Show every session, not only the 20 most recently synced
    #[arg(long)]
    all: bool,
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    if args.json {
        let sessions = listing::sessions_as(&data_dir, Filter::All, |s| session_json(&s));
        print_json(&json!({ "sessions": sessions }));
        return Ok(());
    }
    // Each session's text, made as it is read: thousands of sessions are not held at once.
    let text_of = |state: Listed| {
        let mut text = format!("{}\n", state.project.to_string_lossy());
        super::status::write_session(&mut text, &state);
        text
    };
    let (sessions, older) = if args.all {
        (listing::sessions_as(&data_dir, Filter::All, text_of), 0)
    } else {
        listing::newest_as(&data_dir, SHOWN, text_of)
    };
    if sessions.is_empty() {
        println!("No session mirrored yet.");
        return Ok(());
    }
    // Printed a chunk at a time: a write per session would take thousands.
    const CHUNK: usize = 64 * 1024;
    let mut text = String::with_capacity(2 * CHUNK);
    for (n, session) in sessions.iter().enumerate() {
        if n > 0 {
            text.push('\n');
        }
        text.push_str(session);
        if text.len() >= CHUNK {
            print!("{text}");
            text.clear();
        }
    }
    if older > 0 {
        let _ = write!(
            text,
            "\n{older} older session(s) not shown: `session-sync list --all` lists every one.\n"
        );
    }
    print!("{text}");
    Ok(())
}
