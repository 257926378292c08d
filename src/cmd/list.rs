//! `session-sync list`: every mirrored session, all projects.

use super::{Result, data_dir, print_json, session_json};
use crate::store::listing::{self, Filter};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    if args.json {
        let sessions = listing::sessions_as(&data_dir, Filter::All, |s| session_json(&s));
        print_json(&json!({ "sessions": sessions }));
        return Ok(());
    }
    // Each session's text, made as it is read: thousands of sessions are not held at once.
    let sessions = listing::sessions_as(&data_dir, Filter::All, |state| {
        let mut text = format!("{}\n", state.project.to_string_lossy());
        super::status::write_session(&mut text, &state);
        text
    });
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
    print!("{text}");
    Ok(())
}
