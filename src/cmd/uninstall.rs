//! `session-sync uninstall`: takes our hook entries out of the Claude Code settings file `init`
//! wrote them to, removes the configuration, and with `--purge` session-sync's state and logs
//! (`--mirrors`: the mirror files too, except sessions continued in their agent).

use super::clean::{Outcome, Sweep, lock_session};
use super::init::backup_path;
use super::{
    Error, Result, SettingsFile, current_dir, data_dir, project_root, read_settings, settings_files,
};
use crate::config::PROJECT_CONFIG;
use crate::pipeline::is_safe_id;
use crate::store::SessionFiles;
use crate::{paths, settings, store};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

#[derive(clap::Args)]
pub struct Args {
    /// Take the hook out of the user's Claude Code settings (~/.claude, or $CLAUDE_CONFIG_DIR)
    /// and remove the global configuration
    #[arg(long, conflicts_with = "local")]
    global: bool,
    /// Take the hook out of .claude/settings.local.json instead of settings.json
    #[arg(long)]
    local: bool,
    /// Also remove session-sync's state and hook log (every project's)
    #[arg(long)]
    purge: bool,
    /// With --purge: also delete the mirror files session-sync created, except sessions
    /// continued in their agent or changed by another program
    #[arg(long, requires = "purge")]
    mirrors: bool,
}

pub fn run(args: Args) -> Result {
    let data_dir = data_dir()?;
    let project = project_root(&current_dir()?)?;
    let files = settings_files(&project);
    let flag = match (args.global, args.local) {
        (true, _) => " --global",
        (_, true) => " --local",
        _ => "",
    };
    let file = files
        .iter()
        .find(|f| f.flag == flag)
        .ok_or_else(|| Error::new("cannot find a home directory; set HOME or CLAUDE_CONFIG_DIR"))?;
    let config_path = if args.global {
        paths::global_config(&data_dir)
    } else {
        project.join(PROJECT_CONFIG)
    };
    // Decided before anything is removed: a malformed settings file stops everything.
    let change = plan(&file.path)?;

    let mut done = 0;
    let mut say = |line: String| {
        println!("{line}");
        done += 1;
    };
    if let Some(change) = change {
        let events = change.events.join(", ");
        let path = &file.path;
        match change.text {
            None => {
                remove(path)?;
                say(format!(
                    "Removed the hook from {} ({events}); init had created the file, so it is gone.",
                    path.display()
                ));
                let dir = path.parent().unwrap_or(Path::new("/"));
                if !args.global && remove_empty_dir(dir)? {
                    say(format!("Removed {} (now empty).", dir.display()));
                }
            }
            Some(text) => {
                let backup = change.normalized.then(|| backup_path(path));
                store::replace(path, text.as_bytes(), backup.as_deref())
                    .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
                say(format!(
                    "Removed the hook from {} ({events}).",
                    path.display()
                ));
                if let Some(backup) = backup {
                    say(format!(
                        "  its layout could not be kept exactly; the previous file is saved as {}",
                        backup.display()
                    ));
                }
            }
        }
    }

    // The other settings file of the same scope may still run the hook with this config.
    let still_registered =
        |f: &&SettingsFile| f.path != file.path && !events_in(&f.path).is_empty();
    let same_scope = |f: &&SettingsFile| (f.flag == " --global") == args.global;
    let config_user = files
        .iter()
        .filter(still_registered)
        .find(same_scope)
        .filter(|_| config_path.exists());
    match config_user {
        Some(user) => println!(
            "Kept {}: the hook is still registered in {} (`session-sync uninstall{}` removes it).",
            config_path.display(),
            user.path.display(),
            user.flag
        ),
        None => {
            if remove(&config_path)? {
                say(format!("Removed {}.", config_path.display()));
            }
            let dir = config_path.parent().unwrap_or(Path::new("/"));
            if !args.global && remove_empty_dir(dir)? {
                say(format!("Removed {} (now empty).", dir.display()));
            }
        }
    }

    if args.purge {
        purge(&data_dir, args.mirrors, &mut say)?;
    }
    if done == 0 {
        let mut absent = vec![format!("no session-sync hook in {}", file.path.display())];
        if config_user.is_none() {
            absent.push(format!("no {}", config_path.display()));
        }
        if args.purge {
            absent.push(format!("no state or log in {}", data_dir.display()));
        }
        println!("Nothing to remove: {}.", absent.join(", "));
    }
    for other in files
        .iter()
        .filter(still_registered)
        .filter(|f| !same_scope(f))
    {
        println!(
            "The hook is still registered in {}; `session-sync uninstall{}` removes it.",
            other.path.display(),
            other.flag
        );
    }
    Ok(())
}

