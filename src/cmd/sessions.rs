//! `session-sync sessions`: every installed agent's own sessions for this directory (or all),
//! with the ids `mirror --from` takes, and what session-sync did with each.

use super::{Error, Result, current_dir, data_dir, print_json, when};
use crate::agents::{self, NativeSession};
use crate::store::{self, SessionState};
use serde_json::json;
use std::collections::HashMap;

#[derive(clap::Args)]
pub struct Args {
    /// Only this agent's sessions
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(agents::names(agents::readable())))]
    agent: Option<String>,
    /// Sessions of every directory, not only this one
    #[arg(long)]
    all: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// A listed session with what it holds and how it relates to session-sync.
struct Listed {
    session: NativeSession,
    messages: Option<u64>,
    mirrored: Mirrored,
}

/// What session-sync knows of a native session.
#[derive(Default, Clone)]
struct Mirrored {
    /// The agents session-sync mirrors it into (`claude:<id>` style).
    into: Vec<String>,
    /// The session it is a mirror of, when session-sync wrote it.
    of: Option<String>,
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    let here = current_dir()?;
    let relations = relations(&store::all_sessions(&data_dir));
    let mut listed = Vec::new();
    let mut problems = Vec::new();
    for reader in agents::readers() {
        if args.agent.as_deref().is_some_and(|a| a != reader.agent) {
            continue;
        }
        let sessions = match (reader.list)() {
            Ok(sessions) => sessions,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        for session in sessions {
            if !args.all
                && !session
                    .cwd
                    .as_deref()
                    .is_some_and(|c| super::mirror::same_dir(c, &here))
            {
                continue;
            }
            // Counting needs the whole session; a session being written is counted as it is.
            let conversation = (reader.read)(&session).ok();
            let messages = conversation.as_ref().map(|c| c.message_count());
            let session = conversation.map_or(session, |c| c.session);
            let key = format!("{}:{}", session.agent, session.id);
            let mut mirrored = relations.get(&key).cloned().unwrap_or_default();
            if session.ours && mirrored.of.is_none() {
                mirrored.of = Some("a session-sync mirror".into());
            }
            listed.push(Listed {
                session,
                messages,
                mirrored,
            });
        }
    }
    listed.sort_by(|a, b| b.session.updated_at.cmp(&a.session.updated_at));

    if args.json {
        let sessions: Vec<_> = listed
            .iter()
            .map(|l| {
                json!({
                    "agent": l.session.agent,
                    "id": l.session.id,
                    "title": l.session.title,
                    "cwd": l.session.cwd,
                    "path": l.session.path,
                    "started_at": l.session.started_at,
                    "last_activity": l.session.updated_at,
                    "messages": l.messages,
                    "mirrored_to": l.mirrored.into,
                    "mirror_of": l.mirrored.of,
                })
            })
            .collect();
        print_json(&json!({ "sessions": sessions, "problems": problems }));
    } else if listed.is_empty() {
        let scope = if args.all {
            "on this machine".to_owned()
        } else {
            format!("for {} (--all lists every directory)", here.display())
        };
        println!("No agent session {scope}.");
    } else {
        for l in &listed {
            print_listed(l, args.all);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::new(problems.join("; ")))
    }
}

fn print_listed(l: &Listed, all: bool) {
    let title: String = l
        .session
        .title
        .as_deref()
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    println!("{:<9} {}  \"{title}\"", l.session.agent, l.session.id);
    let mut facts = Vec::new();
    if let Some(at) = &l.session.updated_at {
        facts.push(format!("last activity {}", when(at)));
    }
    if let Some(n) = l.messages {
        facts.push(format!("{n} messages"));
    }
    if !l.mirrored.into.is_empty() {
        facts.push(format!("mirrored to {}", l.mirrored.into.join(", ")));
    }
    if let Some(of) = &l.mirrored.of {
        facts.push(format!("mirror of {of}"));
    }
    println!("          {}", facts.join(" · "));
    if all {
        if let Some(cwd) = &l.session.cwd {
            println!("          in {}", cwd.display());
        }
    }
}

/// `agent:id` of every session session-sync mirrors from or into, and what it is to us.
fn relations(states: &[SessionState]) -> HashMap<String, Mirrored> {
    let mut relations: HashMap<String, Mirrored> = HashMap::new();
    for state in states {
        let (agent, id) = state.source_session();
        let source = format!("{agent}:{id}");
        for (target, mirror_id) in state.mirror_sessions() {
            let live = state.mirrors.get(target).is_some_and(|m| m.id == mirror_id);
            let of = if live {
                relations
                    .entry(source.clone())
                    .or_default()
                    .into
                    .push(format!("{target} {mirror_id}"));
                source.clone()
            } else {
                format!("{source}, continued in {target}")
            };
            relations
                .entry(format!("{target}:{mirror_id}"))
                .or_default()
                .of = Some(of);
        }
    }
    relations
}

/// `agent:id` of every session session-sync wrote as a mirror (live or left behind).
pub fn mirror_keys(states: &[SessionState]) -> std::collections::HashSet<String> {
    states
        .iter()
        .flat_map(|state| state.mirror_sessions())
        .map(|(target, id)| format!("{target}:{id}"))
        .collect()
}
