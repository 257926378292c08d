//! Claude Code `settings.json`: merging our hook entries in, taking them out and recognising
//! them, as pure functions over JSON values. The fragment we install is
//! `hooks/claude-settings.json`.

use serde_json::{Map, Value};
use std::path::Path;

const FRAGMENT: &str = include_str!("../hooks/claude-settings.json");
const COMMAND_PLACEHOLDER: &str = "{{command}}";

/// The shell command Claude Code runs (`/bin/sh -c`): the binary's absolute path, quoted.
pub fn hook_command(binary: &Path) -> String {
    let path = binary.to_string_lossy().replace('\'', r"'\''");
    format!("'{path}' hook")
}

/// The events our fragment registers, in order.
pub fn events() -> Vec<String> {
    fragment("")
        .get("hooks")
        .and_then(Value::as_object)
        .map(|hooks| hooks.keys().cloned().collect())
        .unwrap_or_default()
}

fn fragment(command: &str) -> Value {
    let text = FRAGMENT.replace(
        COMMAND_PLACEHOLDER,
        &command.replace('\\', "\\\\").replace('"', "\\\""),
    );
    serde_json::from_str(&text).expect("hooks/claude-settings.json is valid JSON")
}

/// Is `command` a session-sync hook command (any install path)?
pub fn is_our_command(command: &str) -> bool {
    hook_binary(command).is_some()
}

/// The binary a session-sync hook command runs; `None` for any other command.
pub fn hook_binary(command: &str) -> Option<&Path> {
    let command = command.trim();
    let (program, rest) = match command.strip_prefix('\'') {
        Some(quoted) => {
            let end = quoted.find('\'')?;
            (&quoted[..end], &quoted[end + 1..])
        }
        None => command
            .split_once(char::is_whitespace)
            .unwrap_or((command, "")),
    };
    let program = Path::new(program);
    let name = program.file_name().and_then(|n| n.to_str());
    (name == Some("session-sync") && rest.trim() == "hook").then_some(program)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

/// Merges our hook entries for `command` into `settings`, keeping every other key and hook.
/// Our entries found with another path (the binary moved) get the new path.
pub fn merge(settings: &mut Value, command: &str) -> Result<Vec<(String, Change)>, String> {
    let root = settings
        .as_object_mut()
        .ok_or("the file is not a JSON object")?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or("its \"hooks\" is not an object")?;
    let wanted = fragment(command);
    let mut changes = Vec::new();
    for (event, groups) in wanted["hooks"].as_object().into_iter().flatten() {
        let existing = hooks
            .entry(event.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| format!("its \"hooks.{event}\" is not a list"))?;
        let mut change = Change::Added;
        for entry in existing
            .iter_mut()
            .filter_map(|group| group.get_mut("hooks"))
            .filter_map(Value::as_array_mut)
            .flatten()
        {
            let Some(current) = entry.get("command").and_then(Value::as_str) else {
                continue;
            };
            if !is_our_command(current) {
                continue;
            }
            if current == command {
                if change == Change::Added {
                    change = Change::Unchanged;
                }
            } else {
                entry["command"] = Value::String(command.to_owned());
                change = Change::Updated;
            }
        }
        if change == Change::Added {
            existing.extend(groups.as_array().into_iter().flatten().cloned());
        }
        changes.push((event.clone(), change));
    }
    Ok(changes)
}

/// Takes our hook entries out of `settings`, and what that leaves empty: a group whose hooks
/// were all ours, an event whose groups all were, `hooks` when its events all were. `before` is
/// the file as it was before `init` changed it (its backup), when known: an event list or a
/// `hooks` object it shows empty was the user's, and stays empty. Returns the events our entries
/// were taken from, in the file's order.
pub fn remove(settings: &mut Value, before: Option<&Value>) -> Vec<String> {
    let users_empty = |event: Option<&str>| {
        let hooks = before.and_then(|b| b.get("hooks"));
        match event {
            None => hooks.and_then(Value::as_object).is_some_and(Map::is_empty),
            Some(event) => hooks
                .and_then(|h| h.get(event))
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty),
        }
    };
    let Some(root) = settings.as_object_mut() else {
        return Vec::new();
    };
    let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    hooks.retain(|event, groups| {
        let Some(groups) = groups.as_array_mut() else {
            return true;
        };
        let mut emptied = false;
        let mut changed = false;
        groups.retain_mut(|group| {
            let Some(entries) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
                return true;
            };
            let before = entries.len();
            entries.retain(|entry| {
                !entry
                    .get("command")
                    .and_then(Value::as_str)
                    .is_some_and(is_our_command)
            });
            changed |= entries.len() < before;
            let keep = !(entries.is_empty() && before > 0);
            emptied |= !keep;
            keep
        });
        if changed {
            removed.push(event.clone());
        }
        !(emptied && groups.is_empty() && !users_empty(Some(event)))
    });
    if !removed.is_empty() && hooks.is_empty() && !users_empty(None) {
        root.shift_remove("hooks");
    }
    removed
}

