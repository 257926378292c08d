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
    let sessions = listing::sessions(&data_dir()?, Filter::All);
    if args.json {
        print_json(&json!({ "sessions": sessions.iter().map(session_json).collect::<Vec<_>>() }));
        return Ok(());
    }
    if sessions.is_empty() {
        println!("No session mirrored yet.");
        return Ok(());
    }
    let mut text = String::new();
    for state in &sessions {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&state.project.to_string_lossy());
        text.push('\n');
        super::status::write_session(&mut text, state);
    }
    print!("{text}");
    Ok(())
}