/// Our entries taken out of a settings file: the events they were in, and the file's new text
/// (`None`: init created the file and it held nothing else, so it goes).
struct Change {
    events: Vec<String>,
    text: Option<String>,
    /// The file's layout is not serde_json's (hand-edited): the new text is laid out anew.
    normalized: bool,
}

fn plan(path: &Path) -> Result<Option<Change>> {
    let Some((text, mut value)) = read_settings(path).map_err(|e| {
        Error::new(format!(
            "{e}; fix it and run uninstall again (nothing was changed)"
        ))
    })?
    else {
        return Ok(None);
    };
    let layout = Layout::of(&text);
    let normalized = layout.render(&value) != text;
    // init keeps the file as it was before it wrote to it; without a backup, init created it.
    let before = match read_settings(&backup_path(path)) {
        Ok(Some((_, before))) => Some(before),
        _ => None,
    };
    let events = settings::remove(&mut value, before.as_ref());
    if events.is_empty() {
        return Ok(None);
    }
    let only_ours = before.is_none() && value.as_object().is_some_and(|o| o.is_empty());
    Ok(Some(Change {
        events,
        text: (!only_ours).then(|| layout.render(&value)),
        normalized,
    }))
}

/// How a JSON file is laid out, to write it back the same way: serde_json's compact form, or
/// its pretty form with the file's indent unit; with or without a final newline. Key order is
/// kept by serde_json's `preserve_order`.
struct Layout {
    indent: Option<String>,
    newline: bool,
}

impl Layout {
    fn of(text: &str) -> Layout {
        // The first indented line is at depth one: its indent is the unit.
        let indent = text.lines().skip(1).find_map(|line| {
            let unit = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
            (!unit.is_empty()).then(|| unit.to_owned())
        });
        Layout {
            indent,
            newline: text.ends_with('\n'),
        }
    }

    fn render(&self, value: &Value) -> String {
        let mut text = match &self.indent {
            None => value.to_string(),
            Some(unit) => {
                let mut out = Vec::new();
                let formatter = serde_json::ser::PrettyFormatter::with_indent(unit.as_bytes());
                let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
                value
                    .serialize(&mut serializer)
                    .expect("a JSON value serializes");
                String::from_utf8(out).expect("serde_json writes UTF-8")
            }
        };
        if self.newline {
            text.push('\n');
        }
        text
    }
}