/// The commands of our entries found in `settings`, per event.
pub fn registered(settings: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (event, groups) in settings
        .get("hooks")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for entry in groups
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("hooks"))
            .filter_map(Value::as_array)
            .flatten()
        {
            if let Some(command) = entry.get("command").and_then(Value::as_str) {
                if is_our_command(command) {
                    found.push((event.clone(), command.to_owned()));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn command_is_quoted_and_recognised() {
        let command = hook_command(Path::new("/opt/my tools/session-sync"));
        assert_eq!(command, "'/opt/my tools/session-sync' hook");
        assert!(is_our_command(&command));
        assert!(is_our_command("/usr/bin/session-sync hook"));
        assert!(!is_our_command("/usr/bin/session-sync-other hook"));
        assert!(!is_our_command("'/usr/bin/session-sync' status"));
        assert!(!is_our_command("echo session-sync hook"));
    }

    #[test]
    fn merge_keeps_other_hooks_and_keys_and_is_idempotent() {
        let mut settings = json!({
            "model": "opus",
            "hooks": {"PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint"}]}]}
        });
        let command = "'/bin/session-sync' hook";
        let first = merge(&mut settings, command).unwrap();
        assert!(first.iter().all(|(_, c)| *c == Change::Added));
        let once = settings.clone();
        let second = merge(&mut settings, command).unwrap();
        assert!(second.iter().all(|(_, c)| *c == Change::Unchanged));
        assert_eq!(settings, once);
        assert_eq!(settings["model"], "opus");
        assert_eq!(
            settings["hooks"]["PostToolUse"][0]["hooks"][0]["command"],
            "lint"
        );
        assert_eq!(settings["hooks"]["PostToolUse"][1]["matcher"], "*");
        assert_eq!(registered(&settings).len(), events().len());
    }

    #[test]
    fn merge_moves_our_entries_to_the_new_path() {
        let mut settings = json!({});
        merge(&mut settings, "'/old/session-sync' hook").unwrap();
        let changes = merge(&mut settings, "'/new/session-sync' hook").unwrap();
        assert!(changes.iter().all(|(_, c)| *c == Change::Updated));
        assert!(
            registered(&settings)
                .iter()
                .all(|(_, c)| c == "'/new/session-sync' hook")
        );
    }

    #[test]
    fn remove_takes_out_ours_and_what_that_empties_only() {
        let lint = json!({"type": "command", "command": "lint"});
        let ours = json!({"type": "command", "command": "'/bin/session-sync' hook"});
        let mut settings = json!({
            "model": "opus",
            "hooks": {
                "PreToolUse": [],
                "PostToolUse": [{"matcher": "Edit", "hooks": [lint, ours]}, {"matcher": "x", "hooks": []}],
                "Stop": [{"hooks": [ours]}]
            },
            "env": {}
        });
        assert_eq!(remove(&mut settings, None), ["PostToolUse", "Stop"]);
        assert_eq!(
            settings,
            json!({
                "model": "opus",
                "hooks": {
                    "PreToolUse": [],
                    "PostToolUse": [{"matcher": "Edit", "hooks": [lint]}, {"matcher": "x", "hooks": []}]
                },
                "env": {}
            })
        );
        assert!(remove(&mut settings, None).is_empty());
    }

    #[test]
    fn remove_undoes_merge_keeping_key_order_and_the_users_empty_lists() {
        let command = "'/bin/session-sync' hook";
        let before = json!({"a": 1, "hooks": {"Notification": [{"hooks": [{"type": "command", "command": "n"}]}], "Stop": []}, "z": 2});
        let mut settings = before.clone();
        merge(&mut settings, command).unwrap();
        assert_eq!(remove(&mut settings, Some(&before)).len(), events().len());
        assert_eq!(settings.to_string(), before.to_string());

        let mut only_ours = json!({"b": true});
        merge(&mut only_ours, command).unwrap();
        remove(&mut only_ours, None);
        assert_eq!(only_ours, json!({"b": true}));

        let before = json!({"hooks": {}});
        let mut settings = before.clone();
        merge(&mut settings, command).unwrap();
        remove(&mut settings, Some(&before));
        assert_eq!(settings, before);
    }

    #[test]
    fn merge_refuses_unexpected_shapes() {
        assert!(merge(&mut json!([]), "x").is_err());
        assert!(merge(&mut json!({"hooks": {"Stop": {}}}), "x").is_err());
    }
}