/// `--purge`: session-sync's own files in the data directory; with `mirrors`, first the mirror
/// files that hold exactly what we wrote.
fn purge(data_dir: &Path, mirrors: bool, say: &mut impl FnMut(String)) -> Result {
    if mirrors {
        let sweep = Sweep {
            cutoff: None,
            dry_run: false,
            remove_state: false,
        };
        for state in store::all_sessions(data_dir) {
            let Some(swept) = sweep.session(data_dir, &state.claude_session_id) else {
                continue;
            };
            for (target, mirror, outcome) in swept.mirrors {
                let path = mirror.path.display();
                match outcome {
                    Outcome::Removed => say(format!("Removed {target} mirror {path}.")),
                    Outcome::Kept(why) => say(format!("Kept {target} mirror {path}: {why}.")),
                    Outcome::Gone => {}
                }
            }
        }
    }
    // Only the files session-sync creates: the data directory may hold others.
    let sessions = data_dir.join("sessions");
    let mut count = 0;
    for entry in std::fs::read_dir(&sessions).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str().filter(|id| is_safe_id(id)) else {
            continue;
        };
        // A hook of the session may be running: its state goes once it is done.
        match lock_session(&SessionFiles::new(data_dir, id)) {
            Ok(lock) => {
                count += usize::from(store::remove::session(data_dir, id, &lock).map_err(|e| {
                    Error::new(format!("cannot remove {}: {e}", entry.path().display()))
                })?)
            }
            Err(why) => say(format!("Kept the state of session {id}: {why}.")),
        }
    }
    if count > 0 {
        say(format!(
            "Removed the state of {count} session(s) ({}).",
            sessions.display()
        ));
    }
    remove_empty_dir(&sessions)?;
    let mut log_removed = false;
    for log in [paths::hook_log(data_dir), paths::rotated_hook_log(data_dir)] {
        log_removed |= remove(&log)?;
    }
    let logs = paths::hook_log(data_dir);
    let logs = logs.parent().unwrap_or(data_dir);
    if log_removed {
        say(format!("Removed the hook log ({}).", logs.display()));
    }
    remove_empty_dir(logs)?;
    let imports = store::remove::journal(data_dir)
        .map_err(|e| Error::new(format!("cannot remove the import journal: {e}")))?;
    if imports > 0 {
        say(format!(
            "Removed the journal of {imports} import(s) ({}).",
            data_dir.join("journal").display()
        ));
    }
    let archive = data_dir.join("archive");
    if store::remove::files_ending(&archive, &[".seen.json", ".lock"])
        .map_err(|e| Error::new(format!("cannot remove {}: {e}", archive.display())))?
        > 0
    {
        say(format!(
            "Removed the archive's cache ({}).",
            archive.display()
        ));
    }
    for (path, what) in [
        (paths::global_config(data_dir), "the global configuration"),
        (paths::doctor_mark(data_dir), "doctor's log mark"),
        (crate::import::lock_path(data_dir), "the import lock"),
        (store::listing::path(data_dir), "the listings index"),
        (
            store::listing::lock_path(data_dir),
            "the listings index's lock",
        ),
        (
            data_dir.join("machine-id"),
            "this machine's id for packages",
        ),
    ] {
        if remove(&path)? {
            say(format!("Removed {what} ({}).", path.display()));
        }
    }
    if remove_empty_dir(data_dir)? {
        say(format!("Removed {} (now empty).", data_dir.display()));
    } else if data_dir.exists() {
        println!(
            "Kept {}: it holds files session-sync did not create.",
            data_dir.display()
        );
    }
    Ok(())
}

fn events_in(path: &Path) -> Vec<String> {
    match read_settings(path) {
        Ok(Some((_, value))) => settings::registered(&value)
            .into_iter()
            .map(|(event, _)| event)
            .collect(),
        _ => Vec::new(),
    }
}

fn remove(path: &Path) -> Result<bool> {
    store::remove::file(path)
        .map_err(|e| Error::new(format!("cannot remove {}: {e}", path.display())))
}

fn remove_empty_dir(path: &Path) -> Result<bool> {
    store::remove::dir_if_empty(path)
        .map_err(|e| Error::new(format!("cannot remove {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_come_back_byte_for_byte() {
        for text in [
            "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}\n",
            "{\n    \"a\": {\n        \"b\": true\n    }\n}",
            "{\n\t\"a\": \"x\"\n}\n",
            "{\"a\":[1,2]}",
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(Layout::of(text).render(&value), text);
        }
        let hand = "{ \"a\": [1, 2] }\n";
        let value: Value = serde_json::from_str(hand).unwrap();
        assert_ne!(Layout::of(hand).render(&value), hand);
    }
}
